//! Voiding an uncaptured authorization, once, and releasing the points it held.

use saifu_sdk::payments::Payment;
use saifu_sdk::webhooks::EventType;

use super::status::PaymentStatus;
use super::{declined, processor_failed, require_status, Payments, POINTS_ONLY};
use crate::error::{Error, Result};
use crate::merchants::Merchant;
use crate::points::rules::{self, Rules};
use crate::processor::{IdempotencyKey, Outcome};
use crate::store::payments::ReleasePoints;

impl Payments {
    /// Releases an uncaptured authorization, and the points it held.
    pub async fn void(&self, merchant: &Merchant, id: &str, now: i64) -> Result<Payment> {
        let payment = self.stored(merchant, id).await?;
        require_status(
            &payment,
            PaymentStatus::Authorized,
            "payment_not_voidable",
            "only an authorized payment can be voided",
        )?;
        let authorization = payment.authorization_ref.clone().unwrap_or_default();
        let outcome = if authorization == POINTS_ONLY {
            Outcome::Approved {
                reference: POINTS_ONLY.into(),
            }
        } else {
            let key = IdempotencyKey::new(format!("void:{id}"));
            self.vault
                .processor()
                .void(&key, &authorization)
                .await
                .map_err(processor_failed)?
        };
        if let Outcome::Declined { decline_code } = outcome {
            return Err(declined(&decline_code));
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
        self.get(merchant, id).await
    }

    /// The points moves of a payment that failed (declined or voided): its held points go back.
    pub(super) fn release_points(&self) -> ReleasePoints<'static> {
        ReleasePoints {
            ledger: &Rules,
            release: rules::PAYMENT_FAILED,
        }
    }
}
