//! Signed receipts: at each approval the wallet signs what the shopper approved (a compact JWS,
//! ES256, header `typ: saifu-receipt+jwt`) with the keys it publishes at `/oauth/jwks`, the same
//! keys as payment grants. The distinct `typ` keeps a receipt from passing as a grant and a grant
//! from passing as a receipt. Anyone holding the wallet's JWKS can check a receipt offline with
//! [`verify_receipt`].

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use serde::{Deserialize, Serialize};

use crate::checkout::{Amount, JwkSet, LineItem};

/// The JWS header `typ` of a receipt.
pub const RECEIPT_TYP: &str = "saifu-receipt+jwt";

/// The version of the receipt's content described here.
pub const RECEIPT_VERSION: u32 = 1;

/// What a receipt says: the approval of one payment, as the shopper saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptClaims {
    /// The wallet that signed it; its `/oauth/jwks` lists the signing key.
    pub iss: String,
    /// When the shopper approved the payment (Unix seconds).
    pub iat: i64,
    /// The content's version ([`RECEIPT_VERSION`]).
    pub receipt_version: u32,
    /// The payment reference: the id of the approval (the consent) this receipt is of. The
    /// payment id does not exist yet at approval; the wallet links the two when the merchant
    /// redeems the grant.
    pub payment_reference: String,
    /// The `jti` of the payment grant the approval gave the merchant.
    pub grant_id: String,
    pub merchant: ReceiptMerchant,
    pub order_reference: String,
    pub amount: Amount,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    /// Points the shopper chose to use on this payment.
    pub points_used: i64,
    /// The points the consent page said the payment would earn (the earn preview). The points
    /// actually earned are only known at capture, and may differ (a partial capture, a refund).
    pub points_earned_estimate: i64,
    pub card: ReceiptCard,
    /// base64url of the WebAuthn challenge the shopper's passkey signed: the SHA-256 digest of
    /// the payment's confirmation fields (merchant, amount, currency, order, card, points, and a
    /// one-time nonce).
    pub confirmation_sha256: String,
}

/// The merchant as the wallet knew it at the moment of approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptMerchant {
    pub client_id: String,
    pub name: String,
    pub domain: String,
    /// The issuer's vetting of the merchant then: `verified` or `pending`.
    pub status: String,
}

/// The card paid with, by brand and last four digits only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptCard {
    pub brand: String,
    pub last4: String,
}

/// `GET /v1/payments/{id}/receipt`: the payment's receipt, a compact JWS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptResponse {
    /// Compact JWS, ES256, `typ: saifu-receipt+jwt`; verify it with the wallet's `/oauth/jwks`.
    pub receipt: String,
}

/// Why a receipt does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not a compact JWS with `alg: ES256`, `typ: saifu-receipt+jwt`, a `kid` and receipt
    /// content (a payment grant, for one, is not a receipt).
    #[error("this is not a Saifu receipt: {0}")]
    NotAReceipt(&'static str),
    /// The key it names is not in the key set (never the wallet's, or no longer published).
    #[error("the key {0:?} that signed this receipt is not among the wallet's published keys")]
    UnknownKey(String),
    /// The signature does not match the content: it was changed after signing, or forged.
    #[error("the receipt's signature does not match its content")]
    SignatureInvalid,
}

/// A receipt read from its compact form, its signature not yet checked.
#[derive(Clone, Debug)]
pub struct SignedReceipt {
    /// The signing key's id.
    pub kid: String,
    pub claims: ReceiptClaims,
    signing_input: String,
    signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

impl SignedReceipt {
    /// Reads a compact JWS (surrounding white space ignored) as a receipt.
    pub fn parse(jws: &str) -> Result<Self, ReceiptError> {
        let jws = jws.trim();
        let mut parts = jws.split('.');
        let (Some(head), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ReceiptError::NotAReceipt("not a compact JWS"));
        };
        let header: Header = decode_json(head).ok_or(ReceiptError::NotAReceipt("bad header"))?;
        if header.typ.as_deref() != Some(RECEIPT_TYP) {
            return Err(ReceiptError::NotAReceipt(
                "its typ is not saifu-receipt+jwt",
            ));
        }
        if header.alg != "ES256" {
            return Err(ReceiptError::NotAReceipt("its alg is not ES256"));
        }
        let kid = header
            .kid
            .ok_or(ReceiptError::NotAReceipt("it names no key"))?;
        let claims: ReceiptClaims = decode_json(payload)
            .ok_or(ReceiptError::NotAReceipt("its content is not a receipt"))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| ReceiptError::SignatureInvalid)?;
        Ok(Self {
            kid,
            claims,
            signing_input: jws[..head.len() + 1 + payload.len()].to_string(),
            signature,
        })
    }

    /// What the signature covers: `header.payload`, as received.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The ES256 signature (r ‖ s).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Checks the signature with the key `kid` of `jwks`.
    pub fn verify_with(&self, jwks: &JwkSet) -> Result<(), ReceiptError> {
        let point = jwks
            .keys
            .iter()
            .find(|k| k.kid == self.kid)
            .and_then(|k| public_point(&k.x, &k.y))
            .ok_or_else(|| ReceiptError::UnknownKey(self.kid.clone()))?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(self.signing_input(), &self.signature)
            .map_err(|_| ReceiptError::SignatureInvalid)
    }
}

/// Verifies a receipt offline against the wallet's published keys (`GET /oauth/jwks`, or a
/// copy saved while the key was listed), and gives its content.
pub fn verify_receipt(jws: &str, jwks: &JwkSet) -> Result<ReceiptClaims, ReceiptError> {
    let receipt = SignedReceipt::parse(jws)?;
    receipt.verify_with(jwks)?;
    Ok(receipt.claims)
}

/// An EC P-256 public key as an uncompressed point, from its JWK coordinates.
fn public_point(x: &str, y: &str) -> Option<Vec<u8>> {
    let mut point = vec![4u8];
    for half in [x, y] {
        let bytes = URL_SAFE_NO_PAD.decode(half).ok()?;
        if bytes.len() != 32 {
            return None;
        }
        point.extend_from_slice(&bytes);
    }
    Some(point)
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_shaped_token_is_not_a_receipt() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"at+jwt","kid":"k"}"#);
        let jws = format!("{header}.e30.AAAA");
        assert_eq!(
            SignedReceipt::parse(&jws).unwrap_err(),
            ReceiptError::NotAReceipt("its typ is not saifu-receipt+jwt")
        );
        assert!(matches!(
            SignedReceipt::parse("not a jws").unwrap_err(),
            ReceiptError::NotAReceipt(_)
        ));
    }
}
