//! Saifu webhooks, as the Standard Webhooks specification defines them: the wallet signs each
//! delivery with HMAC-SHA256 under the merchant's `whsec_…` secret, and merchants verify the
//! signature, the timestamp and the event before acting on it.
//!
//! ```no_run
//! # fn handle(headers: &saifu_sdk::webhooks::HeaderMap, body: &[u8]) -> Result<(), saifu_sdk::webhooks::WebhookError> {
//! use saifu_sdk::webhooks::{verify_webhook, EventType, WebhookSecret};
//!
//! let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let event = verify_webhook(headers, body, &[secret])?;
//! if event.kind() == Some(EventType::PaymentCaptured) {
//!     if let Some(payment) = event.payment() {
//!         // … mark `payment.order_reference` paid, once per `event.id` …
//!     }
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};

/// The header map webhooks arrive with: `http::HeaderMap`, which axum and hyper use too.
pub use reqwest::header::HeaderMap;

pub const WEBHOOK_ID: &str = "webhook-id";
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
/// Tolerance for the timestamp, either side of now.
pub const TOLERANCE_SECS: i64 = 300;

const SECRET_PREFIX: &str = "whsec_";
/// The key lengths the specification allows.
const MIN_KEY_BYTES: usize = 24;
const MAX_KEY_BYTES: usize = 64;
/// Secrets are generated with 256 bits, the size of the HMAC-SHA256 output.
const GENERATED_KEY_BYTES: usize = 32;
/// A `v1` signature is one HMAC-SHA256 tag.
const SIGNATURE_BYTES: usize = 32;
/// The most `v1` signatures checked per delivery: a sender lists one per active secret, and
/// every signature checked costs an HMAC over the whole body for each secret.
const MAX_SIGNATURES: usize = 8;

/// Standard base64 for secrets, with or without the trailing `=`.
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a webhook was not accepted, or a secret not parsed. The messages never contain the
/// secret, a signature or the body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the {0} header is missing or unreadable")]
    MissingHeader(&'static str),
    #[error("the webhook-timestamp header is not a whole number of seconds since the Unix epoch")]
    InvalidTimestamp,
    #[error(
        "the webhook timestamp is more than {TOLERANCE_SECS} seconds away from now: a replayed delivery, or a wrong clock"
    )]
    TimestampOutOfTolerance,
    #[error("no v1 signature in the webhook-signature header matches a webhook secret")]
    NoMatchingSignature,
    #[error("a webhook secret must be `whsec_` followed by 24 to 64 bytes in standard base64")]
    InvalidSecret,
    #[error("no webhook secret was given to verify the webhook with")]
    NoSecrets,
    #[error("the webhook body is not a Saifu event: {0}")]
    InvalidBody(String),
    #[error("the event id in the webhook body differs from the webhook-id header")]
    IdMismatch,
}

/// A webhook signing secret, `whsec_<base64>`. `Debug` prints `WebhookSecret([REDACTED])` and
/// the key bytes are zeroed when it is dropped; `expose` is the only way to get the text out.
#[derive(Clone)]
pub struct WebhookSecret {
    key: SecretSlice<u8>,
}

impl WebhookSecret {
    /// Parses `whsec_` followed by the key in standard base64 (padding optional), 24 to 64
    /// bytes long.
    pub fn parse(s: &str) -> Result<Self, WebhookError> {
        let encoded = s
            .strip_prefix(SECRET_PREFIX)
            .ok_or(WebhookError::InvalidSecret)?;
        let key = SECRET_BASE64
            .decode(encoded)
            .map_err(|_| WebhookError::InvalidSecret)?;
        let key = SecretSlice::from(key);
        if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.expose_secret().len()) {
            return Err(WebhookError::InvalidSecret);
        }
        Ok(Self { key })
    }

    /// A new secret of 32 random bytes.
    pub fn generate() -> Self {
        let mut key = vec![0u8; GENERATED_KEY_BYTES];
        // The system RNG only fails when the OS has none; nothing sensible can be done then.
        SystemRandom::new()
            .fill(&mut key)
            .expect("the system random number generator failed");
        Self {
            key: SecretSlice::from(key),
        }
    }

    /// The secret as text, `whsec_<standard base64>`, to show once or to store.
    pub fn expose(&self) -> String {
        format!(
            "{SECRET_PREFIX}{}",
            STANDARD.encode(self.key.expose_secret())
        )
    }

    /// The `v1` signature of a delivery: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = hmac::sign(&self.hmac_key(), &signed_content(id, timestamp, body));
        format!("v1,{}", STANDARD.encode(tag.as_ref()))
    }

    fn hmac_key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, self.key.expose_secret())
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([REDACTED])")
    }
}

/// What is signed: `{id}.{timestamp}.{body}`.
fn signed_content(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let timestamp = timestamp.to_string();
    let mut content = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    content.extend_from_slice(id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    content
}

/// The `webhook-signature` header: one signature per secret, space-separated, so that while a
/// secret is rotated both the old and the new one verify.
pub fn signature_header(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The event types Saifu sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    PaymentAuthorized,
    PaymentCaptured,
    PaymentVoided,
    PaymentRefunded,
    DisputeOpened,
    DisputeResolved,
    MerchantTrustMarkChanged,
}

impl EventType {
    pub const ALL: &'static [EventType] = &[
        EventType::PaymentAuthorized,
        EventType::PaymentCaptured,
        EventType::PaymentVoided,
        EventType::PaymentRefunded,
        EventType::DisputeOpened,
        EventType::DisputeResolved,
        EventType::MerchantTrustMarkChanged,
    ];

    /// The name in an event's `type`, e.g. `payment.captured`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PaymentAuthorized => "payment.authorized",
            EventType::PaymentCaptured => "payment.captured",
            EventType::PaymentVoided => "payment.voided",
            EventType::PaymentRefunded => "payment.refunded",
            EventType::DisputeOpened => "dispute.opened",
            EventType::DisputeResolved => "dispute.resolved",
            EventType::MerchantTrustMarkChanged => "merchant.trust_mark_changed",
        }
    }

    /// The type named `name`; `None` for a name this version of the SDK does not know.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON body of every webhook:
/// `{"id":"evt_…","type":"payment.captured","timestamp":"<RFC 3339>","data":{…}}`.
///
/// `type` stays a string so that an event type added to Saifu later still parses; `kind`
/// names the known ones.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// Stable across redeliveries: de-duplicate on it. Also sent as `webhook-id`.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the event happened, RFC 3339.
    pub timestamp: String,
    pub data: serde_json::Value,
}

impl Event {
    /// The event's type, if this version of the SDK knows it.
    pub fn kind(&self) -> Option<EventType> {
        EventType::parse(&self.event_type)
    }

    /// For `payment.*` events: `data` is the payment object (crate::payments::Payment).
    pub fn payment(&self) -> Option<crate::payments::Payment> {
        if !self.event_type.starts_with("payment.") {
            return None;
        }
        crate::payments::Payment::deserialize(&self.data).ok()
    }

    /// For `merchant.trust_mark_changed`: the merchant's new vetting status and why.
    pub fn trust_mark(&self) -> Option<TrustMarkChange> {
        if self.kind() != Some(EventType::MerchantTrustMarkChanged) {
            return None;
        }
        TrustMarkChange::deserialize(&self.data).ok()
    }

    /// For `dispute.opened` and `dispute.resolved`: `data` is the dispute as it then stood.
    pub fn dispute(&self) -> Option<crate::disputes::Dispute> {
        if !matches!(
            self.kind(),
            Some(EventType::DisputeOpened | EventType::DisputeResolved)
        ) {
            return None;
        }
        crate::disputes::Dispute::deserialize(&self.data).ok()
    }

    /// For `dispute.opened`: a shopper disputes one of your payments; answer by `respond_by`.
    pub fn dispute_opened(&self) -> Option<crate::disputes::Dispute> {
        (self.kind() == Some(EventType::DisputeOpened))
            .then(|| self.dispute())
            .flatten()
    }

    /// For `dispute.resolved`: how the dispute ended (`outcome`).
    pub fn dispute_resolved(&self) -> Option<crate::disputes::Dispute> {
        (self.kind() == Some(EventType::DisputeResolved))
            .then(|| self.dispute())
            .flatten()
    }
}

/// The `data` of a `merchant.trust_mark_changed` event: the issuer changed the merchant's
/// vetting status (`pending`, `verified` or `suspended`); `verified` says whether the consent
/// page shows the trust mark. A suspended merchant's new checkouts and outstanding grants are
/// refused.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TrustMarkChange {
    pub client_id: String,
    pub status: String,
    pub previous_status: String,
    pub verified: bool,
    /// The issuer's reason, if it gave one (always, for a suspension).
    pub reason: Option<String>,
    /// Unix seconds.
    pub changed_at: i64,
}

/// Verifies a delivery against the current time; see [`verify_webhook_at`].
pub fn verify_webhook(
    headers: &HeaderMap,
    raw_body: &[u8],
    secrets: &[WebhookSecret],
) -> Result<Event, WebhookError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    verify_webhook_at(headers, raw_body, secrets, now)
}

/// Verifies a delivery as of `now` (Unix seconds) and parses its event.
///
/// The three `webhook-*` headers are required; the timestamp must be within
/// [`TOLERANCE_SECS`] of `now`; some `v1` signature in `webhook-signature` must match one of
/// `secrets` (other versions are ignored); the body must be an [`Event`] whose `id` is the
/// `webhook-id`. `raw_body` must be the bytes as received, before any JSON parsing.
pub fn verify_webhook_at(
    headers: &HeaderMap,
    raw_body: &[u8],
    secrets: &[WebhookSecret],
    now: i64,
) -> Result<Event, WebhookError> {
    let id = verify_signature(headers, raw_body, secrets, now)?;
    let event: Event = serde_json::from_slice(raw_body).map_err(body_error)?;
    if event.id != id {
        return Err(WebhookError::IdMismatch);
    }
    Ok(event)
}

/// Checks the headers, the timestamp and the signature, whatever the body is; gives the
/// `webhook-id`.
fn verify_signature<'h>(
    headers: &'h HeaderMap,
    raw_body: &[u8],
    secrets: &[WebhookSecret],
    now: i64,
) -> Result<&'h str, WebhookError> {
    if secrets.is_empty() {
        return Err(WebhookError::NoSecrets);
    }
    let id = header(headers, WEBHOOK_ID)?;
    let timestamp = parse_timestamp(header(headers, WEBHOOK_TIMESTAMP)?)?;
    if headers.get(WEBHOOK_SIGNATURE).is_none() {
        return Err(WebhookError::MissingHeader(WEBHOOK_SIGNATURE));
    }
    // Cheap checks first: a stale or replayed delivery costs no HMAC.
    if now.abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(WebhookError::TimestampOutOfTolerance);
    }
    let signatures: Vec<Vec<u8>> = headers
        .get_all(WEBHOOK_SIGNATURE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(str::split_ascii_whitespace)
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .filter(|tag| tag.len() == SIGNATURE_BYTES)
        .take(MAX_SIGNATURES)
        .collect();
    let content = signed_content(id, timestamp, raw_body);
    for secret in secrets {
        let key = secret.hmac_key();
        // Constant time: `==` on the tags would leak how many leading bytes match.
        if signatures
            .iter()
            .any(|tag| hmac::verify(&key, &content, tag).is_ok())
        {
            return Ok(id);
        }
    }
    Err(WebhookError::NoMatchingSignature)
}

/// A header's value, which must be present, non-empty and visible ASCII.
fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, WebhookError> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
        .ok_or(WebhookError::MissingHeader(name))
}

/// Unix seconds as ASCII digits: no sign, no fraction, no spaces.
fn parse_timestamp(value: &str) -> Result<i64, WebhookError> {
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::InvalidTimestamp);
    }
    value.parse().map_err(|_| WebhookError::InvalidTimestamp)
}

/// What was wrong with the body, without quoting it: serde's messages for wrong types and
/// values include the offending text.
fn body_error(err: serde_json::Error) -> WebhookError {
    use serde_json::error::Category;
    let message = err.to_string();
    let what = match err.classify() {
        Category::Data if message.starts_with("missing field") => {
            return WebhookError::InvalidBody(message);
        }
        Category::Data => "a value of the wrong type",
        Category::Syntax => "invalid JSON",
        Category::Eof => "truncated JSON",
        Category::Io => "unreadable JSON",
    };
    WebhookError::InvalidBody(format!(
        "{what} at line {} column {}",
        err.line(),
        err.column()
    ))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    /// The Standard Webhooks reference test vector.
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TIMESTAMP: i64 = 1614265330;
    const VECTOR_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    const NOW: i64 = 1_750_000_000;
    const EVENT_ID: &str = "evt_2Zx8QmV4";

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(VECTOR_SECRET).unwrap()
    }

    fn headers(id: &str, timestamp: &str, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(WEBHOOK_ID, HeaderValue::from_str(id).unwrap());
        headers.insert(WEBHOOK_TIMESTAMP, HeaderValue::from_str(timestamp).unwrap());
        headers.insert(WEBHOOK_SIGNATURE, HeaderValue::from_str(signature).unwrap());
        headers
    }

    fn payment_json() -> serde_json::Value {
        serde_json::json!({
            "id": "pay_1", "status": "captured", "amount": "1800", "captured_amount": "1800",
            "refunded_amount": "0", "currency": "JPY", "order_reference": "DEMO-0123456789AB",
            "card": {"brand": "visa", "last4": "4242"}, "points_earned": 18,
            "points_redeemed": 0, "created_at": "2025-01-01T00:00:00Z",
        })
    }

    fn event_body(id: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "id": id,
            "type": "payment.captured",
            "timestamp": "2025-06-15T15:06:40Z",
            "data": payment_json(),
        }))
        .unwrap()
    }

    /// A delivery of a `payment.captured` event signed with `secrets` at `timestamp`.
    fn delivery(secrets: &[WebhookSecret], timestamp: i64) -> (HeaderMap, Vec<u8>) {
        let body = event_body(EVENT_ID);
        let signature = signature_header(secrets, EVENT_ID, timestamp, &body);
        (headers(EVENT_ID, &timestamp.to_string(), &signature), body)
    }

    #[test]
    fn signing_reproduces_the_standard_webhooks_test_vector() {
        assert_eq!(
            secret().sign(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY),
            VECTOR_SIGNATURE
        );
        assert_eq!(
            signature_header(&[secret()], VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY),
            VECTOR_SIGNATURE
        );
    }

    #[test]
    fn the_standard_webhooks_test_vector_verifies_but_is_not_a_saifu_event() {
        let headers = headers(VECTOR_ID, &VECTOR_TIMESTAMP.to_string(), VECTOR_SIGNATURE);
        assert_eq!(
            verify_signature(&headers, VECTOR_BODY, &[secret()], VECTOR_TIMESTAMP),
            Ok(VECTOR_ID)
        );
        let err =
            verify_webhook_at(&headers, VECTOR_BODY, &[secret()], VECTOR_TIMESTAMP).unwrap_err();
        assert!(
            matches!(&err, WebhookError::InvalidBody(message) if message == "missing field `id` at line 1 column 20"),
            "{err:?}"
        );
    }

    #[test]
    fn a_signed_event_verifies_and_gives_its_payment() {
        let (headers, body) = delivery(&[secret()], NOW);
        let event = verify_webhook_at(&headers, &body, &[secret()], NOW).unwrap();
        assert_eq!(event.id, EVENT_ID);
        assert_eq!(event.kind(), Some(EventType::PaymentCaptured));
        let payment = event.payment().unwrap();
        assert_eq!(
            (payment.id.as_str(), payment.order_reference.as_str()),
            ("pay_1", "DEMO-0123456789AB")
        );
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()
        );
    }

    #[test]
    fn a_tampered_body_is_rejected() {
        let (headers, body) = delivery(&[secret()], NOW);
        let tampered = String::from_utf8(body)
            .unwrap()
            .replace(r#""amount":"1800""#, r#""amount":"1":"#);
        assert_eq!(
            verify_webhook_at(&headers, tampered.as_bytes(), &[secret()], NOW),
            Err(WebhookError::NoMatchingSignature)
        );
        let mut longer = event_body(EVENT_ID);
        longer.push(b' ');
        assert_eq!(
            verify_webhook_at(&headers, &longer, &[secret()], NOW),
            Err(WebhookError::NoMatchingSignature)
        );
    }

    #[test]
    fn a_timestamp_six_minutes_old_or_ahead_is_rejected_and_five_minutes_is_not() {
        for (signed_at, verdict) in [
            (NOW - 360, Err(WebhookError::TimestampOutOfTolerance)),
            (NOW + 360, Err(WebhookError::TimestampOutOfTolerance)),
            (
                NOW - TOLERANCE_SECS - 1,
                Err(WebhookError::TimestampOutOfTolerance),
            ),
            (NOW - TOLERANCE_SECS, Ok(())),
            (NOW + TOLERANCE_SECS, Ok(())),
        ] {
            let (headers, body) = delivery(&[secret()], signed_at);
            let result = verify_webhook_at(&headers, &body, &[secret()], NOW).map(|_| ());
            assert_eq!(result, verdict, "signed at now {:+}", signed_at - NOW);
        }
    }

    #[test]
    fn a_timestamp_that_is_not_whole_unix_seconds_is_rejected() {
        let (mut headers, body) = delivery(&[secret()], NOW);
        for bad in [
            "",
            "-1",
            "+1750000000",
            "1750000000.5",
            " 1750000000",
            "soon",
            "99999999999999999999",
        ] {
            headers.insert(WEBHOOK_TIMESTAMP, HeaderValue::from_str(bad).unwrap());
            let expected = if bad.is_empty() {
                WebhookError::MissingHeader(WEBHOOK_TIMESTAMP)
            } else {
                WebhookError::InvalidTimestamp
            };
            assert_eq!(
                verify_webhook_at(&headers, &body, &[secret()], NOW),
                Err(expected),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_signature_made_with_another_secret_is_rejected() {
        let (headers, body) = delivery(&[WebhookSecret::generate()], NOW);
        assert_eq!(
            verify_webhook_at(&headers, &body, &[secret()], NOW),
            Err(WebhookError::NoMatchingSignature)
        );
        assert_eq!(
            verify_webhook_at(&headers, &body, &[], NOW),
            Err(WebhookError::NoSecrets)
        );
    }

    #[test]
    fn while_rotating_both_signatures_are_sent_and_either_secret_alone_verifies() {
        let (old, new) = (secret(), WebhookSecret::generate());
        let (headers, body) = delivery(&[old.clone(), new.clone()], NOW);
        let sent = headers[WEBHOOK_SIGNATURE].to_str().unwrap();
        assert_eq!(
            sent,
            format!(
                "{} {}",
                old.sign(EVENT_ID, NOW, &body),
                new.sign(EVENT_ID, NOW, &body)
            )
        );
        for secrets in [vec![old.clone()], vec![new.clone()], vec![new, old]] {
            let event = verify_webhook_at(&headers, &body, &secrets, NOW).unwrap();
            assert_eq!(event.id, EVENT_ID);
        }
        assert_eq!(
            verify_webhook_at(&headers, &body, &[WebhookSecret::generate()], NOW),
            Err(WebhookError::NoMatchingSignature)
        );
    }

    #[test]
    fn other_signature_versions_and_malformed_entries_are_ignored() {
        let (mut headers, body) = delivery(&[secret()], NOW);
        let v1 = secret().sign(EVENT_ID, NOW, &body);
        let tag = v1.strip_prefix("v1,").unwrap();
        // The right tag under another version name counts for nothing.
        let others = format!("v1a,{tag} v2,{tag} {tag} v1,not-base64! v1,AAAA");
        headers.insert(WEBHOOK_SIGNATURE, HeaderValue::from_str(&others).unwrap());
        assert_eq!(
            verify_webhook_at(&headers, &body, &[secret()], NOW),
            Err(WebhookError::NoMatchingSignature)
        );
        let with_v1 = format!("{others} {v1}");
        headers.insert(WEBHOOK_SIGNATURE, HeaderValue::from_str(&with_v1).unwrap());
        assert!(verify_webhook_at(&headers, &body, &[secret()], NOW).is_ok());
    }

    #[test]
    fn each_missing_header_is_named() {
        for name in [WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE] {
            let (mut headers, body) = delivery(&[secret()], NOW);
            headers.remove(name);
            assert_eq!(
                verify_webhook_at(&headers, &body, &[secret()], NOW),
                Err(WebhookError::MissingHeader(name))
            );
        }
    }

    #[test]
    fn the_event_id_must_be_the_webhook_id() {
        let body = event_body("evt_other");
        let signature = secret().sign(EVENT_ID, NOW, &body);
        let headers = headers(EVENT_ID, &NOW.to_string(), &signature);
        assert_eq!(
            verify_webhook_at(&headers, &body, &[secret()], NOW),
            Err(WebhookError::IdMismatch)
        );
    }

    #[test]
    fn a_body_error_never_quotes_the_body() {
        let body = br#"{"id":"evt_1","type":"payment.captured","timestamp":"t","data":{},"x":1}"#;
        assert!(verify_webhook_at(&signed(body), body, &[secret()], NOW).is_ok());
        let body = br#"{"id":4242424242,"type":"payment.captured","timestamp":"t","data":{}}"#;
        let err = verify_webhook_at(&signed(body), body, &[secret()], NOW).unwrap_err();
        assert_eq!(
            err,
            WebhookError::InvalidBody("a value of the wrong type at line 1 column 16".into())
        );
        assert!(!err.to_string().contains("4242"), "{err}");
        let body = b"{\"id\":\"evt_1\"";
        let err = verify_webhook_at(&signed(body), body, &[secret()], NOW).unwrap_err();
        assert!(
            matches!(&err, WebhookError::InvalidBody(m) if m.starts_with("truncated JSON")),
            "{err:?}"
        );
    }

    fn signed(body: &[u8]) -> HeaderMap {
        let signature = secret().sign("evt_1", NOW, body);
        headers("evt_1", &NOW.to_string(), &signature)
    }

    #[test]
    fn a_secret_is_whsec_and_24_to_64_bytes_of_standard_base64() {
        let key = |n: usize| STANDARD.encode(vec![7u8; n]);
        for good in [
            VECTOR_SECRET.to_owned(),
            format!("whsec_{}", key(24)),
            format!("whsec_{}", key(64)),
            // Padding is optional.
            format!("whsec_{}", key(32)),
            format!("whsec_{}", key(32).trim_end_matches('=')),
        ] {
            assert!(WebhookSecret::parse(&good).is_ok(), "{good}");
        }
        for bad in [
            String::new(),
            "whsec_".to_owned(),
            key(32),
            format!("WHSEC_{}", key(32)),
            format!("whsec_{}", key(23)),
            format!("whsec_{}", key(65)),
            format!("whsec_{}", URL_SAFE_ISH),
            format!("whsec_ {}", key(32)),
            format!("whsec_{}\n", key(32)),
        ] {
            assert_eq!(
                WebhookSecret::parse(&bad).map(|_| ()),
                Err(WebhookError::InvalidSecret),
                "{bad:?}"
            );
        }
    }

    /// 32 bytes in the URL-safe alphabet, which standard base64 refuses.
    const URL_SAFE_ISH: &str = "-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_8=";

    #[test]
    fn a_secret_round_trips_through_its_text_and_generated_ones_differ() {
        assert_eq!(secret().expose(), VECTOR_SECRET);
        let generated = WebhookSecret::generate();
        let text = generated.expose();
        assert!(text.starts_with("whsec_"), "{text}");
        assert_eq!(STANDARD.decode(&text[6..]).unwrap().len(), 32);
        let parsed = WebhookSecret::parse(&text).unwrap();
        assert_eq!(parsed.sign("a", 1, b"b"), generated.sign("a", 1, b"b"));
        assert_ne!(WebhookSecret::generate().expose(), text);
    }

    #[test]
    fn a_secret_debug_prints_redacted_and_errors_never_carry_it() {
        let secret = secret();
        let debug = format!("{secret:?}");
        assert_eq!(debug, "WebhookSecret([REDACTED])");
        assert!(!debug.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        let err = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8IL").unwrap_err();
        assert!(!err.to_string().contains("MfKQ9r8"), "{err}");
        assert!(!format!("{err:?}").contains("MfKQ9r8"), "{err:?}");
    }

    #[test]
    fn event_types_have_their_wire_names_and_unknown_ones_still_parse_as_events() {
        let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "payment.authorized",
                "payment.captured",
                "payment.voided",
                "payment.refunded",
                "dispute.opened",
                "dispute.resolved",
                "merchant.trust_mark_changed",
            ]
        );
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(EventType::parse("payment.teleported"), None);

        let body = br#"{"id":"evt_1","type":"payment.teleported","timestamp":"t","data":{"x":1}}"#;
        let event = verify_webhook_at(&signed(body), body, &[secret()], NOW).unwrap();
        assert_eq!(event.kind(), None);
        assert_eq!(event.event_type, "payment.teleported");

        let dispute = Event {
            id: "evt_2".into(),
            event_type: "dispute.opened".into(),
            timestamp: "2025-06-15T15:06:40Z".into(),
            data: payment_json(),
        };
        assert_eq!(dispute.kind(), Some(EventType::DisputeOpened));
        assert_eq!(
            dispute.payment(),
            None,
            "only payment.* events carry a payment"
        );
        assert_eq!(dispute.dispute(), None, "a payment is not a dispute");
        let dispute = Event {
            data: serde_json::json!({
                "id": "dsp_1", "payment_id": "pay_1", "status": "open", "reason": "not_received",
                "description": "Never came", "amount": {"currency": "JPY", "amount": "3200"},
                "opened_at": "2026-11-29T10:00:00Z", "respond_by": "2026-12-06T10:00:00Z",
                "evidence": null, "responded_at": null, "decision": null, "decision_reason": null,
                "outcome": null, "refund_id": null, "guarantee_paid": null, "unpaid": null,
                "resolved_at": null
            }),
            ..dispute
        };
        let opened = dispute.dispute_opened().expect("a dispute.opened event");
        assert_eq!(
            (opened.id.as_str(), opened.amount.amount.as_str()),
            ("dsp_1", "3200")
        );
        assert_eq!(dispute.dispute_resolved(), None);
    }

    #[test]
    fn verify_webhook_uses_the_current_time() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let (headers, body) = delivery(&[secret()], now);
        assert!(verify_webhook(&headers, &body, &[secret()]).is_ok());
        let (headers, body) = delivery(&[secret()], VECTOR_TIMESTAMP);
        assert_eq!(
            verify_webhook(&headers, &body, &[secret()]),
            Err(WebhookError::TimestampOutOfTolerance)
        );
    }
}
