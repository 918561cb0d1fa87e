//! What a receipt says, taken from the approval as the shopper confirmed it.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use saifu_sdk::receipts::{ReceiptCard, ReceiptClaims, ReceiptMerchant, RECEIPT_VERSION};

use crate::card::Brand;
use crate::checkout::consent::ConsentView;
use crate::vault::StoredCard;

/// An approval about to be recorded: the consent, the card and points chosen, the grant id
/// chosen for it, and the challenge the passkey signed.
pub struct Approved<'a> {
    pub view: &'a ConsentView,
    pub card: &'a StoredCard,
    pub points: i64,
    pub grant_jti: &'a str,
    /// The WebAuthn challenge: SHA-256 over the payment's confirmation fields.
    pub challenge: &'a [u8],
    pub issuer: &'a str,
    pub now: i64,
}

/// The receipt's content for an approval.
pub fn receipt_claims(approved: &Approved<'_>) -> ReceiptClaims {
    let view = approved.view;
    let details = &view.payment.details;
    let merchant = &view.merchant;
    let earned_estimate = view
        .programme
        .rules
        .rates
        .earn_preview(view.payment.amount, view.points_multiplier_percent);
    let card = approved.card;
    ReceiptClaims {
        iss: approved.issuer.to_string(),
        iat: approved.now,
        receipt_version: RECEIPT_VERSION,
        payment_reference: view.consent.id.clone(),
        grant_id: approved.grant_jti.to_string(),
        merchant: ReceiptMerchant {
            client_id: merchant.client_id.clone(),
            name: merchant.name.clone(),
            domain: merchant.domain.clone(),
            status: merchant.status.as_str().to_string(),
        },
        order_reference: details.order_reference.clone(),
        amount: details.instructed_amount.clone(),
        line_items: details.line_items.clone(),
        points_used: approved.points,
        points_earned_estimate: earned_estimate,
        card: ReceiptCard {
            brand: Brand::parse(&card.brand)
                .map_or_else(|| card.brand.clone(), |b| b.display_name().to_string()),
            last4: card.last4.clone(),
        },
        confirmation_sha256: URL_SAFE_NO_PAD.encode(approved.challenge),
    }
}
