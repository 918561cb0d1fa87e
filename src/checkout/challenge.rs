//! The passkey challenge of a payment approval: a digest of exactly what is paid, put in
//! place of webauthn-rs's own random challenge.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use saifu_sdk::checkout::ShippingAddress;

use super::consent::ConsentView;
use crate::error::{Error, Result};

/// webauthn-rs's serialized authentication state, its challenge replaced by `challenge`.
pub(super) fn with_challenge(
    mut authentication: serde_json::Value,
    challenge: &[u8],
) -> Result<serde_json::Value> {
    let slot = authentication
        .pointer_mut("/ast/challenge")
        .ok_or_else(|| Error::internal(anyhow::anyhow!("unexpected WebAuthn state layout")))?;
    *slot = serde_json::Value::String(URL_SAFE_NO_PAD.encode(challenge));
    Ok(authentication)
}

/// The WebAuthn challenge for approving exactly this payment: SHA-256 over length-prefixed
/// fields (merchant, amount, currency, order reference, card, points, the digest of the
/// shipping address or `-` without one, nonce).
pub(super) fn payment_challenge(
    view: &ConsentView,
    card: &str,
    points: i64,
    shipping: Option<&ShippingAddress>,
    nonce: &str,
) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let fields = [
        "saifu/payment-confirmation/v1".to_string(),
        view.consent.pushed.client_id.clone(),
        view.payment.amount.currency.code().to_string(),
        view.payment.amount.minor.to_string(),
        view.payment.order_reference.clone(),
        card.to_string(),
        points.to_string(),
        shipping.map_or_else(|| "-".to_string(), crate::addresses::digest),
        nonce.to_string(),
    ];
    for field in &fields {
        ctx.update(&(field.len() as u32).to_be_bytes());
        ctx.update(field.as_bytes());
    }
    ctx.finish().as_ref().to_vec()
}
