//! Counts for the issuer console's dashboard: payments and their volume in a time range, and
//! merchants by vetting status. Plain aggregates over the payments and merchants tables.

use sqlx::Row;

use super::error::Result;
use super::Store;

/// Payments in one currency over a range: how many and their volume in minor units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrencyTotals {
    pub currency: String,
    pub count: i64,
    pub volume_minor: i64,
}

impl Store {
    /// Authorized and captured payments created in `[from, until)` (Unix seconds), per
    /// currency: a captured payment counts its captured amount, an authorized one its
    /// authorized amount (refunds are not taken off).
    pub async fn payment_totals(&self, from: i64, until: i64) -> Result<Vec<CurrencyTotals>> {
        let rows = sqlx::query(
            "SELECT currency, COUNT(*) AS n,
                    CAST(COALESCE(SUM(CASE WHEN status = 'captured' THEN captured_minor
                                           ELSE amount_minor END), 0) AS BIGINT) AS volume
             FROM payments
             WHERE status IN ('authorized', 'captured') AND created_at >= $1 AND created_at < $2
             GROUP BY currency ORDER BY currency",
        )
        .bind(from)
        .bind(until)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CurrencyTotals {
                    currency: r.try_get("currency")?,
                    count: r.try_get("n")?,
                    volume_minor: r.try_get("volume")?,
                })
            })
            .collect()
    }

    /// How many merchants have each vetting status (statuses no merchant has are left out).
    pub async fn merchants_by_status(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM merchants GROUP BY status ORDER BY status",
        )
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
            .collect()
    }
}
