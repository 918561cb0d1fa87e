//! The points statements' SQL: a month of the ledger's entries that concern merchants, summed
//! per merchant, currency and programme version. What a point is worth, and the money, is
//! worked out by the service; this file only sums points.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::error::Result;
use super::Store;
use crate::points::ledger::{Account, EntryKind};

/// One merchant's points in one currency at one programme version, over `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementRow {
    pub client_id: String,
    pub merchant_name: String,
    /// The payments' currency code, as stored.
    pub currency: String,
    /// The programme version the payments used (`None`: before versions).
    pub programme_version: Option<i64>,
    /// Points the merchant's campaign funded: earned less reversed.
    pub points_issued: i64,
    /// Points redeemed at the merchant's shop that the programme took back: redeemed less
    /// restored.
    pub points_redeemed: i64,
}

/// Sums the entries of the statement's two kinds, joined to their payment:
/// - the campaign account of the payment's merchant, on earn and reverse postings (negated:
///   an earn debits the campaign, so points issued are positive);
/// - the issuer's liability on redeem and restore postings of the merchant's payments.
///
/// `{merchant}` is replaced by a condition on one merchant, or by nothing.
const STATEMENT_SQL: &str = "SELECT p.client_id, m.name AS merchant_name, p.currency,
        p.points_programme_version AS programme_version,
        CAST(COALESCE(SUM(CASE WHEN e.kind IN ($3, $4) THEN -e.amount ELSE 0 END), 0) AS BIGINT) AS points_issued,
        CAST(COALESCE(SUM(CASE WHEN e.kind IN ($5, $6) THEN e.amount ELSE 0 END), 0) AS BIGINT) AS points_redeemed
     FROM points_entries e
     JOIN payments p ON p.id = e.payment_id
     JOIN merchants m ON m.client_id = p.client_id
     WHERE e.created_at >= $1 AND e.created_at < $2
       AND ((e.kind IN ($3, $4) AND e.account = 'merchant:' || p.client_id || ':campaign')
         OR (e.kind IN ($5, $6) AND e.account = $7))
       {merchant}
     GROUP BY p.client_id, m.name, p.currency, p.points_programme_version";

fn statement_row(r: &AnyRow) -> Result<StatementRow> {
    Ok(StatementRow {
        client_id: r.try_get("client_id")?,
        merchant_name: r.try_get("merchant_name")?,
        currency: r.try_get("currency")?,
        programme_version: r.try_get("programme_version")?,
        points_issued: r.try_get("points_issued")?,
        points_redeemed: r.try_get("points_redeemed")?,
    })
}

impl Store {
    /// The statement rows of every merchant with activity in `[from, to)`, or of one
    /// (`client_id`).
    pub async fn points_statement_rows(
        &self,
        from: i64,
        to: i64,
        client_id: Option<&str>,
    ) -> Result<Vec<StatementRow>> {
        let sql = STATEMENT_SQL.replace(
            "{merchant}",
            if client_id.is_some() {
                "AND p.client_id = $8"
            } else {
                ""
            },
        );
        let mut query = sqlx::query(&sql)
            .bind(from)
            .bind(to)
            .bind(EntryKind::Earn.as_str())
            .bind(EntryKind::Reverse.as_str())
            .bind(EntryKind::Redeem.as_str())
            .bind(EntryKind::Restore.as_str())
            .bind(Account::Issuer.key());
        if let Some(client_id) = client_id {
            query = query.bind(client_id.to_string());
        }
        let rows = query.fetch_all(&mut *self.read().await?).await?;
        rows.iter().map(statement_row).collect()
    }
}
