//! The checkout flow, per DESIGN.md: a merchant pushes an authorization request (PAR + PKCE +
//! payment details); the shopper sees the wallet's consent page and approves with a passkey
//! assertion whose challenge is derived from the exact payment; the merchant exchanges the
//! one-time code for a signed payment grant.

pub mod details;
pub mod pkce;
pub mod signing;

use std::sync::Arc;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use saifu_sdk::checkout::{GrantClaims, ParResponse, PaymentDetails, TokenResponse};
use serde::{Deserialize, Serialize};
use url::Url;
use uuid::Uuid;
use webauthn_rs::prelude::{PasskeyAuthentication, PublicKeyCredential, RequestChallengeResponse};

use self::details::PaymentRequest;
use self::signing::GrantSigner;
use crate::accounts::account::User;
use crate::accounts::ceremony::{self, ceremony_not_found};
use crate::accounts::refusals::{counter_outcome, webauthn_error};
use crate::accounts::Accounts;
use crate::clock::random_token;
use crate::error::{Error, Kind, Result};
use crate::keys::FingerprintKey;
use crate::merchants::{Merchant, MerchantStatus, Merchants};
use crate::points::PointsPolicy;
use crate::secrets::sha256_hex;
use crate::store::checkout::{
    Approval, CodeRefusal, Consent, NewCode, NewGrant, Pushed, RequestUriRefusal,
};
use crate::store::{PasskeyUse, Store};
use crate::vault::StoredCard;
use crate::vault::Vault;

/// `request_uri` prefix (RFC 9126).
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
const APPROVAL_CEREMONY: &str = "payment_approval";

/// Lifetimes, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    /// A pushed request, and the consent made from it (at most 600).
    pub request: i64,
    /// An authorization code (at most 60).
    pub code: i64,
    /// A payment grant (at most 600).
    pub grant: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            request: 600,
            code: 60,
            grant: 600,
        }
    }
}

/// An RFC 6749 error for the merchant's server.
#[derive(Debug, PartialEq, Eq)]
pub struct OAuthFailure {
    pub error: &'static str,
    pub description: String,
}

impl OAuthFailure {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }
}

/// OAuth endpoints answer infrastructure failures as `server_error` (details are logged).
impl From<Error> for OAuthFailure {
    fn from(err: Error) -> Self {
        if let Error::Internal(cause) = &err {
            tracing::error!(
                error = format!("{cause:#}"),
                "internal error at an OAuth endpoint"
            );
            return OAuthFailure::new("server_error", "The wallet could not process the request.");
        }
        OAuthFailure::new("invalid_request", err.public_message())
    }
}

impl From<crate::store::Error> for OAuthFailure {
    fn from(err: crate::store::Error) -> Self {
        Error::from(err).into()
    }
}

/// What a merchant pushes to `/oauth/par`, unparsed.
#[derive(Debug, Default, Deserialize)]
pub struct PushParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub authorization_details: Option<String>,
    pub request_uri: Option<String>,
    pub request: Option<String>,
}

/// The consent page's content.
pub struct ConsentView {
    pub consent: Consent,
    pub merchant: Merchant,
    /// The merchant's points multiplier (percent), for the earn preview.
    pub points_multiplier_percent: i64,
    pub payment: PaymentRequest,
}

#[derive(Serialize, Deserialize)]
struct ApprovalState {
    consent_id: String,
    user_id: Uuid,
    nonce: String,
    /// webauthn-rs `PasskeyAuthentication`, its challenge replaced by the payment's.
    authentication: serde_json::Value,
}

#[derive(Clone)]
pub struct Checkout {
    store: Store,
    pub merchants: Merchants,
    pub signer: GrantSigner,
    accounts: Accounts,
    vault: Vault,
    subjects: Arc<FingerprintKey>,
    issuer: String,
    audience: String,
    lifetimes: Lifetimes,
    pub points: PointsPolicy,
}

impl Checkout {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        merchants: Merchants,
        signer: GrantSigner,
        accounts: Accounts,
        vault: Vault,
        subjects: Arc<FingerprintKey>,
        issuer: &Url,
        lifetimes: Lifetimes,
        points: PointsPolicy,
    ) -> Self {
        let audience = format!("{}/v1/payments", issuer.origin().ascii_serialization());
        Self {
            store,
            merchants,
            signer,
            accounts,
            vault,
            subjects,
            issuer: issuer.to_string(),
            audience,
            lifetimes,
            points,
        }
    }

    /// The issuer identifier, as in discovery and in `iss` parameters and claims.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// `POST /oauth/par`: validates everything a merchant pushes and stores it for one use.
    pub async fn push(
        &self,
        merchant: &Merchant,
        params: PushParams,
        now: i64,
    ) -> Result<ParResponse, OAuthFailure> {
        let invalid = |d: &str| OAuthFailure::new("invalid_request", d);
        if merchant.status == MerchantStatus::Suspended {
            return Err(OAuthFailure::new(
                "unauthorized_client",
                "this merchant is suspended",
            ));
        }
        if params.request_uri.is_some() || params.request.is_some() {
            return Err(invalid(
                "request_uri and request are not accepted at the PAR endpoint",
            ));
        }
        if let Some(id) = &params.client_id {
            if id != &merchant.client_id {
                return Err(invalid("client_id does not match the authenticated client"));
            }
        }
        match params.response_type.as_deref() {
            Some("code") => {}
            Some(_) => {
                return Err(OAuthFailure::new(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ))
            }
            None => return Err(invalid("response_type is required")),
        }
        let redirect_uri = params
            .redirect_uri
            .ok_or_else(|| invalid("redirect_uri is required"))?;
        if !merchant.redirect_uris.contains(&redirect_uri) {
            return Err(invalid("redirect_uri is not registered for this client"));
        }
        let state = params.state.ok_or_else(|| invalid("state is required"))?;
        if state.is_empty() || state.len() > 512 {
            return Err(invalid("state must have 1 to 512 characters"));
        }
        let challenge = params
            .code_challenge
            .ok_or_else(|| invalid("code_challenge is required (PKCE)"))?;
        match params.code_challenge_method.as_deref() {
            Some("S256") => {}
            Some(_) => return Err(invalid("code_challenge_method must be S256")),
            None => {
                return Err(invalid(
                    "code_challenge_method is required and must be S256",
                ))
            }
        }
        if !pkce::is_valid_challenge(&challenge) {
            return Err(invalid(
                "code_challenge must be a base64url SHA-256 (43 characters)",
            ));
        }
        let details = params.authorization_details.ok_or_else(|| {
            OAuthFailure::new(
                "invalid_authorization_details",
                "authorization_details are required",
            )
        })?;
        let payment = PaymentRequest::parse(&details)
            .map_err(|e| OAuthFailure::new("invalid_authorization_details", e.0))?;
        let details_json = serde_json::to_string(&[&payment.details]).map_err(Error::from)?;
        let handle = random_token()?;
        let pushed = Pushed {
            client_id: merchant.client_id.clone(),
            redirect_uri,
            state,
            code_challenge: challenge,
            details: details_json,
        };
        self.store
            .insert_pushed_request(
                &sha256_hex(handle.as_bytes()),
                &pushed,
                now + self.lifetimes.request,
            )
            .await?;
        Ok(ParResponse {
            request_uri: format!("{REQUEST_URI_PREFIX}{handle}"),
            expires_in: self.lifetimes.request as u64,
        })
    }

    /// `GET /oauth/authorize`: takes the pushed request (once) and opens a consent for it.
    pub async fn start_consent(
        &self,
        client_id: Option<&str>,
        request_uri: Option<&str>,
        now: i64,
    ) -> Result<Consent> {
        let (Some(client_id), Some(request_uri)) = (client_id, request_uri) else {
            return Err(Error::invalid(
                "invalid_request",
                "This checkout link is incomplete. Go back to the shop and start the payment again.",
            ));
        };
        let handle = request_uri
            .strip_prefix(REQUEST_URI_PREFIX)
            .unwrap_or_default();
        let merchant = self.merchants.find(client_id).await?;
        if merchant
            .as_ref()
            .is_some_and(|m| m.status == MerchantStatus::Suspended)
        {
            return Err(suspended());
        }
        let consent_id = random_token()?;
        let refused = self
            .store
            .consume_pushed_request(
                &sha256_hex(handle.as_bytes()),
                client_id,
                &consent_id,
                now + self.lifetimes.request,
                now,
            )
            .await?;
        refused.map_err(|why| {
            let message = match why {
                RequestUriRefusal::Used => "This checkout link was already used. Go back to the shop and start the payment again.",
                RequestUriRefusal::Expired => "This checkout link has expired. Go back to the shop and start the payment again.",
                RequestUriRefusal::Unknown | RequestUriRefusal::OtherClient => {
                    "This checkout link is not valid. Go back to the shop and start the payment again."
                }
            };
            Error::invalid("invalid_request_uri", message)
        })
    }

    /// The consent's merchant and payment, while it can still be approved.
    pub async fn consent(&self, id: &str, now: i64) -> Result<ConsentView> {
        let found = self
            .store
            .find_consent_with_merchant(id)
            .await?
            .ok_or_else(Error::not_found)?;
        let consent = found.consent;
        if consent.status != "pending" {
            return Err(Error::conflict(
                "consent_closed",
                "This payment was already approved or cancelled.",
            ));
        }
        if consent.expires_at <= now {
            return Err(Error::invalid(
                "consent_expired",
                "This checkout has expired. Go back to the shop and start again.",
            ));
        }
        let (merchant, points_multiplier_percent) = found.merchant.ok_or_else(Error::not_found)?;
        let merchant = Merchant::try_from(merchant)?;
        if merchant.status == MerchantStatus::Suspended {
            return Err(suspended());
        }
        let payment = stored_payment(&consent.pushed.details)?;
        Ok(ConsentView {
            consent,
            merchant,
            points_multiplier_percent,
            payment,
        })
    }

    /// Starts the passkey confirmation of a payment with `card_id`: the challenge is a digest
    /// of the exact payment and a fresh nonce.
    pub async fn begin_approval(
        &self,
        consent_id: &str,
        user: &User,
        card_id: Uuid,
        points: i64,
        now: i64,
    ) -> Result<(String, RequestChallengeResponse)> {
        let view = self.consent(consent_id, now).await?;
        self.usable_card(user, card_id).await?;
        self.check_points(user, &view, points).await?;
        let passkeys = self.accounts.webauthn_passkeys(user.id).await?;
        let (mut options, authentication) = self
            .accounts
            .webauthn()
            .start_passkey_authentication(&passkeys)
            .map_err(webauthn_error)?;
        let nonce = random_token()?;
        let challenge = payment_challenge(&view, card_id, points, &nonce);
        options.public_key.challenge = challenge.clone();
        let mut authentication = serde_json::to_value(&authentication)?;
        let slot = authentication
            .pointer_mut("/ast/challenge")
            .ok_or_else(|| Error::internal(anyhow::anyhow!("unexpected WebAuthn state layout")))?;
        *slot = serde_json::Value::String(URL_SAFE_NO_PAD.encode(&challenge));
        let state = ApprovalState {
            consent_id: consent_id.to_string(),
            user_id: user.id,
            nonce,
            authentication,
        };
        let id = ceremony::put(
            &self.store,
            APPROVAL_CEREMONY,
            &state,
            self.accounts.ceremony_ttl_secs(),
            now,
        )
        .await?;
        Ok((id, options))
    }

    /// Verifies the passkey confirmation against the payment re-derived from what is submitted
    /// now; an assertion made for another payment, card or merchant fails. On success the
    /// consent is approved once and the redirect to the merchant, with the code, is returned.
    ///
    /// The ceremony gets one attempt: it is read first, and then taken either by the approval's
    /// own transaction (which also records the passkey's counter: one commit for the step) or,
    /// when any check fails, on its own.
    #[allow(clippy::too_many_arguments)]
    pub async fn approve(
        &self,
        consent_id: &str,
        ceremony_id: &str,
        user: &User,
        card_id: Uuid,
        points: i64,
        credential: &PublicKeyCredential,
        now: i64,
    ) -> Result<Url> {
        let checked = self
            .check_approval(
                consent_id,
                ceremony_id,
                user,
                card_id,
                points,
                credential,
                now,
            )
            .await;
        let (view, passkey) = match checked {
            Ok(checked) => checked,
            Err(e) => {
                // Used up all the same. Should this fail too, the ceremony still expires.
                if let Err(gone) = self.store.take_ceremony(ceremony_id).await {
                    tracing::warn!(error = %gone, "could not remove a failed approval's ceremony");
                }
                return Err(e);
            }
        };
        let mut granted = view.payment.details.clone();
        granted.points_redeemed = (points > 0).then_some(points);
        let code = random_token()?;
        let approval = self
            .store
            .approve_consent(
                consent_id,
                ceremony_id,
                &passkey,
                NewCode {
                    code_hash: &sha256_hex(code.as_bytes()),
                    user_id: &user.id.to_string(),
                    card_id: &card_id.to_string(),
                    details: &serde_json::to_string(&[granted])?,
                    expires_at: now + self.lifetimes.code,
                    points,
                    // Held until the code could no longer give a grant that is still valid.
                    hold_expires_at: now + self.lifetimes.code + self.lifetimes.grant,
                    ledger: &crate::points::Rules,
                },
                now,
            )
            .await
            .map_err(crate::points::refused)?;
        match approval {
            Approval::Approved => {}
            Approval::CeremonyGone => return Err(ceremony_not_found()),
            Approval::Passkey(update) => {
                counter_outcome(update)?;
                return Err(Error::internal(anyhow::anyhow!(
                    "a recorded passkey use was reported as refused"
                )));
            }
            Approval::ConsentClosed => {
                return Err(Error::conflict(
                    "consent_closed",
                    "This payment was already approved or cancelled.",
                ))
            }
        }
        tracing::info!(client_id = %view.consent.pushed.client_id, user_id = %user.id, "payment approved");
        let mut redirect =
            Url::parse(&view.consent.pushed.redirect_uri).map_err(Error::internal)?;
        redirect
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &view.consent.pushed.state)
            .append_pair("iss", &self.issuer);
        Ok(redirect)
    }

    /// Everything `approve` checks before it writes: the ceremony belongs to this consent and
    /// shopper, the consent is open, the points and the card can be used, and the assertion
    /// signs this exact payment. Gives the consent and the passkey use to record.
    #[allow(clippy::too_many_arguments)]
    async fn check_approval(
        &self,
        consent_id: &str,
        ceremony_id: &str,
        user: &User,
        card_id: Uuid,
        points: i64,
        credential: &PublicKeyCredential,
        now: i64,
    ) -> Result<(ConsentView, PasskeyUse)> {
        let state: ApprovalState =
            ceremony::read(&self.store, ceremony_id, APPROVAL_CEREMONY, now).await?;
        if state.consent_id != consent_id || state.user_id != user.id {
            return Err(Error::invalid(
                "webauthn_challenge_mismatch",
                "This confirmation was made for another payment. Please confirm again.",
            ));
        }
        let view = self.consent(consent_id, now).await?;
        self.check_points(user, &view, points).await?;
        let mut authentication = state.authentication;
        let challenge = payment_challenge(&view, card_id, points, &state.nonce);
        let slot = authentication
            .pointer_mut("/ast/challenge")
            .ok_or_else(|| Error::internal(anyhow::anyhow!("unexpected WebAuthn state layout")))?;
        *slot = serde_json::Value::String(URL_SAFE_NO_PAD.encode(&challenge));
        let authentication: PasskeyAuthentication = serde_json::from_value(authentication)?;
        let result = self
            .accounts
            .webauthn()
            .finish_passkey_authentication(credential, &authentication)
            .map_err(webauthn_error)?;
        let passkey = self.accounts.assertion_use(user.id, &result, now).await?;
        self.usable_card(user, card_id).await?;
        Ok((view, passkey))
    }

    /// The shopper cancels: the merchant gets `error=access_denied`.
    pub async fn deny(&self, consent_id: &str) -> Result<Url> {
        let consent = self
            .store
            .find_consent(consent_id)
            .await?
            .ok_or_else(Error::not_found)?;
        if !self.store.deny_consent(consent_id).await? {
            return Err(Error::conflict(
                "consent_closed",
                "This payment was already approved or cancelled.",
            ));
        }
        let mut redirect = Url::parse(&consent.pushed.redirect_uri).map_err(Error::internal)?;
        redirect
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", &consent.pushed.state)
            .append_pair("iss", &self.issuer);
        Ok(redirect)
    }

    /// `POST /oauth/token` with `grant_type=authorization_code`: one grant per code, and a code
    /// presented twice revokes the grant it gave.
    pub async fn redeem_code(
        &self,
        merchant: &Merchant,
        code: Option<&str>,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        now: i64,
    ) -> Result<TokenResponse, OAuthFailure> {
        let invalid_grant = |d: &str| OAuthFailure::new("invalid_grant", d);
        if merchant.status == MerchantStatus::Suspended {
            return Err(OAuthFailure::new(
                "unauthorized_client",
                "this merchant is suspended",
            ));
        }
        let code = code.ok_or_else(|| OAuthFailure::new("invalid_request", "code is required"))?;
        let redirect_uri = redirect_uri
            .ok_or_else(|| OAuthFailure::new("invalid_request", "redirect_uri is required"))?;
        let verifier = code_verifier.ok_or_else(|| {
            OAuthFailure::new("invalid_request", "code_verifier is required (PKCE)")
        })?;
        let code_hash = sha256_hex(code.as_bytes());
        let redemption = match self
            .store
            .take_code(&code_hash, &merchant.client_id, now)
            .await?
        {
            Ok(redemption) => redemption,
            Err(CodeRefusal::Replayed) => {
                return Err(invalid_grant(
                    "the code was already used; the grant issued from it is revoked",
                ))
            }
            Err(CodeRefusal::Unknown | CodeRefusal::OtherClient) => {
                return Err(invalid_grant("unknown code"))
            }
        };
        let taken = &redemption.code;
        let refused = if taken.expires_at <= now {
            Some("the code has expired")
        } else if taken.redirect_uri != redirect_uri {
            Some("redirect_uri does not match the authorization request")
        } else if !pkce::verify(verifier, &taken.code_challenge) {
            Some("code_verifier does not match the code_challenge")
        } else {
            None
        };
        if let Some(why) = refused {
            // The code is used up all the same: it is good for one attempt.
            redemption.refuse().await?;
            return Err(invalid_grant(why));
        }
        let details: Vec<PaymentDetails> =
            serde_json::from_str(&taken.details).map_err(Error::from)?;
        let payment = details
            .first()
            .cloned()
            .map(PaymentRequest::from_granted)
            .transpose()
            .map_err(|e| Error::internal(anyhow::anyhow!("stored details no longer parse: {e}")))?
            .ok_or_else(|| Error::internal(anyhow::anyhow!("a code without details")))?;
        let jti = Uuid::new_v4().to_string();
        let claims = GrantClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: self
                .subjects
                .pairwise_subject(&taken.user_id, &merchant.client_id),
            client_id: merchant.client_id.clone(),
            iat: now,
            exp: now + self.lifetimes.grant,
            jti: jti.clone(),
            authorization_details: details.clone(),
        };
        redemption
            .issue(
                NewGrant {
                    jti: &jti,
                    client_id: &merchant.client_id,
                    currency: payment.amount.currency.code(),
                    amount_minor: payment.amount.minor,
                    expires_at: claims.exp,
                },
                now,
            )
            .await?;
        let access_token = self.signer.sign(&claims).await?;
        tracing::info!(client_id = %merchant.client_id, "payment grant issued");
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: self.lifetimes.grant as u64,
            authorization_details: details,
        })
    }

    /// Verifies a payment grant presented by `client_id`: an ES256 signature by one of our
    /// published keys (cached, see `GrantSigner::verify`), `typ: at+jwt`, our issuer and the payments audience, not expired, and
    /// issued to this client. Whether it was already used is the store's business.
    pub async fn verify_grant(&self, jwt: &str, client_id: &str, now: i64) -> Result<GrantClaims> {
        let invalid =
            |why: &str| Error::invalid("invalid_grant", format!("The grant is not valid: {why}."));
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| invalid("malformed"))?;
        if header.alg != jsonwebtoken::Algorithm::ES256
            || header.typ.as_deref() != Some(saifu_sdk::checkout::GRANT_TYP)
        {
            return Err(invalid("wrong algorithm or type"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no key id"))?;
        let mut parts = jwt.split('.');
        let (Some(head), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("malformed"));
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| invalid("signature or claims"))?;
        let signing_input = &jwt[..head.len() + 1 + payload.len()];
        if !self
            .signer
            .verify(&kid, signing_input.as_bytes(), &signature, now)
            .await?
        {
            return Err(invalid("signature or claims"));
        }
        let claims: GrantClaims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| invalid("signature or claims"))?;
        if claims.exp < now {
            return Err(Error::invalid(
                "grant_expired",
                "The grant has expired: start a new checkout.",
            ));
        }
        if claims.iss != self.issuer || claims.aud != self.audience {
            return Err(invalid("signature or claims"));
        }
        if claims.client_id != client_id {
            return Err(invalid("it was issued to another merchant"));
        }
        Ok(claims)
    }

    /// The most points the shopper can use on this payment.
    pub async fn redeemable_points(&self, user: &User, view: &ConsentView) -> Result<(i64, i64)> {
        let available = self
            .store
            .points_summary(&user.id.to_string(), 0)
            .await?
            .available;
        Ok((
            available,
            self.points.max_redeemable(view.payment.amount, available),
        ))
    }

    async fn check_points(&self, user: &User, view: &ConsentView, points: i64) -> Result<()> {
        if points == 0 {
            // Using no points is always allowed: no need to read the balance.
            return Ok(());
        }
        let (_, max) = self.redeemable_points(user, view).await?;
        if points < 0 || points > max {
            return Err(Error::invalid(
                "invalid_points",
                format!("You can use 0 to {max} points on this payment."),
            )
            .on_field("points"));
        }
        Ok(())
    }

    /// The shopper's card, if it is theirs and not expired.
    async fn usable_card(&self, user: &User, card_id: Uuid) -> Result<StoredCard> {
        let card = self
            .vault
            .cards(user.id)
            .await?
            .into_iter()
            .find(|c| c.id == card_id)
            .ok_or_else(|| {
                Error::invalid("unknown_card", "Choose one of your cards.").on_field("card_id")
            })?;
        let today = time::OffsetDateTime::now_utc().date();
        let expired = crate::card::Expiry::new(card.exp_month as u8, card.exp_year as u16)
            .is_none_or(|e| e.is_expired(today));
        if expired {
            return Err(Error::invalid(
                "card_expired",
                "This card has expired. Choose another card.",
            )
            .on_field("card_id"));
        }
        Ok(card)
    }
}

fn suspended() -> Error {
    Error::new(
        Kind::Forbidden,
        "merchant_suspended",
        "Saifu has suspended this shop. Payments to it are not possible.",
    )
}

fn stored_payment(details_json: &str) -> Result<PaymentRequest> {
    let details: Vec<PaymentDetails> = serde_json::from_str(details_json)?;
    let first = details
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal(anyhow::anyhow!("stored details are empty")))?;
    PaymentRequest::from_details(first)
        .map_err(|e| Error::internal(anyhow::anyhow!("stored details no longer parse: {e}")))
}

/// The WebAuthn challenge for approving exactly this payment: SHA-256 over length-prefixed
/// fields (merchant, amount, currency, order reference, card, points, nonce).
fn payment_challenge(view: &ConsentView, card_id: Uuid, points: i64, nonce: &str) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let fields = [
        "saifu/payment-confirmation/v1".to_string(),
        view.consent.pushed.client_id.clone(),
        view.payment.amount.currency.code().to_string(),
        view.payment.amount.minor.to_string(),
        view.payment.order_reference.clone(),
        card_id.to_string(),
        points.to_string(),
        nonce.to_string(),
    ];
    for field in &fields {
        ctx.update(&(field.len() as u32).to_be_bytes());
        ctx.update(field.as_bytes());
    }
    ctx.finish().as_ref().to_vec()
}
