//! Idempotent POSTs of the payments API: a key is scoped to the merchant and the endpoint,
//! the first request with it runs, and its answer is kept 24 hours and replayed byte for byte.
//! Other parameters under the same key get 422; a key whose request still runs gets 409. The
//! SQL lives in `store/idempotency.rs`; the axum middleware in `http/idempotency.rs`.

mod canonical;
mod key;

use canonical::canonical_json;
pub use key::IdempotencyKey;

use crate::error::{Error, Kind, Result};
use crate::secrets::sha256_hex;
use crate::store::idempotency::{Claim, KeyScope};
use crate::store::Store;

/// The code of an answer saying the operation is still being carried out elsewhere: never
/// kept for replay.
pub const IN_PROGRESS: &str = "payment_in_progress";

/// How long an answer is kept for replay.
pub const KEEP_SECS: i64 = 24 * 60 * 60;

/// Where a key applies: one merchant, one endpoint.
#[derive(Clone, Debug)]
pub struct Scope {
    pub client_id: String,
    /// `POST /v1/payments/…`
    pub endpoint: String,
    pub key: IdempotencyKey,
}

impl Scope {
    pub(crate) fn stored(&self) -> KeyScope<'_> {
        KeyScope {
            client_id: &self.client_id,
            endpoint: &self.endpoint,
            key: self.key.as_str(),
        }
    }
}

/// A response as it was first sent.
#[derive(Debug, PartialEq, Eq)]
pub struct Saved {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

/// The success answer of a request whose money operation keeps it for the key itself, in
/// the transaction that completes the operation, instead of [`Idempotency::finish`] after
/// it: the answer commits with the money change, one commit fewer. The operation renders the
/// body from what it committed, byte for byte the body the request is then answered with.
#[derive(Clone, Debug)]
pub struct InlineAnswer {
    pub scope: Scope,
    pub status: u16,
    pub content_type: &'static str,
}

/// Marks a response whose answer its operation already kept ([`InlineAnswer`]): the
/// middleware does not record it again.
#[derive(Clone, Copy, Debug)]
pub struct Answered;

/// What to do with a request whose key was claimed.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Run it; the key is held for it until [`Idempotency::finish`].
    Run,
    /// Answer with the response the first request got.
    Replay(Saved),
}

/// The idempotency protocol over the store.
#[derive(Clone, Debug)]
pub struct Idempotency {
    store: Store,
    /// How long a key's first request may run before a retry may take the key over (the
    /// money operation it started is then resumed, not repeated).
    lease_secs: i64,
}

impl Idempotency {
    pub fn new(store: Store, lease_secs: i64) -> Self {
        Self { store, lease_secs }
    }

    /// Claims the key for a request with this body: run it, replay the first answer, or
    /// refuse (the key was used with another body, or its first request still runs).
    pub async fn claim(&self, scope: &Scope, body: &[u8], now: i64) -> Result<Decision> {
        let claim = self
            .store
            .claim_idempotency_key(
                &scope.stored(),
                &fingerprint(body),
                now,
                self.lease_secs,
                KEEP_SECS,
            )
            .await?;
        decide(claim)
    }

    /// Records the answer of a request that ran. A server error, or an answer that the money
    /// operation is still being carried out (`code`, the problem's), frees the key instead, so
    /// that a retry runs again and gets the real outcome.
    pub async fn finish(&self, scope: &Scope, answer: &Saved, code: Option<&str>) -> Result<()> {
        if (500..600).contains(&answer.status) || code == Some(IN_PROGRESS) {
            self.store.release_idempotency_key(&scope.stored()).await?;
        } else {
            self.store
                .complete_idempotency_key(
                    &scope.stored(),
                    answer.status,
                    &answer.body,
                    answer.content_type.as_deref(),
                )
                .await?;
        }
        Ok(())
    }
}

/// The request's fingerprint: a hash of what its body means. A JSON body is hashed in its
/// canonical form (`canonical_json`), so the same request sent again with other whitespace
/// or key order is the same request; any other body is hashed as it is.
fn fingerprint(body: &[u8]) -> String {
    match canonical_json(body) {
        Some(canonical) => sha256_hex(canonical.as_bytes()),
        None => sha256_hex(body),
    }
}

fn decide(claim: Claim) -> Result<Decision> {
    match claim {
        Claim::Run => Ok(Decision::Run),
        Claim::Replay {
            status,
            body,
            content_type,
        } => Ok(Decision::Replay(Saved {
            status,
            body,
            content_type,
        })),
        Claim::Mismatch => Err(Error::new(
            Kind::Unprocessable,
            "idempotency_key_reused",
            "This Idempotency-Key was used with other parameters.",
        )),
        Claim::InProgress => Err(Error::conflict(
            "idempotency_key_in_use",
            "A request with this Idempotency-Key is still running. Retry shortly.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_body_under_a_key_is_422_and_a_running_key_is_409() {
        let reused = decide(Claim::Mismatch).unwrap_err();
        assert_eq!(
            (reused.kind(), reused.code()),
            (Kind::Unprocessable, "idempotency_key_reused")
        );
        let running = decide(Claim::InProgress).unwrap_err();
        assert_eq!(
            (running.kind(), running.code()),
            (Kind::Conflict, "idempotency_key_in_use")
        );
    }

    #[test]
    fn the_same_json_in_another_layout_has_the_same_fingerprint() {
        let first = br#"{"grant":"g","amount":{"currency":"JPY","amount":"6400"},"capture":true}"#;
        let again = b"{\n  \"capture\": true,\n  \"amount\": { \"amount\": \"6400\", \"currency\": \"JPY\" },\n  \"grant\": \"g\"\n}\n";
        assert_eq!(fingerprint(first), fingerprint(again));
        let other = br#"{"grant":"g","amount":{"currency":"JPY","amount":"6401"},"capture":true}"#;
        assert_ne!(fingerprint(first), fingerprint(other));
        assert_eq!(fingerprint(b"not json"), sha256_hex(b"not json"));
        assert_ne!(fingerprint(b"not json"), fingerprint(b"not  json"));
    }

    #[test]
    fn a_stored_answer_is_replayed_as_it_was() {
        let replay = decide(Claim::Replay {
            status: 201,
            body: b"{}".to_vec(),
            content_type: Some("application/json".into()),
        })
        .unwrap();
        assert_eq!(
            replay,
            Decision::Replay(Saved {
                status: 201,
                body: b"{}".to_vec(),
                content_type: Some("application/json".into()),
            })
        );
        assert_eq!(decide(Claim::Run).unwrap(), Decision::Run);
    }
}
