//! Refunds of a captured payment: reserved within what was captured, completed with their
//! points moves and event in one transaction, or cancelled when the processor refuses.

use sqlx::Row;

use super::{record_event, PaymentEvent, StoredPayment};
use crate::points::ledger::{Credit, Ledger};
use crate::store::error::Result;
use crate::store::{points, Store};

/// Points a refund moves back, as the points rules decided them.
pub struct RefundPoints<'a> {
    pub ledger: &'a dyn Ledger,
    /// Earned points to take back (as far as the shopper still has them).
    pub reverse: i64,
    /// Redeemed points to give back: how many, and the credit that does it.
    pub restore: i64,
    pub restored: Option<Credit>,
}

impl Store {
    /// Reserves a refund: the captured payment's refunded total grows by `amount` only if it
    /// stays within the captured amount.
    pub async fn reserve_refund(
        &self,
        payment_id: &str,
        client_id: &str,
        refund_id: &str,
        amount: i64,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let reserved = sqlx::query(
            "UPDATE payments SET refunded_minor = refunded_minor + $1, updated_at = $2
             WHERE id = $3 AND client_id = $4 AND status = 'captured' AND refunded_minor + $1 <= captured_minor",
        )
        .bind(amount)
        .bind(now)
        .bind(payment_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        if reserved.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("INSERT INTO refunds (id, payment_id, amount_minor, status, created_at) VALUES ($1, $2, $3, 'pending', $4)")
            .bind(refund_id)
            .bind(payment_id)
            .bind(amount)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Completes a refund and its points (earned points reversed, redeemed points restored,
    /// both pro rata) and writes the event, in one transaction.
    pub async fn complete_refund(
        &self,
        p: &StoredPayment,
        refund_id: &str,
        processor_ref: &str,
        points: &RefundPoints<'_>,
        event: &PaymentEvent,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE refunds SET status = 'succeeded', processor_ref = $1 WHERE id = $2 AND status = 'pending'")
            .bind(processor_ref)
            .bind(refund_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 1 {
            let ledger = points.ledger;
            points::reverse(&mut tx, ledger, &p.user_id, &p.id, points.reverse, now).await?;
            if let Some(credit) = &points.restored {
                points::apply_credit(&mut tx, credit, now).await?;
            }
            sqlx::query("UPDATE payments SET points_reversed = points_reversed + $1, points_restored = points_restored + $2 WHERE id = $3")
                .bind(points.reverse)
                .bind(points.restore)
                .bind(&p.id)
                .execute(&mut *tx)
                .await?;
            record_event(&mut tx, &p.id, event, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Points already reversed and restored for a payment's earlier refunds.
    pub async fn points_refunded(&self, id: &str) -> Result<(i64, i64)> {
        let row =
            sqlx::query("SELECT points_reversed, points_restored FROM payments WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *self.read().await?)
                .await?;
        Ok((
            row.try_get("points_reversed")?,
            row.try_get("points_restored")?,
        ))
    }

    /// Gives a reserved refund back when the processor refused it.
    pub async fn cancel_refund(&self, payment_id: &str, refund_id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query(
            "DELETE FROM refunds WHERE id = $1 AND status = 'pending' RETURNING amount_minor",
        )
        .bind(refund_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = deleted {
            sqlx::query("UPDATE payments SET refunded_minor = refunded_minor - $1 WHERE id = $2")
                .bind(row.try_get::<i64, _>("amount_minor")?)
                .bind(payment_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
