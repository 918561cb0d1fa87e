//! The API's view of a stored payment (the JSON the merchant sees).

use saifu_sdk::payments::{CardSummary, Payment};

use crate::error::{Error, Result};
use crate::money::{Currency, Money};
use crate::store::payments::StoredPayment;

pub(super) fn stored_currency(p: &StoredPayment) -> Result<Currency> {
    Currency::parse(&p.currency)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("stored currency {:?}", p.currency)))
}

/// The API's view of a payment.
pub fn view(p: &StoredPayment) -> Result<Payment> {
    let currency = Currency::parse(&p.currency)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("stored currency")))?;
    let major = |minor: i64| Money { currency, minor }.to_major_string();
    let created = time::OffsetDateTime::from_unix_timestamp(p.created_at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    Ok(Payment {
        id: p.id.clone(),
        status: p.status.as_str().to_string(),
        amount: major(p.amount_minor),
        captured_amount: major(p.captured_minor),
        refunded_amount: major(p.refunded_minor),
        currency: p.currency.clone(),
        order_reference: p.order_reference.clone(),
        card: CardSummary {
            brand: p.card_brand.clone(),
            last4: p.card_last4.clone(),
        },
        points_earned: p.points_earned,
        points_redeemed: p.points_redeemed,
        created_at: created,
    })
}
