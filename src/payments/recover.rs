//! The reconciler: money operations whose node crashed or hung mid-way are finished by
//! another. A payment records the card-network step it has in flight and a refund stays
//! pending until the processor answers, each held by its node for a lease; past the lease,
//! one node takes it over (a conditional write, so exactly one) and asks the processor again
//! with the same idempotency key, which replays what was done or does it once. The outcome is
//! then recorded as the first attempt would have: points released or moved, events written.

use super::Payments;
use crate::error::Result;
use crate::store::payments::Operation;

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
