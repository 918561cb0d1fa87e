//! Health of the lots against the ledger: what `saifu`'s tests and operators check after any
//! sequence of earns, holds, refunds and expiry. Read-only.

use sqlx::Row;

use super::error::Result;
use super::Store;

/// What the lots say against the ledger's entries and balances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LotsCheck {
    /// Lots whose remaining and reversed points exceed what they were credited with, or that
    /// hold a negative count.
    pub lots_out_of_bounds: i64,
    /// Merchant campaign accounts whose balance is not what their lots say: minus what the
    /// merchant's lots were credited with, plus what refunds took back and what expired.
    pub funders_off: i64,
}

impl Store {
    pub async fn lots_check(&self) -> Result<LotsCheck> {
        let mut conn = self.read().await?;
        let lots_out_of_bounds: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM points_lots
             WHERE remaining < 0 OR reversed < 0 OR unreversed < 0 OR remaining + reversed > points",
        )
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
        let funders_off: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM points_balances b
             WHERE b.account LIKE 'merchant:%:campaign'
               AND b.balance <>
                   (SELECT CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) FROM points_entries e
                     WHERE e.account = b.account AND e.kind = 'expire')
                 - (SELECT CAST(COALESCE(SUM(l.points - l.reversed), 0) AS BIGINT) FROM points_lots l
                     WHERE l.funder || ':campaign' = b.account)",
        )
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
        Ok(LotsCheck {
            lots_out_of_bounds,
            funders_off,
        })
    }
}
