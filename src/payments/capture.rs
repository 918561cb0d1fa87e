//! Capturing a payment, once, for at most the authorized amount; in the same transaction the
//! held points are spent and the earned points credited. Also records a bare authorization.

use saifu_sdk::checkout::Amount;
use saifu_sdk::payments::Payment;
use saifu_sdk::webhooks::EventType;

use super::status::PaymentStatus;
use super::view::{stored_currency, view};
use super::{amount_in, declined, processor_failed, require_status, Payments, POINTS_ONLY};
use crate::error::{Error, Kind, Result};
use crate::merchants::Merchant;
use crate::money::{Currency, Money};
use crate::points::rules::{self, Rules};
use crate::processor::{IdempotencyKey, Outcome};
use crate::store::payments::{Advance, CapturePoints, PaymentEvent, StoredPayment};

/// An authorization the card network approved, not yet recorded, and its event.
pub(super) struct Authorized {
    pub reference: String,
    pub event: PaymentEvent,
}

impl Authorized {
    fn advance(&self) -> Advance<'_> {
        Advance {
            authorization_ref: Some(&self.reference),
            ..Advance::to(PaymentStatus::Authorized)
        }
    }
}

/// The amount a capture or refund asks for: in the payment's currency, positive, with the
/// currency's minor digits.
pub(super) fn amount_of(payment: &StoredPayment, asked: &Amount) -> Result<Money> {
    let currency = stored_currency(payment)?;
    if Currency::parse(&asked.currency) != Some(currency) {
        return Err(Error::new(
            Kind::Unprocessable,
            "currency_mismatch",
            format!("The payment is in {}.", currency.code()),
        ));
    }
    amount_in(currency, &asked.amount)
}

impl Payments {
    pub(super) async fn record_authorized(
        &self,
        id: &str,
        authorized: &Authorized,
        now: i64,
    ) -> Result<()> {
        self.store
            .advance_payment(
                id,
                PaymentStatus::Pending,
                authorized.advance(),
                &authorized.event,
                now,
            )
            .await?;
        self.webhooks.wake();
        tracing::info!(payment_id = %id, "payment authorized");
        Ok(())
    }

    /// Captures an authorization, once, for at most the authorized amount; in the same
    /// transaction the held points are spent and the earned points credited.
    pub async fn capture(
        &self,
        merchant: &Merchant,
        id: &str,
        amount: Option<&Amount>,
        now: i64,
    ) -> Result<Payment> {
        let payment = self.stored(merchant, id).await?;
        require_status(
            &payment,
            PaymentStatus::Authorized,
            "payment_not_capturable",
            "only an authorized payment can be captured",
        )?;
        self.capture_stored(payment, amount, None, now).await
    }

    /// Captures a pending payment whose authorization was just approved: captured at the card
    /// network first, so that the authorization and the capture commit together (one
    /// transaction, two events). If the capture fails, the authorization stands on its own.
    pub(super) async fn capture_at_once(
        &self,
        pending: StoredPayment,
        authorized: &Authorized,
        now: i64,
    ) -> Result<Payment> {
        let id = pending.id.clone();
        match self
            .capture_stored(pending, None, Some(authorized), now)
            .await
        {
            Ok(payment) => Ok(payment),
            Err(err) => {
                self.record_authorized(&id, authorized, now).await?;
                Err(match err.kind() {
                    Kind::Upstream => Error::new(
                        Kind::Upstream,
                        "processor_error",
                        format!("Payment {id} was authorized but the capture failed at the card network. Capture it with POST /v1/payments/{id}/capture (safe to retry)."),
                    ),
                    _ => err,
                })
            }
        }
    }

    /// The amount to capture (all of it unless given), checked against the authorization and
    /// the redeemed points; and the card's part of it.
    fn capture_amounts(
        &self,
        payment: &StoredPayment,
        amount: Option<&Amount>,
    ) -> Result<(Money, Money)> {
        let currency = stored_currency(payment)?;
        let amount = match amount {
            Some(asked) => amount_of(payment, asked)?,
            None => Money {
                currency,
                minor: payment.amount_minor,
            },
        };
        if amount.minor > payment.amount_minor {
            return Err(Error::new(
                Kind::Unprocessable,
                "amount_exceeds_authorization",
                "The capture exceeds the authorized amount.",
            ));
        }
        let points_value = payment.points_redeemed * self.points.point_value(currency);
        if amount.minor < points_value {
            return Err(Error::new(
                Kind::Unprocessable,
                "amount_below_points",
                "The capture cannot be less than the points redeemed.",
            ));
        }
        let card_amount = Money {
            currency,
            minor: amount.minor - points_value,
        };
        Ok((amount, card_amount))
    }

    /// Captures `payment`: an authorized one, or (with `authorized`) a pending one whose
    /// authorization was just approved and commits together with the capture.
    async fn capture_stored(
        &self,
        payment: StoredPayment,
        amount: Option<&Amount>,
        authorized: Option<&Authorized>,
        now: i64,
    ) -> Result<Payment> {
        let id = payment.id.as_str();
        let (amount, card_amount) = self.capture_amounts(&payment, amount)?;
        let authorization = match authorized {
            Some(a) => a.reference.clone(),
            None => payment.authorization_ref.clone().unwrap_or_default(),
        };
        let outcome = if card_amount.minor == 0 {
            Outcome::Approved {
                reference: POINTS_ONLY.into(),
            }
        } else {
            let key = IdempotencyKey::new(format!("capture:{id}"));
            self.vault
                .processor()
                .capture(&key, &authorization, card_amount)
                .await
                .map_err(processor_failed)?
        };
        let reference = match outcome {
            Outcome::Declined { decline_code } => return Err(declined(&decline_code)),
            Outcome::Approved { reference } => reference,
        };
        let change = Advance {
            captured_minor: Some(amount.minor),
            capture_ref: Some(&reference),
            ..Advance::to(PaymentStatus::Captured)
        };
        let authorize_first = authorized.map(|a| (a.advance(), &a.event));
        let points = self.capture_points(&payment, card_amount, now).await?;
        let event = super::event::payment_event(EventType::PaymentCaptured)?;
        let Some(captured) = self
            .store
            .capture_payment(&payment, authorize_first, change, &points, &event, now)
            .await
            .map_err(crate::points::refused)?
        else {
            return Err(Error::conflict(
                "payment_not_capturable",
                "The payment was captured or voided meanwhile.",
            ));
        };
        self.webhooks.wake();
        tracing::info!(payment_id = %id, points_earned = points.earn.lot.points, "payment captured");
        view(&captured)
    }

    /// The points moves of a capture: the held points spent, and what the card's part earns
    /// at the merchant's campaign rate.
    async fn capture_points(
        &self,
        payment: &StoredPayment,
        card_amount: Money,
        now: i64,
    ) -> Result<CapturePoints<'static>> {
        let multiplier = self
            .store
            .merchant_points_multiplier(&payment.client_id)
            .await?;
        let earned = self.points.earned(card_amount, multiplier);
        Ok(CapturePoints {
            ledger: &Rules,
            redeem: rules::payment_captured(payment.points_redeemed),
            earn: rules::earn(
                &payment.user_id,
                &payment.client_id,
                &payment.id,
                earned,
                now + self.points.expiry_secs,
            ),
        })
    }
}
