//! Step 1, the pushed authorization request (RFC 9126): what a merchant posts to `/oauth/par`,
//! parsed once into a [`PushedRequest`], and stored for one use behind a `request_uri`.

use saifu_sdk::checkout::ParResponse;
use serde::Deserialize;

use super::details::PaymentRequest;
use super::failure::OAuthFailure;
use super::{pkce, Checkout};
use crate::clock::random_token;
use crate::error::Error;
use crate::merchants::{Merchant, MerchantStatus};
use crate::money::AmountLimits;
use crate::secrets::sha256_hex;
use crate::store::checkout::Pushed;

/// `request_uri` prefix (RFC 9126).
pub(super) const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

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

/// A pushed request that passed every check, for the merchant that pushed it.
#[derive(Debug)]
pub struct PushedRequest {
    client_id: String,
    redirect_uri: String,
    state: String,
    code_challenge: String,
    payment: PaymentRequest,
}

fn invalid(description: &str) -> OAuthFailure {
    OAuthFailure::invalid_request(description)
}

impl PushedRequest {
    /// Checks everything `merchant` pushed, in the order the errors are reported; the amount
    /// must be within `limits`.
    pub fn parse(
        merchant: &Merchant,
        params: PushParams,
        limits: &AmountLimits,
    ) -> Result<Self, OAuthFailure> {
        check_client(merchant, &params)?;
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
        let code_challenge = parse_challenge(params.code_challenge, params.code_challenge_method)?;
        let details = params.authorization_details.ok_or_else(|| {
            OAuthFailure::new(
                "invalid_authorization_details",
                "authorization_details are required",
            )
        })?;
        let payment = PaymentRequest::parse(&details, limits)
            .map_err(|e| OAuthFailure::new("invalid_authorization_details", e.0))?;
        Ok(Self {
            client_id: merchant.client_id.clone(),
            redirect_uri,
            state,
            code_challenge,
            payment,
        })
    }
}

/// The merchant may push, and pushes an authorization code request for itself.
fn check_client(merchant: &Merchant, params: &PushParams) -> Result<(), OAuthFailure> {
    if merchant.status == MerchantStatus::Suspended {
        return Err(OAuthFailure::suspended());
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
        Some("code") => Ok(()),
        Some(_) => Err(OAuthFailure::new(
            "unsupported_response_type",
            "only response_type=code is supported",
        )),
        None => Err(invalid("response_type is required")),
    }
}

/// A PKCE S256 challenge (RFC 7636); no other method is accepted.
fn parse_challenge(
    challenge: Option<String>,
    method: Option<String>,
) -> Result<String, OAuthFailure> {
    let challenge = challenge.ok_or_else(|| invalid("code_challenge is required (PKCE)"))?;
    match method.as_deref() {
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
    Ok(challenge)
}

impl Checkout {
    /// `POST /oauth/par`: stores a checked request for one use and names it by a fresh
    /// `request_uri`.
    pub async fn push(
        &self,
        request: PushedRequest,
        now: i64,
    ) -> Result<ParResponse, OAuthFailure> {
        let details = serde_json::to_string(&[&request.payment.details]).map_err(Error::from)?;
        let handle = random_token()?;
        let pushed = Pushed {
            client_id: request.client_id,
            redirect_uri: request.redirect_uri,
            state: request.state,
            code_challenge: request.code_challenge,
            details,
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
}
