//! Refunds of a captured payment: reserved within what was captured and recorded as pending
//! before the processor is called, completed with their points moves and event in one
//! transaction, or cancelled when the processor refuses. A pending refund is not refunded.

use sqlx::Row;

use super::row::{StoredPayment, COLUMNS};
use super::{record_event, PaymentEvent};
use crate::points::ledger::{Credit, Ledger};
use crate::store::error::Result;
use crate::store::{points, Store};

/// Points a refund moves back, as the points rules decided them.
pub struct RefundPoints<'a> {
    /// The rules that take earned points back from the payment's lots.
    pub ledger: &'a dyn Ledger,
    /// Redeemed points to give back: how many, and the credit that does it.
    pub restore: i64,
    pub restored: Option<Credit>,
}

/// A refund as stored.
#[derive(Clone, Debug)]
pub struct StoredRefund {
    pub id: String,
    pub payment_id: String,
    pub amount_minor: i64,
    /// `pending` until the processor answers, then `succeeded` (a refused one is removed).
    pub status: String,
    pub lease_until: Option<i64>,
}

fn refund_row(r: &sqlx::any::AnyRow) -> Result<StoredRefund> {
    Ok(StoredRefund {
        id: r.try_get("id")?,
        payment_id: r.try_get("payment_id")?,
        amount_minor: r.try_get("amount_minor")?,
        status: r.try_get("status")?,
        lease_until: r.try_get("lease_until")?,
    })
}

const REFUND_COLUMNS: &str = "id, payment_id, amount_minor, status, lease_until";

/// A new refund, held by its node until `lease_until`.
pub struct NewRefund<'a> {
    pub id: &'a str,
    pub payment_id: &'a str,
    pub client_id: &'a str,
    pub amount_minor: i64,
    pub request_key: Option<&'a str>,
    pub lease_until: i64,
}

/// How completing a refund went.
#[derive(Debug, PartialEq, Eq)]
pub enum Completion {
    Done,
    /// It was completed or cancelled already.
    NotPending,
    /// Another refund of the payment completed since the points were worked out: work them
    /// out again from the payment as it now stands.
    Stale,
}

impl Store {
    /// Reserves a refund, recorded as pending before the processor is called: the payment's
    /// refunds, succeeded and pending, stay within the captured amount. Gives the payment with
    /// the reservation, or `None` if it would pass the captured amount.
    pub async fn reserve_refund(
        &self,
        r: &NewRefund<'_>,
        now: i64,
    ) -> Result<Option<StoredPayment>> {
        let mut tx = self.begin().await?;
        let reserved = sqlx::query(&format!(
            "UPDATE payments SET refunding_minor = refunding_minor + $1, updated_at = $2
             WHERE id = $3 AND client_id = $4 AND status = 'captured'
               AND refunded_minor + refunding_minor + $1 <= captured_minor
             RETURNING {COLUMNS}"
        ))
        .bind(r.amount_minor)
        .bind(now)
        .bind(r.payment_id)
        .bind(r.client_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = reserved else {
            tx.rollback().await?;
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO refunds (id, payment_id, amount_minor, status, created_at, lease_until, request_key)
             VALUES ($1, $2, $3, 'pending', $4, $5, $6)",
        )
        .bind(r.id)
        .bind(r.payment_id)
        .bind(r.amount_minor)
        .bind(now)
        .bind(r.lease_until)
        .bind(r.request_key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(super::payment_row(&row)?))
    }

    /// The refund of a payment that the request with this Idempotency-Key made.
    pub async fn refund_of_request(
        &self,
        payment_id: &str,
        request_key: &str,
    ) -> Result<Option<StoredRefund>> {
        let row = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 AND request_key = $2"
        ))
        .bind(payment_id)
        .bind(request_key)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(refund_row).transpose()
    }

    /// Takes over a pending refund whose node's lease lapsed; one taker wins.
    pub async fn take_over_refund(&self, id: &str, now: i64, lease_until: i64) -> Result<bool> {
        let taken = sqlx::query(
            "UPDATE refunds SET lease_until = $1 WHERE id = $2 AND status = 'pending' AND lease_until <= $3",
        )
        .bind(lease_until)
        .bind(id)
        .bind(now)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Pending refunds whose lease lapsed, oldest first.
    pub async fn stalled_refunds(&self, now: i64, limit: i64) -> Result<Vec<StoredRefund>> {
        let rows = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE status = 'pending' AND lease_until <= $1
             ORDER BY lease_until LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(refund_row).collect()
    }

    /// Completes a refund: it counts as refunded from now on, its points move (earned points
    /// reversed, redeemed points restored, both pro rata) and the event is written, in one
    /// transaction. `refunded_seen` is the payment's refunded total the points were worked out
    /// from.
    pub async fn complete_refund(
        &self,
        p: &StoredPayment,
        refund: &StoredRefund,
        processor_ref: &str,
        points: &RefundPoints<'_>,
        event: &PaymentEvent,
        now: i64,
    ) -> Result<Completion> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE refunds SET status = 'succeeded', processor_ref = $1, lease_until = NULL WHERE id = $2 AND status = 'pending'")
            .bind(processor_ref)
            .bind(&refund.id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Completion::NotPending);
        }
        let moved = sqlx::query(
            "UPDATE payments SET refunded_minor = refunded_minor + $1, refunding_minor = refunding_minor - $1,
                    points_restored = points_restored + $2, updated_at = $3
             WHERE id = $4 AND refunded_minor = $5",
        )
        .bind(refund.amount_minor)
        .bind(points.restore)
        .bind(now)
        .bind(&p.id)
        .bind(p.refunded_minor)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Completion::Stale);
        }
        let reversal = points::reverse(
            &mut tx,
            points.ledger,
            &p.user_id,
            &p.id,
            p.refunded_minor + refund.amount_minor,
            p.captured_minor,
            now,
        )
        .await?;
        if reversal.share() > 0 {
            sqlx::query(
                "UPDATE payments SET points_reversed = points_reversed + $1, points_unreversed = points_unreversed + $2
                 WHERE id = $3",
            )
            .bind(reversal.share())
            .bind(reversal.unreversed())
            .bind(&p.id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(credit) = &points.restored {
            points::apply_credit(&mut tx, credit, now).await?;
        }
        record_event(&mut tx, &p.id, event, now).await?;
        tx.commit().await?;
        Ok(Completion::Done)
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

    /// Removes a pending refund that the processor refused or could not carry out (nothing
    /// took effect), and its reservation.
    pub async fn cancel_refund(&self, payment_id: &str, refund_id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query(
            "DELETE FROM refunds WHERE id = $1 AND status = 'pending' RETURNING amount_minor",
        )
        .bind(refund_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = deleted {
            sqlx::query("UPDATE payments SET refunding_minor = refunding_minor - $1 WHERE id = $2")
                .bind(row.try_get::<i64, _>("amount_minor")?)
                .bind(payment_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
