//! Voiding an uncaptured authorization, once, and releasing the points it held.

use saifu_sdk::payments::Payment;
use saifu_sdk::webhooks::EventType;

use super::capture::{finished_by, Start};
use super::status::PaymentStatus;
use super::view::view;
use super::{declined, processor_failed, require_status, Payments, POINTS_ONLY};
use crate::error::{Error, Result};
use crate::merchants::Merchant;
use crate::points::rules::{self, Rules};
use crate::processor::{IdempotencyKey, Outcome};
use crate::store::payments::{Operation, ReleasePoints, StoredPayment};

impl Payments {
    /// Releases an uncaptured authorization, and the points it held. The void is recorded as
    /// in flight before the processor is called; a retry with the same Idempotency-Key
    /// finishes a void cut off by a crash, or answers the void it made.
    pub async fn void(
        &self,
        merchant: &Merchant,
        id: &str,
        request_key: Option<&str>,
        now: i64,
    ) -> Result<Payment> {
        let payment = self.stored(merchant, id).await?;
        if finished_by(&payment, Operation::Void, request_key) {
            return view(&payment);
        }
        require_status(
            &payment,
            PaymentStatus::Authorized,
            "payment_not_voidable",
            "only an authorized payment can be voided",
        )?;
        match self
            .start_operation(&payment, Operation::Void, None, request_key, now)
            .await?
        {
            Start::Begun(payment) => self.finish_void(payment, now).await,
            Start::Finished(payment) => view(&payment),
        }
    }

    /// Carries out the void in flight on `payment` with the processor key `void:<id>`, and
    /// records the outcome: voided with its points released, or the void ended without
    /// effect.
    pub(super) async fn finish_void(&self, payment: StoredPayment, now: i64) -> Result<Payment> {
        let id = payment.id.as_str();
        let authorization = payment.authorization_ref.clone().unwrap_or_default();
        let outcome = if authorization == POINTS_ONLY {
            Ok(Outcome::Approved {
                reference: POINTS_ONLY.into(),
            })
        } else {
            let key = IdempotencyKey::new(format!("void:{id}"));
            self.vault.processor().void(&key, &authorization).await
        };
        match outcome {
            Ok(Outcome::Approved { .. }) => {}
            Ok(Outcome::Declined { decline_code }) => {
                self.store.end_operation(id, Operation::Void).await?;
                return Err(declined(&decline_code));
            }
            Err(err) => {
                self.store.end_operation(id, Operation::Void).await?;
                return Err(processor_failed(err));
            }
        }
        let event = super::event::payment_event(EventType::PaymentVoided)?;
        let release = self.release_points();
        if !self
            .store
            .void_payment(&payment, &release, &event, now)
            .await
            .map_err(crate::points::refused)?
        {
            return Err(Error::conflict(
                "payment_not_voidable",
                "The payment was captured or voided meanwhile.",
            ));
        }
        self.webhooks.wake();
        tracing::info!(payment_id = %id, "payment voided");
        self.current(id).await
    }

    /// The points moves of a payment that failed (declined or voided): its held points go back.
    pub(super) fn release_points(&self) -> ReleasePoints<'static> {
        ReleasePoints {
            ledger: &Rules,
            release: rules::PAYMENT_FAILED,
        }
    }
}
