//! The guarantee fund's ledger: postings of two entries that sum to zero (a payout from `fund`
//! to `paid_out`, a contribution from `issuer` to `fund`), written inside the transaction of
//! the change that makes them, and the balances and entries the console shows.

use sqlx::Row;

use super::audit::{append, AuditRecord};
use super::error::Result;
use super::{Store, Tx};

/// One entry of a guarantee posting.
pub struct GuaranteeLine<'a> {
    pub id: &'a str,
    pub account: &'a str,
    pub amount_minor: i64,
}

/// A guarantee posting: its entries sum to zero.
pub struct GuaranteePosting<'a> {
    pub id: &'a str,
    pub dispute_id: Option<&'a str>,
    pub currency: &'a str,
    pub memo: &'a str,
    pub at: i64,
    pub lines: [GuaranteeLine<'a>; 2],
}

/// A ledger entry as stored.
#[derive(Clone, Debug)]
pub struct StoredGuaranteeEntry {
    pub at: i64,
    pub posting_id: String,
    pub dispute_id: Option<String>,
    pub account: String,
    pub amount_minor: i64,
    pub currency: String,
    pub memo: String,
}

/// Writes `posting` inside `tx`.
pub(super) async fn post(tx: &mut Tx, posting: &GuaranteePosting<'_>) -> Result<()> {
    for line in &posting.lines {
        sqlx::query(
            "INSERT INTO guarantee_entries (id, posting_id, dispute_id, account, amount_minor, currency, at, memo)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(line.id)
        .bind(posting.id)
        .bind(posting.dispute_id)
        .bind(line.account)
        .bind(line.amount_minor)
        .bind(posting.currency)
        .bind(posting.at)
        .bind(posting.memo)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Writes a contribution to the guarantee fund, with its audit entry.
    pub async fn fund_guarantee(
        &self,
        posting: &GuaranteePosting<'_>,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        post(&mut tx, posting).await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The balance of a guarantee account, per currency.
    pub async fn guarantee_balances(&self, account: &str) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT currency, CAST(SUM(amount_minor) AS BIGINT) AS balance FROM guarantee_entries
             WHERE account = $1 GROUP BY currency ORDER BY currency",
        )
        .bind(account)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("currency")?, r.try_get("balance")?)))
            .collect()
    }

    /// The latest `limit` ledger entries, newest first.
    pub async fn guarantee_entries(&self, limit: i64) -> Result<Vec<StoredGuaranteeEntry>> {
        let rows = sqlx::query(
            "SELECT at, posting_id, dispute_id, account, amount_minor, currency, memo
             FROM guarantee_entries ORDER BY at DESC, posting_id DESC, account LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredGuaranteeEntry {
                    at: r.try_get("at")?,
                    posting_id: r.try_get("posting_id")?,
                    dispute_id: r.try_get("dispute_id")?,
                    account: r.try_get("account")?,
                    amount_minor: r.try_get("amount_minor")?,
                    currency: r.try_get("currency")?,
                    memo: r.try_get("memo")?,
                })
            })
            .collect()
    }
}
