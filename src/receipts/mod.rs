//! Signed receipts: at approval the wallet signs what the shopper approved (`issue`, called by
//! the checkout's approval, which stores the receipt in its own transaction). This service
//! hands a payment's receipt to its shopper or its merchant, and checks a receipt against the
//! keys the wallet publishes.

pub mod issue;

use saifu_sdk::receipts::{ReceiptClaims, ReceiptError, SignedReceipt};
use uuid::Uuid;

use crate::checkout::signing::GrantSigner;
use crate::error::{Error, Result};
use crate::store::Store;

#[derive(Clone)]
pub struct Receipts {
    store: Store,
    signer: GrantSigner,
}

/// What checking a receipt found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Signed by one of the wallet's published keys, unchanged since.
    Valid,
    /// Changed after signing, or forged.
    SignatureInvalid,
    /// Names a key the wallet does not publish (never its own, or retired and unlisted).
    UnknownKey,
    /// Not a receipt at all (a payment grant, for one).
    NotAReceipt,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::SignatureInvalid => "signature_invalid",
            Verdict::UnknownKey => "unknown_key",
            Verdict::NotAReceipt => "not_a_receipt",
        }
    }
}

/// A checked receipt: the verdict, and the content when it could be read (shown, with the
/// verdict, even when the signature fails).
#[derive(Clone, Debug)]
pub struct Verification {
    pub verdict: Verdict,
    pub kid: Option<String>,
    pub claims: Option<ReceiptClaims>,
    /// Why it is not a receipt, for [`Verdict::NotAReceipt`].
    pub reason: Option<&'static str>,
}

impl Receipts {
    pub fn new(store: Store, signer: GrantSigner) -> Self {
        Self { store, signer }
    }

    /// The receipt of the shopper's own payment; `not_found` for anyone else's.
    pub async fn for_shopper(&self, user_id: Uuid, payment_id: &str) -> Result<String> {
        self.store
            .shopper_receipt(&user_id.to_string(), payment_id)
            .await?
            .ok_or_else(Error::not_found)
    }

    /// The receipt of the merchant's own payment; `not_found` for another merchant's.
    pub async fn for_merchant(&self, client_id: &str, payment_id: &str) -> Result<String> {
        self.store
            .merchant_receipt(client_id, payment_id)
            .await?
            .ok_or_else(Error::not_found)
    }

    /// The receipt of an approval, by its payment reference.
    pub async fn of_approval(&self, payment_reference: &str) -> Result<Option<String>> {
        Ok(self.store.receipt_of_approval(payment_reference).await?)
    }

    /// Checks a receipt against the keys the wallet publishes now.
    pub async fn verify(&self, jws: &str, now: i64) -> Result<Verification> {
        let receipt = match SignedReceipt::parse(jws) {
            Ok(receipt) => receipt,
            Err(ReceiptError::NotAReceipt(why)) => {
                return Ok(Verification {
                    verdict: Verdict::NotAReceipt,
                    kid: None,
                    claims: None,
                    reason: Some(why),
                })
            }
            Err(_) => {
                return Ok(Verification {
                    verdict: Verdict::SignatureInvalid,
                    kid: None,
                    claims: None,
                    reason: None,
                })
            }
        };
        let checked = self
            .signer
            .check(
                &receipt.kid,
                receipt.signing_input(),
                receipt.signature(),
                now,
            )
            .await?;
        let verdict = match checked {
            None => Verdict::UnknownKey,
            Some(true) => Verdict::Valid,
            Some(false) => Verdict::SignatureInvalid,
        };
        Ok(Verification {
            verdict,
            kid: Some(receipt.kid),
            claims: Some(receipt.claims),
            reason: None,
        })
    }
}
