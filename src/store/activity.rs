//! Reads for the shopper's activity: the refunds of a page of payments in one statement.

use sqlx::Row;

use super::error::Result;
use super::Store;

/// A refund as the activity lists it.
pub struct RefundRow {
    pub payment_id: String,
    pub amount_minor: i64,
    pub created_at: i64,
}

impl Store {
    /// The completed refunds of the shopper's `limit` newest payments (the page
    /// `payments_of_user` gives), oldest first.
    pub async fn refunds_of_user(&self, user_id: &str, limit: i64) -> Result<Vec<RefundRow>> {
        let rows = sqlx::query(
            "SELECT payment_id, amount_minor, created_at FROM refunds
             WHERE status = 'succeeded' AND payment_id IN (
               SELECT id FROM payments WHERE user_id = $1 AND status <> 'pending'
               ORDER BY created_at DESC, id DESC LIMIT $2)
             ORDER BY created_at, id",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RefundRow {
                    payment_id: r.try_get("payment_id")?,
                    amount_minor: r.try_get("amount_minor")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}
