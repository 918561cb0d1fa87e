//! Opening a dispute: only on the shopper's own captured payment, with something left to
//! refund, within the window after capture, one unresolved dispute per payment. The reason,
//! description and amount are parsed once here; the `dispute.opened` event goes with it.

use saifu_sdk::webhooks::EventType;
use uuid::Uuid;

use super::types::{shown, why_refused, Dispute, Reason, MAX_TEXT};
use super::{view, Disputes};
use crate::accounts::user::User;
use crate::clock::random_token;
use crate::error::{Error, Kind, Result};
use crate::money::{Currency, Money, ParseAmountError};
use crate::payments::PaymentStatus;
use crate::store::disputes::{NewDispute, OpenRefusal};

/// What the shopper's form needs to offer a dispute on a payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disputable {
    /// The most that may be disputed: captured, less refunds made and in flight.
    pub max_amount_minor: i64,
    pub currency: String,
    pub merchant_name: String,
    pub order_reference: String,
}

fn not_disputable(why: &str) -> Error {
    Error::conflict(
        "not_disputable",
        format!("This payment can't be disputed: {why}."),
    )
}

fn dispute_exists() -> Error {
    Error::conflict(
        "dispute_exists",
        "This payment already has a dispute that is not resolved.",
    )
}

/// The disputed amount: decimal text in the payment's currency, above zero, at most `max`.
fn parse_amount(currency: Currency, raw: &str, max: i64) -> Result<i64> {
    let refused = |why: String| Error::invalid("invalid_dispute_amount", why).on_field("amount");
    let minor = match Money::parse_major_exact(currency, raw.trim()) {
        Ok(m) if m.minor > 0 => m.minor,
        Ok(_) | Err(ParseAmountError::Malformed) | Err(ParseAmountError::TooLarge) => {
            return Err(refused(format!(
                "The amount must be a positive {} amount with {} decimal places.",
                currency.code(),
                currency.minor_digits()
            )))
        }
    };
    if minor > max {
        return Err(refused(format!(
            "The amount can be at most {} (what was paid, less refunds).",
            Money::new(currency, max).format_display()
        )));
    }
    Ok(minor)
}

impl Disputes {
    /// Whether the shopper may dispute their payment `payment_id` now, and for how much; a
    /// payment that is not theirs is not found.
    pub async fn disputable(
        &self,
        user_id: Uuid,
        payment_id: &str,
        now: i64,
    ) -> Result<Disputable> {
        let payment = self
            .store
            .disputed_payment(&user_id.to_string(), payment_id)
            .await?
            .ok_or_else(Error::not_found)?;
        if payment.status != PaymentStatus::Captured.as_str() {
            return Err(not_disputable("only a captured payment can be disputed"));
        }
        let left = payment.captured_minor - payment.refunded_minor - payment.refunding_minor;
        if left <= 0 {
            return Err(not_disputable("it has been refunded in full"));
        }
        let captured_at = payment.captured_at.unwrap_or(0);
        if now > captured_at + self.settings.window_secs {
            return Err(Error::conflict(
                "dispute_window_closed",
                format!(
                    "Payments can be disputed for {} days after they are taken.",
                    self.settings.window_secs / 86_400
                ),
            ));
        }
        if self
            .store
            .unresolved_dispute_of(payment_id)
            .await?
            .is_some()
        {
            return Err(dispute_exists());
        }
        Ok(Disputable {
            max_amount_minor: left,
            currency: payment.currency,
            merchant_name: payment.merchant_name,
            order_reference: payment.order_reference,
        })
    }

    /// Opens a dispute on the shopper's payment, for `amount` (decimal text in the payment's
    /// currency; `None` disputes all that is left to refund), and tells the merchant.
    pub async fn open(
        &self,
        user: &User,
        payment_id: &str,
        reason: Reason,
        description: &str,
        amount: Option<&str>,
        now: i64,
    ) -> Result<Dispute> {
        let disputable = self.disputable(user.id, payment_id, now).await?;
        let description = shown(description, MAX_TEXT).ok_or_else(|| {
            Error::invalid(
                "invalid_dispute_description",
                format!(
                    "Describe the problem. {}",
                    why_refused(description, MAX_TEXT)
                ),
            )
            .on_field("description")
        })?;
        let currency = Currency::parse(&disputable.currency)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("stored currency")))?;
        let amount_minor = match amount.map(str::trim).filter(|a| !a.is_empty()) {
            None => disputable.max_amount_minor,
            Some(raw) => parse_amount(currency, raw, disputable.max_amount_minor)?,
        };
        let id = format!("dsp_{}", &random_token()?[..22]);
        let new = NewDispute {
            id: &id,
            payment_id,
            user_id: &user.id.to_string(),
            reason: reason.as_str(),
            description: &description,
            amount_minor,
            opened_at: now,
            respond_by: now + self.settings.response_secs,
        };
        let event = view::event(EventType::DisputeOpened)?;
        match self.store.open_dispute(&new, &event).await? {
            Ok(stored) => {
                self.webhooks.wake();
                tracing::info!(dispute_id = %id, payment_id, "dispute opened");
                view::dispute(&stored)
            }
            Err(OpenRefusal::Exists) => Err(dispute_exists()),
            Err(OpenRefusal::NotRefundable) => Err(Error::new(
                Kind::Conflict,
                "not_disputable",
                "This payment can't be disputed for that amount: it was refunded meanwhile.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_positive_in_the_currency_and_at_most_what_is_left() {
        assert_eq!(parse_amount(Currency::Jpy, "3200", 12800).unwrap(), 3200);
        assert_eq!(parse_amount(Currency::Usd, "12.50", 1250).unwrap(), 1250);
        for (currency, raw) in [
            (Currency::Jpy, "0"),
            (Currency::Jpy, "-1"),
            (Currency::Jpy, "12.5"),
            (Currency::Usd, "12.5"),
            (Currency::Jpy, "12801"),
            (Currency::Jpy, "99999999999999999999999"),
        ] {
            let err = parse_amount(currency, raw, 12800).unwrap_err();
            assert_eq!(err.code(), "invalid_dispute_amount", "{raw}");
        }
    }
}
