//! Refunds: part or all of a captured payment, never more than was captured. The card gets
//! its share back first; earned points are reversed and redeemed points given back, pro rata.

use saifu_sdk::checkout::Amount;
use saifu_sdk::payments::Payment;
use saifu_sdk::webhooks::EventType;

use super::capture::amount_of;
use super::status::PaymentStatus;
use super::{declined, processor_failed, require_status, Payments, POINTS_ONLY};
use crate::clock::random_token;
use crate::error::{Error, Kind, Result};
use crate::merchants::Merchant;
use crate::money::Money;
use crate::points::rules::{self, RefundedPayment, Rules};
use crate::processor::{IdempotencyKey, Outcome};
use crate::store::payments::{RefundPoints, StoredPayment};

impl Payments {
    /// Refunds part or all of a captured payment; refunds never exceed what was captured.
    /// Earned points are reversed and redeemed points given back, pro rata.
    pub async fn refund(
        &self,
        merchant: &Merchant,
        id: &str,
        amount: &Amount,
        now: i64,
    ) -> Result<Payment> {
        let payment = self.stored(merchant, id).await?;
        let amount = amount_of(&payment, amount)?;
        require_status(
            &payment,
            PaymentStatus::Captured,
            "payment_not_refundable",
            "only a captured payment can be refunded",
        )?;
        let refund_id = format!("re_{}", &random_token()?[..22]);
        if !self
            .store
            .reserve_refund(id, &merchant.client_id, &refund_id, amount.minor, now)
            .await?
        {
            return Err(Error::new(
                Kind::Unprocessable,
                "refund_exceeds_captured",
                "Refunds would exceed the captured amount.",
            ));
        }
        let points = self.refund_points(&payment, amount, now).await?;
        let processed = self.refund_card(&payment, &refund_id, amount).await?;
        match processed {
            Ok(Outcome::Approved { reference }) => {
                let event = super::event::payment_event(EventType::PaymentRefunded)?;
                self.store
                    .complete_refund(&payment, &refund_id, &reference, &points, &event, now)
                    .await
                    .map_err(crate::points::refused)?;
                self.webhooks.wake();
                tracing::info!(payment_id = %id, refund_id = %refund_id, "payment refunded");
                self.get(merchant, id).await
            }
            Ok(Outcome::Declined { decline_code }) => {
                self.store.cancel_refund(id, &refund_id).await?;
                Err(declined(&decline_code))
            }
            Err(err) => {
                self.store.cancel_refund(id, &refund_id).await?;
                Err(processor_failed(err))
            }
        }
    }

    /// The points a refund of `amount` moves back: its pro-rata shares of the payment's
    /// earned and redeemed points, less what earlier refunds moved.
    async fn refund_points(
        &self,
        payment: &StoredPayment,
        amount: Money,
        now: i64,
    ) -> Result<RefundPoints<'static>> {
        let (reversed, restored) = self.store.points_refunded(&payment.id).await?;
        let shares = rules::refund_shares(RefundedPayment {
            points_earned: payment.points_earned,
            points_redeemed: payment.points_redeemed,
            captured_minor: payment.captured_minor,
            refunded_minor: payment.refunded_minor + amount.minor,
            reversed,
            restored,
        });
        let expires_at = now + self.points.expiry_secs;
        Ok(RefundPoints {
            ledger: &Rules,
            reverse: shares.reverse,
            restore: shares.restore,
            restored: rules::restore(&payment.user_id, &payment.id, shares.restore, expires_at),
        })
    }

    /// Gives the card its share of the refund (the points cover the rest).
    async fn refund_card(
        &self,
        payment: &StoredPayment,
        refund_id: &str,
        amount: Money,
    ) -> Result<std::result::Result<Outcome, crate::processor::ProcessorError>> {
        let points_value = payment.points_redeemed * self.points.point_value(amount.currency);
        let card_part = rules::card_share_of_refund(
            payment.captured_minor - points_value,
            payment.refunded_minor,
            amount.minor,
        );
        if card_part <= 0 {
            return Ok(Ok(Outcome::Approved {
                reference: POINTS_ONLY.into(),
            }));
        }
        let capture = self
            .store
            .capture_ref(&payment.id)
            .await?
            .unwrap_or_default();
        let key = IdempotencyKey::new(format!("refund:{refund_id}"));
        Ok(self
            .vault
            .processor()
            .refund(
                &key,
                &capture,
                Money {
                    currency: amount.currency,
                    minor: card_part,
                },
            )
            .await)
    }
}
