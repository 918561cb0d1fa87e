//! A payment as stored: its row, the columns read for it, and the card-network step it can have
//! in flight.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::payments::status::PaymentStatus;
use crate::store::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct StoredPayment {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub card_id: String,
    pub card_brand: String,
    pub card_last4: String,
    pub grant_jti: String,
    pub currency: String,
    pub amount_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    pub status: PaymentStatus,
    pub decline_code: Option<String>,
    pub order_reference: String,
    pub authorization_ref: Option<String>,
    pub points_earned: i64,
    pub points_redeemed: i64,
    pub created_at: i64,
    /// Refunds reserved and sent to the processor, not yet succeeded.
    pub refunding_minor: i64,
    /// The card-network step in flight, if any, and until when its node holds it.
    pub operation: Option<Operation>,
    pub operation_amount: Option<i64>,
    pub operation_until: Option<i64>,
    /// The Idempotency-Key of the request that made the payment, and of its latest capture
    /// or void: a retry with the same key resumes that request instead of being refused.
    pub request_key: Option<String>,
    pub operation_key: Option<String>,
    /// The points programme version the payment uses (`None`: made before versions, the
    /// first) and the campaign multiplier (percent) its earn uses.
    pub points_programme_version: Option<i64>,
    pub points_multiplier_percent: i64,
    /// Earned points that refunds could not take back (the shopper had spent them).
    pub points_unreversed: i64,
}

/// A card-network step a payment has in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Authorize,
    /// Authorize, then capture at once.
    AuthorizeCapture,
    Capture,
    Void,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Authorize => "authorize",
            Operation::AuthorizeCapture => "authorize_capture",
            Operation::Capture => "capture",
            Operation::Void => "void",
        }
    }

    pub(super) fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "authorize" => Operation::Authorize,
            "authorize_capture" => Operation::AuthorizeCapture,
            "capture" => Operation::Capture,
            "void" => Operation::Void,
            _ => return None,
        })
    }
}

pub(super) const COLUMNS: &str = "id, client_id, user_id, card_id, card_brand, card_last4, grant_jti, currency, amount_minor, \
     captured_minor, refunded_minor, status, decline_code, order_reference, authorization_ref, points_earned, \
     points_redeemed, created_at, refunding_minor, operation, operation_amount, operation_until, request_key, \
     operation_key, points_programme_version, points_multiplier_percent, points_unreversed";

pub(super) fn payment_row(r: &AnyRow) -> Result<StoredPayment> {
    Ok(StoredPayment {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        user_id: r.try_get("user_id")?,
        card_id: r.try_get("card_id")?,
        card_brand: r.try_get("card_brand")?,
        card_last4: r.try_get("card_last4")?,
        grant_jti: r.try_get("grant_jti")?,
        currency: r.try_get("currency")?,
        amount_minor: r.try_get("amount_minor")?,
        captured_minor: r.try_get("captured_minor")?,
        refunded_minor: r.try_get("refunded_minor")?,
        status: {
            let raw: String = r.try_get("status")?;
            PaymentStatus::parse(&raw)
                .ok_or_else(|| Error::Corrupt(format!("unknown payment status {raw:?}")))?
        },
        decline_code: r.try_get("decline_code")?,
        order_reference: r.try_get("order_reference")?,
        authorization_ref: r.try_get("authorization_ref")?,
        points_earned: r.try_get("points_earned")?,
        points_redeemed: r.try_get("points_redeemed")?,
        points_programme_version: r.try_get("points_programme_version")?,
        points_multiplier_percent: r.try_get("points_multiplier_percent")?,
        points_unreversed: r.try_get("points_unreversed")?,
        created_at: r.try_get("created_at")?,
        refunding_minor: r.try_get("refunding_minor")?,
        operation: r
            .try_get::<Option<String>, _>("operation")?
            .map(|raw| {
                Operation::parse(&raw)
                    .ok_or_else(|| Error::Corrupt(format!("unknown payment operation {raw:?}")))
            })
            .transpose()?,
        operation_amount: r.try_get("operation_amount")?,
        operation_until: r.try_get("operation_until")?,
        request_key: r.try_get("request_key")?,
        operation_key: r.try_get("operation_key")?,
    })
}
