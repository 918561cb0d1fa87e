//! Refunds: part or all of a captured payment, never more than was captured. The card gets
//! its share back first; earned points are reversed and redeemed points given back, pro rata.
//! A refund is pending (reserved, not refunded) until the processor answers.

use saifu_sdk::checkout::Amount;
use saifu_sdk::payments::Payment;
use saifu_sdk::webhooks::EventType;

use super::capture::amount_of;
use super::status::PaymentStatus;
use super::view::stored_currency;
use super::{declined, in_progress, processor_failed, require_status, Payments, POINTS_ONLY};
use crate::clock::random_token;
use crate::error::{Error, Kind, Result};
use crate::merchants::Merchant;
use crate::money::Money;
use crate::points::rules::{self, RefundedPayment, Rules};
use crate::processor::{IdempotencyKey, Outcome};
use crate::store::payments::{Completion, NewRefund, RefundPoints, StoredPayment, StoredRefund};

/// How a dispute's refund went.
#[derive(Debug, PartialEq, Eq)]
pub enum DisputeRefund {
    /// Refunded, by this refund (`None`: nothing was left to refund).
    Refunded(Option<String>),
    /// Refused for good: the processor declined it, or the payment can't be refunded.
    Refused,
    /// Not carried out this time (the processor failed, or another node holds the refund):
    /// try again later with the same key.
    Retry,
}

impl DisputeRefund {
    fn from_error(err: Error) -> Result<Self> {
        Ok(match err.code() {
            "card_declined" | "payment_not_refundable" => DisputeRefund::Refused,
            // Another refund took the money meanwhile: the next attempt refunds what is left.
            "processor_error" | "payment_in_progress" | "refund_exceeds_captured" => {
                DisputeRefund::Retry
            }
            _ => return Err(err),
        })
    }
}

impl Payments {
    /// Refunds part or all of a captured payment; refunds never exceed what was captured.
    /// Earned points are reversed and redeemed points given back, pro rata. The refund is
    /// recorded as pending before the processor is called and counts as refunded only once it
    /// succeeded; a retry with the same Idempotency-Key finishes a refund cut off by a crash
    /// (with the same processor key) or answers the refund it made.
    pub async fn refund(
        &self,
        merchant: &Merchant,
        id: &str,
        amount: &Amount,
        request_key: Option<&str>,
        now: i64,
    ) -> Result<Payment> {
        let payment = self.stored(merchant, id).await?;
        let amount = amount_of(&payment, amount)?;
        self.refund_stored(payment, amount, request_key, now).await
    }

    /// Refunds `amount_minor` of payment `payment_id` for a dispute, without a merchant's
    /// request: the same steps as [`Payments::refund`] (points reversed and restored pro
    /// rata, the `payment.refunded` event), with `request_key` (`dispute:<id>`) making a
    /// repeat resume or answer the refund made before. The amount is cut to what is left to
    /// refund, should the merchant have refunded part meanwhile.
    pub async fn refund_for_dispute(
        &self,
        payment_id: &str,
        amount_minor: i64,
        request_key: &str,
        now: i64,
    ) -> Result<DisputeRefund> {
        if let Some(refund) = self
            .store
            .refund_of_request(payment_id, request_key)
            .await?
        {
            let id = refund.id.clone();
            return match self.resume_refund(refund, now).await {
                Ok(_) => Ok(DisputeRefund::Refunded(Some(id))),
                Err(err) => DisputeRefund::from_error(err),
            };
        }
        let payment = self
            .store
            .payment(payment_id)
            .await?
            .ok_or_else(super::not_found)?;
        let left = payment.captured_minor - payment.refunded_minor - payment.refunding_minor;
        if payment.status == PaymentStatus::Captured && left <= 0 {
            // Refunded meanwhile; or wait for the refunds in flight to end.
            return Ok(match payment.refunding_minor {
                0 => DisputeRefund::Refunded(None),
                _ => DisputeRefund::Retry,
            });
        }
        let amount = Money {
            currency: stored_currency(&payment)?,
            minor: amount_minor.min(left),
        };
        match self
            .refund_stored(payment, amount, Some(request_key), now)
            .await
        {
            Ok(_) => Ok(DisputeRefund::Refunded(
                self.store
                    .refund_of_request(payment_id, request_key)
                    .await?
                    .map(|r| r.id),
            )),
            Err(err) => DisputeRefund::from_error(err),
        }
    }

    /// [`Payments::refund`] of a payment already read.
    async fn refund_stored(
        &self,
        payment: StoredPayment,
        amount: Money,
        request_key: Option<&str>,
        now: i64,
    ) -> Result<Payment> {
        let id = payment.id.as_str();
        if let Some(key) = request_key {
            if let Some(refund) = self.store.refund_of_request(id, key).await? {
                return self.resume_refund(refund, now).await;
            }
        }
        require_status(
            &payment,
            PaymentStatus::Captured,
            "payment_not_refundable",
            "only a captured payment can be refunded",
        )?;
        let refund_id = format!("re_{}", &random_token()?[..22]);
        let lease_until = now + self.lease_secs;
        let new = NewRefund {
            id: &refund_id,
            payment_id: id,
            client_id: &payment.client_id,
            amount_minor: amount.minor,
            request_key,
            lease_until,
        };
        let Some(reserved) = self.store.reserve_refund(&new, now).await? else {
            return Err(Error::new(
                Kind::Unprocessable,
                "refund_exceeds_captured",
                "Refunds would exceed the captured amount.",
            ));
        };
        let refund = StoredRefund {
            payment_id: id.to_string(),
            id: refund_id,
            amount_minor: amount.minor,
            status: "pending".into(),
            lease_until: Some(lease_until),
        };
        self.finish_refund(reserved, refund, now).await
    }

    /// A refund the same request made before: its outcome, finishing it first if it was cut
    /// off.
    async fn resume_refund(&self, refund: StoredRefund, now: i64) -> Result<Payment> {
        if refund.status != "pending" {
            return self.current(&refund.payment_id).await;
        }
        let lease_until = now + self.lease_secs;
        if !self
            .store
            .take_over_refund(&refund.id, now, lease_until)
            .await?
        {
            return Err(in_progress());
        }
        let payment = self
            .store
            .payment(&refund.payment_id)
            .await?
            .ok_or_else(super::not_found)?;
        self.finish_refund(payment, refund, now).await
    }

    /// Carries out a pending refund with the processor key `refund:<id>` and records the
    /// outcome: completed with its points, or removed when nothing took effect.
    pub(super) async fn finish_refund(
        &self,
        payment: StoredPayment,
        refund: StoredRefund,
        now: i64,
    ) -> Result<Payment> {
        let currency = stored_currency(&payment)?;
        let amount = Money {
            currency,
            minor: refund.amount_minor,
        };
        // Refunds ahead of this one: succeeded, and reserved by others.
        let before = payment.refunded_minor + payment.refunding_minor - refund.amount_minor;
        match self
            .refund_card(&payment, &refund.id, amount, before)
            .await?
        {
            Ok(Outcome::Approved { reference }) => {
                self.complete_refund(payment, &refund, &reference, now)
                    .await
            }
            Ok(Outcome::Declined { decline_code }) => {
                self.store.cancel_refund(&payment.id, &refund.id).await?;
                Err(declined(&decline_code))
            }
            Err(err) => {
                self.store.cancel_refund(&payment.id, &refund.id).await?;
                Err(processor_failed(err))
            }
        }
    }

    /// Records a refund the processor made, with its points worked out from the payment as
    /// it stands when the refund commits.
    async fn complete_refund(
        &self,
        mut payment: StoredPayment,
        refund: &StoredRefund,
        reference: &str,
        now: i64,
    ) -> Result<Payment> {
        let event = super::event::payment_event(EventType::PaymentRefunded)?;
        for _ in 0..16 {
            let points = self
                .refund_points(&payment, refund.amount_minor, now)
                .await?;
            match self
                .store
                .complete_refund(&payment, refund, reference, &points, &event, now)
                .await
                .map_err(crate::points::refused)?
            {
                Completion::Done => {
                    self.webhooks.wake();
                    tracing::info!(payment_id = %payment.id, refund_id = %refund.id, "payment refunded");
                    return self.current(&payment.id).await;
                }
                Completion::NotPending => return self.current(&payment.id).await,
                Completion::Stale => {
                    payment = self
                        .store
                        .payment(&payment.id)
                        .await?
                        .ok_or_else(super::not_found)?;
                }
            }
        }
        Err(Error::internal(anyhow::anyhow!(
            "completing refund {} kept meeting other refunds of the payment",
            refund.id
        )))
    }

    /// The points a refund of `amount_minor` moves back: its pro-rata shares of the payment's
    /// earned and redeemed points, less what earlier refunds moved.
    async fn refund_points(
        &self,
        payment: &StoredPayment,
        amount_minor: i64,
        now: i64,
    ) -> Result<RefundPoints<'static>> {
        let (reversed, restored) = self.store.points_refunded(&payment.id).await?;
        let shares = rules::refund_shares(RefundedPayment {
            points_earned: payment.points_earned,
            points_redeemed: payment.points_redeemed,
            captured_minor: payment.captured_minor,
            refunded_minor: payment.refunded_minor + amount_minor,
            reversed,
            restored,
        });
        let programme = self
            .checkout
            .programmes
            .version(payment.points_programme_version)
            .await?;
        let expires_at = programme.rules.expires_at(now);
        Ok(RefundPoints {
            ledger: &Rules,
            restore: shares.restore,
            restored: crate::points::lots::restore(
                &payment.user_id,
                &payment.id,
                shares.restore,
                expires_at,
            ),
        })
    }

    /// Gives the card its share of the refund (the points cover the rest); `before` is what
    /// refunds ahead of this one take.
    async fn refund_card(
        &self,
        payment: &StoredPayment,
        refund_id: &str,
        amount: Money,
        before: i64,
    ) -> Result<std::result::Result<Outcome, crate::processor::ProcessorError>> {
        let points_value = self
            .points_value(
                payment.points_programme_version,
                payment.points_redeemed,
                amount.currency,
            )
            .await?;
        let card_part = rules::card_share_of_refund(
            payment.captured_minor - points_value,
            before,
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
