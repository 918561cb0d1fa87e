//! The payment grant as the payments API receives it: an ES256 JWT that we signed, checked
//! before any payment is made from it.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use saifu_sdk::checkout::GrantClaims;

use super::Checkout;
use crate::error::{Error, Result};

impl Checkout {
    /// Verifies a payment grant presented by `client_id`: an ES256 signature by one of our
    /// published keys (cached, see `GrantSigner::verify`), `typ: at+jwt`, our issuer and the
    /// payments audience, not expired, and issued to this client. Whether it was already used
    /// is the store's business.
    pub async fn verify_grant(&self, jwt: &str, client_id: &str, now: i64) -> Result<GrantClaims> {
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
        self.check_claims(&claims, client_id, now)?;
        Ok(claims)
    }

    /// A grant we signed is still refused once expired, or when it is for another audience
    /// or another merchant.
    fn check_claims(&self, claims: &GrantClaims, client_id: &str, now: i64) -> Result<()> {
        if claims.exp < now {
            return Err(Error::invalid(
                "grant_expired",
                "The grant has expired: start a new checkout.",
            ));
        }
        if claims.iss != self.issuer() || claims.aud != self.audience {
            return Err(invalid("signature or claims"));
        }
        if claims.client_id != client_id {
            return Err(invalid("it was issued to another merchant"));
        }
        Ok(())
    }
}

fn invalid(why: &str) -> Error {
    Error::invalid("invalid_grant", format!("The grant is not valid: {why}."))
}
