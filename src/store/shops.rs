//! Connected shops: the shops a shopper has paid, with their first and last payment; the
//! month's counted total at each; the shopper's monthly caps and blocks; and the counting an
//! approval does in its own transaction, within the cap.

use sqlx::Row;

use super::audit::AuditRecord;
use super::direct::SqlConn;
use super::error::Result;
use super::{Store, Tx};

/// A shop the shopper has paid (authorized or captured payments), as stored.
#[derive(Clone, Debug)]
pub struct StoredShop {
    pub client_id: String,
    pub name: String,
    pub domain: String,
    pub first_paid_at: i64,
    pub last_paid_at: i64,
    pub blocked_at: Option<i64>,
}

/// An amount per shop and currency: a month's counted total, or a cap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopAmount {
    pub client_id: String,
    pub currency: String,
    pub minor: i64,
}

/// An approval to count at its shop: its shopper, shop, currency and amount, the UTC month it
/// falls in, and until when it counts while no payment is made from it.
#[derive(Clone, Debug)]
pub struct ShopCounting {
    pub user_id: String,
    pub client_id: String,
    pub currency: &'static str,
    pub amount: i64,
    pub month_starts_at: i64,
    pub counts_until: i64,
}

/// Why the shopper's own settings refused an approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShopCountRefusal {
    /// The shopper blocked the shop.
    Blocked,
    /// The approval would take the month's counted total past the cap.
    Cap { cap: i64, counted: i64 },
}

/// The amounts counted toward a shop's month, per shop and currency, of the shopper `$1`, since
/// `$2`, at `$3`: payments not declined or voided, and approvals no payment was made from that
/// could still become one.
pub(super) const COUNTED: &str = "
    SELECT client_id, currency, amount_minor FROM payments
     WHERE user_id = $1 AND created_at >= $2 AND status NOT IN ('declined', 'voided')
    UNION ALL
    SELECT a.client_id, a.currency, a.amount_minor FROM shop_approvals a
     WHERE a.user_id = $1 AND a.approved_at >= $2 AND a.counts_until > $3
       AND NOT EXISTS (SELECT 1 FROM grants g JOIN payments p ON p.grant_jti = g.jti
                        WHERE g.consent_id = a.consent_id)";

fn amount_rows(rows: Vec<sqlx::any::AnyRow>, column: &str) -> Result<Vec<ShopAmount>> {
    rows.iter()
        .map(|r| {
            Ok(ShopAmount {
                client_id: r.try_get("client_id")?,
                currency: r.try_get("currency")?,
                minor: r.try_get(column)?,
            })
        })
        .collect()
}

impl Store {
    /// The shops `user_id` has paid (an authorized or captured payment), the most recently
    /// paid first, with the first and last such payment and whether the shopper blocked them.
    pub async fn connected_shops(&self, user_id: &str) -> Result<Vec<StoredShop>> {
        let rows = sqlx::query(
            "SELECT m.client_id, m.name, m.domain,
                    CAST(MIN(p.created_at) AS BIGINT) AS first_paid_at,
                    CAST(MAX(p.created_at) AS BIGINT) AS last_paid_at,
                    s.blocked_at
             FROM payments p
             JOIN merchants m ON m.client_id = p.client_id
             LEFT JOIN connected_shops s ON s.user_id = p.user_id AND s.client_id = p.client_id
             WHERE p.user_id = $1 AND p.status IN ('authorized', 'captured')
             GROUP BY m.client_id, m.name, m.domain, s.blocked_at
             ORDER BY last_paid_at DESC, m.client_id",
        )
        .bind(user_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredShop {
                    client_id: r.try_get("client_id")?,
                    name: r.try_get("name")?,
                    domain: r.try_get("domain")?,
                    first_paid_at: r.try_get("first_paid_at")?,
                    last_paid_at: r.try_get("last_paid_at")?,
                    blocked_at: r.try_get("blocked_at")?,
                })
            })
            .collect()
    }

    /// What counts toward each shop's month for `user_id` (the month starting at
    /// `month_starts_at`), per shop and currency.
    pub async fn shop_month_totals(
        &self,
        user_id: &str,
        month_starts_at: i64,
        now: i64,
    ) -> Result<Vec<ShopAmount>> {
        let rows = sqlx::query(&format!(
            "SELECT client_id, currency, CAST(SUM(amount_minor) AS BIGINT) AS total
             FROM ({COUNTED}) counted GROUP BY client_id, currency ORDER BY client_id, currency"
        ))
        .bind(user_id)
        .bind(month_starts_at)
        .bind(now)
        .fetch_all(&mut *self.read().await?)
        .await?;
        amount_rows(rows, "total")
    }

    /// The currencies the shopper has paid each shop in (authorized or captured payments).
    pub async fn shop_currencies(&self, user_id: &str) -> Result<Vec<ShopAmount>> {
        let rows = sqlx::query(
            "SELECT client_id, currency, CAST(COUNT(*) AS BIGINT) AS payments FROM payments
             WHERE user_id = $1 AND status IN ('authorized', 'captured')
             GROUP BY client_id, currency ORDER BY client_id, currency",
        )
        .bind(user_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        amount_rows(rows, "payments")
    }

    /// The shopper's monthly caps, per shop and currency.
    pub async fn shop_caps(&self, user_id: &str) -> Result<Vec<ShopAmount>> {
        let rows = sqlx::query(
            "SELECT client_id, currency, cap_minor FROM shop_caps WHERE user_id = $1
             ORDER BY client_id, currency",
        )
        .bind(user_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        amount_rows(rows, "cap_minor")
    }

    /// Sets (or, with `None`, removes) the shopper's monthly cap at a shop in `currency`.
    pub async fn set_shop_cap(
        &self,
        user_id: &str,
        client_id: &str,
        currency: &str,
        cap: Option<i64>,
        now: i64,
    ) -> Result<()> {
        let mut conn = self.write().await?;
        match cap {
            Some(cap) => sqlx::query(
                "INSERT INTO shop_caps (user_id, client_id, currency, cap_minor, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (user_id, client_id, currency) DO UPDATE SET cap_minor = $4, updated_at = $5",
            )
            .bind(user_id)
            .bind(client_id)
            .bind(currency)
            .bind(cap)
            .bind(now),
            None => sqlx::query(
                "DELETE FROM shop_caps WHERE user_id = $1 AND client_id = $2 AND currency = $3",
            )
            .bind(user_id)
            .bind(client_id)
            .bind(currency),
        }
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Blocks a shop for the shopper, in one transaction with revoking the shop's grants of
    /// this shopper that could still be redeemed and expiring its codes not yet exchanged.
    /// Gives the number of grants revoked.
    pub async fn block_shop(
        &self,
        user_id: &str,
        client_id: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<u64> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO connected_shops (user_id, client_id, blocked_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, client_id) DO UPDATE SET blocked_at = $3",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let revoked = sqlx::query(
            "UPDATE grants SET revoked_at = $3
             WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL
               AND consumed_at IS NULL AND expires_at > $3",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE auth_codes SET expires_at = $3
             WHERE user_id = $1 AND client_id = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        super::audit::append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(revoked.rows_affected())
    }

    /// Lifts the shopper's block of a shop (grants revoked by it stay revoked); audited only
    /// when there was a block to lift.
    pub async fn unblock_shop(
        &self,
        user_id: &str,
        client_id: &str,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let lifted = sqlx::query(
            "UPDATE connected_shops SET blocked_at = NULL
             WHERE user_id = $1 AND client_id = $2 AND blocked_at IS NOT NULL",
        )
        .bind(user_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        if lifted.rows_affected() > 0 {
            super::audit::append(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn counted_at(
    conn: &mut (dyn SqlConn + 'static),
    user_id: &str,
    client_id: &str,
    currency: &str,
    month_starts_at: i64,
    now: i64,
) -> Result<i64> {
    let row = sqlx::query(&format!(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS total
         FROM ({COUNTED}) counted WHERE client_id = $4 AND currency = $5"
    ))
    .bind(user_id)
    .bind(month_starts_at)
    .bind(now)
    .bind(client_id)
    .bind(currency)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("total")?)
}

/// Counts an approval at its shop in `tx`: refuses it when the shopper blocked the shop, or
/// when it would take the month's counted total past the shopper's cap; otherwise records it.
///
/// The shopper's row for the shop is written first: on PostgreSQL its row lock makes a
/// concurrent approval at the same shop wait until this one commits, and the total, read by a
/// later statement, then includes it; SQLite runs one writer at a time. On a refusal the caller
/// rolls `tx` back.
pub(crate) async fn count_approval(
    tx: &mut Tx,
    consent_id: &str,
    c: &ShopCounting,
    now: i64,
) -> Result<Option<ShopCountRefusal>> {
    // The cap is read in the same statement, after the row is held.
    let row = sqlx::query(
        "INSERT INTO connected_shops (user_id, client_id) VALUES ($1, $2)
         ON CONFLICT (user_id, client_id) DO UPDATE SET blocked_at = connected_shops.blocked_at
         RETURNING blocked_at,
                   (SELECT cap_minor FROM shop_caps k
                    WHERE k.user_id = $1 AND k.client_id = $2 AND k.currency = $3) AS cap_minor",
    )
    .bind(&c.user_id)
    .bind(&c.client_id)
    .bind(c.currency)
    .fetch_one(&mut **tx)
    .await?;
    if row.try_get::<Option<i64>, _>("blocked_at")?.is_some() {
        return Ok(Some(ShopCountRefusal::Blocked));
    }
    if let Some(cap) = row.try_get::<Option<i64>, _>("cap_minor")? {
        let counted = counted_at(
            &mut **tx,
            &c.user_id,
            &c.client_id,
            c.currency,
            c.month_starts_at,
            now,
        )
        .await?;
        // Compared as `counted > cap - amount`: no sum can overflow.
        if counted > cap - c.amount {
            return Ok(Some(ShopCountRefusal::Cap { cap, counted }));
        }
    }
    sqlx::query(
        "INSERT INTO shop_approvals (consent_id, user_id, client_id, currency, amount_minor, approved_at, counts_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(consent_id)
    .bind(&c.user_id)
    .bind(&c.client_id)
    .bind(c.currency)
    .bind(c.amount)
    .bind(now)
    .bind(c.counts_until)
    .execute(&mut **tx)
    .await?;
    Ok(None)
}
