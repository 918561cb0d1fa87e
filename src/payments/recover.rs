//! The reconciler: money operations whose node crashed or hung mid-way are finished by
//! another. A payment records the card-network step it has in flight and a refund stays
//! pending until the processor answers, each held by its node for a lease; past the lease,
//! one node takes it over (a conditional write, so exactly one) and asks the processor again
//! with the same idempotency key, which replays what was done or does it once. The outcome is
//! then recorded as the first attempt would have: points released or moved, events written.

use saifu_sdk::payments::Payment;
use uuid::Uuid;

use super::view::stored_currency;
use super::{Payments, POINTS_ONLY};
use crate::card::{CardNumber, Expiry};
use crate::error::{Error, Result};
use crate::money::Money;
use crate::processor::{CardDetails, Outcome, ProcessorError};
use crate::store::payments::{Operation, StoredPayment};
use crate::vault::StoredCard;

/// How many stalled operations one pass takes on.
const BATCH: i64 = 100;

/// What one pass finished.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub payments: usize,
    pub refunds: usize,
    /// Card authorizations made at approvals that no payment will use, released.
    pub authorizations: usize,
}

impl Payments {
    /// Finishes the payment steps and refunds left in flight past their lease. Safe to run on
    /// every node at once.
    pub async fn reconcile(&self, now: i64) -> Result<Reconciled> {
        let mut done = Reconciled::default();
        let lease_until = now + self.lease_secs;
        for payment in self.store.stalled_payments(now, BATCH).await? {
            let Some(operation) = payment.operation else {
                continue;
            };
            if !self
                .store
                .take_over_operation(&payment.id, operation, now, lease_until)
                .await?
            {
                continue;
            }
            let id = payment.id.clone();
            let finished = match operation {
                Operation::Authorize | Operation::AuthorizeCapture => {
                    self.finish_authorization(payment, now).await
                }
                Operation::Capture => self.finish_capture(payment, now).await,
                Operation::Void => self.finish_void(payment, now).await,
            };
            match finished {
                Ok(p) => {
                    tracing::info!(payment_id = %id, operation = operation.as_str(), status = %p.status, "reconciled a payment left in flight")
                }
                Err(err) => {
                    tracing::info!(payment_id = %id, operation = operation.as_str(), code = err.code(), "reconciled a payment left in flight: it ended without effect")
                }
            }
            done.payments += 1;
        }
        for refund in self.store.stalled_refunds(now, BATCH).await? {
            if !self
                .store
                .take_over_refund(&refund.id, now, lease_until)
                .await?
            {
                continue;
            }
            let Some(payment) = self.store.payment(&refund.payment_id).await? else {
                continue;
            };
            let id = refund.id.clone();
            match self.finish_refund(payment, refund, now).await {
                Ok(_) => tracing::info!(refund_id = %id, "reconciled a refund left in flight"),
                Err(err) => {
                    tracing::info!(refund_id = %id, code = err.code(), "reconciled a refund left in flight: it ended without effect")
                }
            }
            done.refunds += 1;
        }
        done.authorizations = self.checkout.void_lapsed_authorizations(now).await?;
        Ok(done)
    }
}

impl Payments {
    /// Finishes the authorization of a pending payment whose first attempt was cut off,
    /// asking the processor again with the same key (so it never authorizes twice), and
    /// records the outcome as the first attempt would have.
    pub(super) async fn finish_authorization(
        &self,
        payment: StoredPayment,
        now: i64,
    ) -> Result<Payment> {
        let capture = payment.operation == Some(Operation::AuthorizeCapture);
        let currency = stored_currency(&payment)?;
        let card_amount = Money {
            currency,
            minor: payment.amount_minor
                - self
                    .points_value(
                        payment.points_programme_version,
                        payment.points_redeemed,
                        currency,
                    )
                    .await?,
        };
        let mut adopted = false;
        let outcome = if card_amount.minor == 0 {
            Ok(Outcome::Approved {
                reference: POINTS_ONLY.into(),
            })
        } else if let Some(outcome) = self.adopted(&payment.grant_jti, card_amount, now).await {
            adopted = true;
            outcome
        } else {
            match self.card_of(&payment).await {
                Ok((card, number, expiry)) => {
                    let details = CardDetails {
                        number: &number,
                        expiry,
                        holder: &card.holder,
                    };
                    self.authorize(&payment.grant_jti, card_amount, details)
                        .await
                }
                Err(err) => {
                    tracing::warn!(payment_id = %payment.id, error = %err, "the card of a payment in flight is gone: the redemption is given up");
                    Err(ProcessorError::Unavailable)
                }
            }
        };
        self.record(capture, payment, outcome, adopted, None, now)
            .await
            .map(|created| created.payment)
    }

    /// The card a payment is for, decrypted.
    async fn card_of(&self, payment: &StoredPayment) -> Result<(StoredCard, CardNumber, Expiry)> {
        let user_id = Uuid::parse_str(&payment.user_id).map_err(Error::internal)?;
        let card_id = Uuid::parse_str(&payment.card_id).map_err(Error::internal)?;
        let (card, number) = self.vault.card_number(user_id, card_id).await?;
        let expiry = Expiry::new(card.exp_month as u8, card.exp_year as u16)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("stored expiry is invalid")))?;
        Ok((card, number, expiry))
    }
}
