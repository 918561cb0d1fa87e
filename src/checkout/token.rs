//! Step 4, the token endpoint (`grant_type=authorization_code`): the merchant's server trades
//! the one-time code, with its PKCE verifier, for a signed payment grant. One grant per code,
//! and a code presented twice revokes the grant it gave.

use saifu_sdk::checkout::{GrantClaims, PaymentDetails, TokenResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::details::PaymentRequest;
use super::failure::OAuthFailure;
use super::{pkce, Checkout};
use crate::error::{Error, Result};
use crate::merchants::{Merchant, MerchantStatus};
use crate::secrets::sha256_hex;
use crate::store::checkout::codes::{CodeRedemption, CodeRefusal, NewGrant, TakenCode};

/// What a merchant posts to `/oauth/token`, unparsed. No `Debug`: it holds the code.
#[derive(Default, Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

/// A code redemption with every parameter present.
pub struct TokenRequest {
    code: String,
    redirect_uri: String,
    code_verifier: String,
}

// Shows nothing of the code or the verifier.
impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenRequest")
    }
}

impl TokenRequest {
    /// Checks what `merchant` posted, in the order the errors are reported.
    pub fn parse(merchant: &Merchant, params: TokenParams) -> Result<Self, OAuthFailure> {
        match params.grant_type.as_deref() {
            Some("authorization_code") => {}
            Some(_) => {
                return Err(OAuthFailure::new(
                    "unsupported_grant_type",
                    "only authorization_code is supported",
                ))
            }
            None => return Err(OAuthFailure::invalid_request("grant_type is required")),
        }
        if merchant.status == MerchantStatus::Suspended {
            return Err(OAuthFailure::suspended());
        }
        let required = |value: Option<String>, missing: &str| {
            value.ok_or_else(|| OAuthFailure::invalid_request(missing))
        };
        Ok(Self {
            code: required(params.code, "code is required")?,
            redirect_uri: required(params.redirect_uri, "redirect_uri is required")?,
            code_verifier: required(params.code_verifier, "code_verifier is required (PKCE)")?,
        })
    }
}

fn invalid_grant(description: &str) -> OAuthFailure {
    OAuthFailure::new("invalid_grant", description)
}

impl Checkout {
    /// `POST /oauth/token`: takes the code (once), checks it against the request, and issues
    /// the grant it stands for.
    pub async fn redeem_code(
        &self,
        merchant: &Merchant,
        request: TokenRequest,
        now: i64,
    ) -> Result<TokenResponse, OAuthFailure> {
        let redemption = self.take_code(merchant, &request, now).await?;
        if let Some(why) = refusal(&redemption.code, &request, now) {
            // The code is used up all the same: it is good for one attempt.
            redemption.refuse().await?;
            return Err(invalid_grant(why));
        }
        Ok(self.issue_grant(merchant, redemption, now).await?)
    }

    async fn take_code(
        &self,
        merchant: &Merchant,
        request: &TokenRequest,
        now: i64,
    ) -> Result<CodeRedemption, OAuthFailure> {
        let code_hash = sha256_hex(request.code.as_bytes());
        match self
            .store
            .take_code(&code_hash, &merchant.client_id, now)
            .await?
        {
            Ok(redemption) => Ok(redemption),
            Err(CodeRefusal::Replayed) => Err(invalid_grant(
                "the code was already used; the grant issued from it is revoked",
            )),
            Err(CodeRefusal::Unknown | CodeRefusal::OtherClient) => {
                Err(invalid_grant("unknown code"))
            }
        }
    }

    /// Records the grant for a taken code and signs it.
    async fn issue_grant(
        &self,
        merchant: &Merchant,
        redemption: CodeRedemption,
        now: i64,
    ) -> Result<TokenResponse> {
        let taken = &redemption.code;
        let (details, payment) = granted_payment(&taken.details)?;
        // Chosen at approval, where the receipt names it.
        let jti = taken
            .grant_jti
            .clone()
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        let claims = GrantClaims {
            iss: self.issuer().to_string(),
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
        let grant = NewGrant {
            jti: &jti,
            client_id: &merchant.client_id,
            currency: payment.amount.currency.code(),
            amount_minor: payment.amount.minor,
            expires_at: claims.exp,
        };
        redemption.issue(grant, now).await?;
        let access_token = self.signer.sign(&claims).await?;
        tracing::info!(client_id = %merchant.client_id, "payment grant issued");
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: self.lifetimes.grant as u64,
            authorization_details: details,
        })
    }
}

/// Why a taken code gives no grant, if it does not.
fn refusal(taken: &TakenCode, request: &TokenRequest, now: i64) -> Option<&'static str> {
    if taken.expires_at <= now {
        Some("the code has expired")
    } else if taken.redirect_uri != request.redirect_uri {
        Some("redirect_uri does not match the authorization request")
    } else if !pkce::verify(&request.code_verifier, &taken.code_challenge) {
        Some("code_verifier does not match the code_challenge")
    } else {
        None
    }
}

/// The details a code was granted with, as stored and as a payment.
fn granted_payment(details_json: &str) -> Result<(Vec<PaymentDetails>, PaymentRequest)> {
    let details: Vec<PaymentDetails> = serde_json::from_str(details_json)?;
    let payment = details
        .first()
        .cloned()
        .map(PaymentRequest::from_granted)
        .transpose()
        .map_err(|e| Error::internal(anyhow::anyhow!("stored details no longer parse: {e}")))?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("a code without details")))?;
    Ok((details, payment))
}
