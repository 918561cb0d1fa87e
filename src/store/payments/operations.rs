//! The card-network step a payment has in flight: started (recorded before the processor is
//! called), taken over by a retry or the reconciler once its node's lease lapsed, or ended
//! without effect. Recording the outcome clears it (`advance_in`).

use super::row::{payment_row, Operation, StoredPayment, COLUMNS};
use crate::payments::status::PaymentStatus;
use crate::store::error::Result;
use crate::store::Store;

/// A capture or void about to be sent to the processor: its amount (a capture's), the
/// Idempotency-Key of the request, and until when this node holds it.
pub struct StartOperation<'a> {
    pub operation: Operation,
    pub amount: Option<i64>,
    pub request_key: Option<&'a str>,
    pub lease_until: i64,
}

impl Store {
    /// Takes over `operation` of a payment once its holder's lease lapsed: of several nodes
    /// trying at once, one gets it, until `lease_until`.
    pub async fn take_over_operation(
        &self,
        id: &str,
        operation: Operation,
        now: i64,
        lease_until: i64,
    ) -> Result<bool> {
        let mut tx = self.begin_single().await?;
        let taken = sqlx::query(
            "UPDATE payments SET operation_until = $1
             WHERE id = $2 AND operation = $3 AND operation_until <= $4",
        )
        .bind(lease_until)
        .bind(id)
        .bind(operation.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Starts a capture or void of a payment in `from`, recorded before the processor is
    /// called, with the key of the request that asked. A lapsed step of the same kind is taken
    /// over (its amount stays). Gives the payment as it now stands, or `None` when it is not
    /// in `from` or another step is in flight.
    pub async fn start_operation(
        &self,
        id: &str,
        from: PaymentStatus,
        start: StartOperation<'_>,
        now: i64,
    ) -> Result<Option<StoredPayment>> {
        let mut tx = self.begin_single().await?;
        let row = sqlx::query(&format!(
            "UPDATE payments SET
                operation_amount = CASE WHEN operation IS NULL THEN $1 ELSE operation_amount END,
                operation = $2, operation_until = $3, operation_key = $4, updated_at = $5
             WHERE id = $6 AND status = $7
               AND (operation IS NULL OR (operation = $2 AND operation_until <= $5))
             RETURNING {COLUMNS}"
        ))
        .bind(start.amount)
        .bind(start.operation.as_str())
        .bind(start.lease_until)
        .bind(start.request_key)
        .bind(now)
        .bind(id)
        .bind(from.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.as_ref().map(payment_row).transpose()
    }

    /// Ends a step that the processor refused or could not carry out: nothing took effect.
    pub async fn end_operation(&self, id: &str, operation: Operation) -> Result<()> {
        let mut tx = self.begin_single().await?;
        sqlx::query(
            "UPDATE payments SET operation = NULL, operation_amount = NULL, operation_until = NULL
             WHERE id = $1 AND operation = $2",
        )
        .bind(id)
        .bind(operation.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Payments whose step in flight outlived its lease (its node crashed or hung), oldest
    /// first.
    pub async fn stalled_payments(&self, now: i64, limit: i64) -> Result<Vec<StoredPayment>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM payments WHERE operation IS NOT NULL AND operation_until <= $1
             ORDER BY operation_until LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(payment_row).collect()
    }
}
