//! The points ledger's SQL. Functions that move points take the caller's transaction, so a
//! posting commits or rolls back together with the payment change that causes it. What moves
//! is decided by the `Ledger` rules the caller passes; this module only reads rows and applies
//! (a posting's writes are in `posting`).

mod posting;

use sqlx::Row;
use uuid::Uuid;

use super::error::{Error, Result};
use super::{Store, Tx};
use crate::points::ledger::{
    Account, Credit, Debit, EntryKind, ExpiringLot, Funder, HeldPoints, HoldMove, HoldState,
    Ledger, Lot, PaymentLot, Reversal,
};
pub use posting::post;

/// The shopper's lots with points left, for the rules to choose from.
async fn lots_of(tx: &mut Tx, user_id: &str) -> Result<Vec<Lot>> {
    tx.lock_points().await?;
    let rows = sqlx::query(
        "SELECT id, remaining, expires_at, created_at FROM points_lots WHERE user_id = $1 AND remaining > 0",
    )
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Lot {
                id: r.try_get("id")?,
                remaining: r.try_get("remaining")?,
                expires_at: r.try_get("expires_at")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Applies a debit: its posting, and the points it takes from each lot.
async fn apply_debit(tx: &mut Tx, debit: &Debit, now: i64) -> Result<()> {
    post(tx, &debit.posting, now).await?;
    for take in &debit.takes {
        sqlx::query("UPDATE points_lots SET remaining = remaining - $1 WHERE id = $2")
            .bind(take.points)
            .bind(&take.lot_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Applies a credit: its posting, the fresh lots that carry the points, and under rolling
/// expiry the later date for every other lot of the shopper's.
pub async fn apply_credit(tx: &mut Tx, credit: &Credit, now: i64) -> Result<()> {
    post(tx, &credit.posting, now).await?;
    for lot in credit.lots.iter().filter(|l| l.points > 0) {
        if let Some(date) = credit.extend_to {
            sqlx::query(
                "UPDATE points_lots SET expires_at = $1 WHERE user_id = $2 AND remaining > 0 AND expires_at < $1",
            )
            .bind(date)
            .bind(&lot.user_id)
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO points_lots (id, user_id, remaining, points, expires_at, created_at, funder, payment_id, source)
             VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(&lot.user_id)
        .bind(lot.points)
        .bind(lot.expires_at)
        .bind(now)
        .bind(lot.funder.key())
        .bind(&lot.payment_id)
        .bind(lot.source.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Holds points for a consent being approved, taking them from the lots `ledger` chooses.
pub async fn hold(
    tx: &mut Tx,
    ledger: &dyn Ledger,
    consent_id: &str,
    user_id: &str,
    points: i64,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    if points <= 0 {
        return Ok(());
    }
    let lots = lots_of(tx, user_id).await?;
    let debit = ledger.hold(user_id, points, lots)?;
    apply_debit(tx, &debit, now).await?;
    for take in &debit.takes {
        sqlx::query(
            "INSERT INTO points_hold_lots (consent_id, lot_id, points) VALUES ($1, $2, $3)",
        )
        .bind(consent_id)
        .bind(&take.lot_id)
        .bind(take.points)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("INSERT INTO points_holds (consent_id, user_id, points, status, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(consent_id)
        .bind(user_id)
        .bind(points)
        .bind(HoldState::Held.as_str())
        .bind(expires_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves the hold of the grant's consent as `change` says; gives the hold if it moved.
pub async fn move_hold(
    tx: &mut Tx,
    grant_jti: &str,
    change: HoldMove,
) -> Result<Option<HeldPoints>> {
    let row = sqlx::query(
        "UPDATE points_holds SET status = $1
         WHERE consent_id = (SELECT consent_id FROM grants WHERE jti = $2) AND status = $3
         RETURNING consent_id, user_id, points",
    )
    .bind(change.to.as_str())
    .bind(grant_jti)
    .bind(change.from.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| {
        Ok(HeldPoints {
            consent_id: r.try_get("consent_id")?,
            user_id: r.try_get("user_id")?,
            points: r.try_get("points")?,
        })
    })
    .transpose()
}

/// Gives a released hold's points back: the posting `ledger` decides, and each lot the hold
/// took from gets its points back.
async fn put_back(tx: &mut Tx, ledger: &dyn Ledger, hold: &HeldPoints, now: i64) -> Result<()> {
    post(tx, &ledger.release(hold), now).await?;
    let lots = sqlx::query("SELECT lot_id, points FROM points_hold_lots WHERE consent_id = $1")
        .bind(&hold.consent_id)
        .fetch_all(&mut **tx)
        .await?;
    for lot in lots {
        sqlx::query("UPDATE points_lots SET remaining = remaining + $1 WHERE id = $2")
            .bind(lot.try_get::<i64, _>("points")?)
            .bind(lot.try_get::<String, _>("lot_id")?)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Releases the points a payment held (void, decline), when `change` moves its hold.
pub async fn release_for_payment(
    tx: &mut Tx,
    ledger: &dyn Ledger,
    grant_jti: &str,
    change: HoldMove,
    now: i64,
) -> Result<()> {
    if let Some(hold) = move_hold(tx, grant_jti, change).await? {
        put_back(tx, ledger, &hold, now).await?;
    }
    Ok(())
}

/// Spends the points a payment held, at capture, when `change` moves its hold.
pub async fn redeem_for_payment(
    tx: &mut Tx,
    ledger: &dyn Ledger,
    grant_jti: &str,
    payment_id: &str,
    change: HoldMove,
    now: i64,
) -> Result<()> {
    if let Some(hold) = move_hold(tx, grant_jti, change).await? {
        post(tx, &ledger.redeem(&hold, payment_id), now).await?;
    }
    Ok(())
}

/// Takes back what a refund bringing the payment's refunded total to `refunded_minor` of
/// `captured_minor` reverses of the points earned on it, lot by lot as `ledger` decides. Gives
/// the reversal: the refund's share, and the part of it the shopper had already spent.
pub async fn reverse(
    tx: &mut Tx,
    ledger: &dyn Ledger,
    user_id: &str,
    payment_id: &str,
    refunded_minor: i64,
    captured_minor: i64,
    now: i64,
) -> Result<Reversal> {
    tx.lock_points().await?;
    let rows = sqlx::query(
        "SELECT id, funder, points, remaining, reversed, unreversed FROM points_lots
         WHERE payment_id = $1 AND source = 'earn' ORDER BY id",
    )
    .bind(payment_id)
    .fetch_all(&mut **tx)
    .await?;
    let lots = rows
        .iter()
        .map(|r| {
            let funder: String = r.try_get("funder")?;
            Ok(PaymentLot {
                id: r.try_get("id")?,
                funder: Funder::parse(&funder)
                    .ok_or_else(|| Error::Corrupt(format!("unknown lot funder {funder:?}")))?,
                points: r.try_get("points")?,
                remaining: r.try_get("remaining")?,
                reversed: r.try_get("reversed")?,
                unreversed: r.try_get("unreversed")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let reversal = ledger.reverse(user_id, payment_id, &lots, refunded_minor, captured_minor);
    if let Some(posting) = &reversal.posting {
        post(tx, posting, now).await?;
    }
    for part in &reversal.lots {
        sqlx::query(
            "UPDATE points_lots SET remaining = remaining - $1, reversed = reversed + $1,
                    unreversed = unreversed + $2 WHERE id = $3",
        )
        .bind(part.taken)
        .bind(part.unreversed)
        .bind(&part.lot_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(reversal)
}

/// A shopper's points at a glance.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PointsSummary {
    pub available: i64,
    pub held: i64,
    pub expiring_soon: i64,
}

/// One line of a shopper's points history.
#[derive(Debug)]
pub struct HistoryEntry {
    pub kind: EntryKind,
    pub amount: i64,
    pub payment_id: Option<String>,
    pub merchant: Option<String>,
    pub order_reference: Option<String>,
    pub created_at: i64,
}

impl Store {
    /// The shopper's available and held points and what expires by `soon`, in one statement.
    pub async fn points_summary(&self, user_id: &str, soon: i64) -> Result<PointsSummary> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE((SELECT balance FROM points_balances WHERE account = $1), 0) AS BIGINT) AS available,
                    CAST(COALESCE((SELECT balance FROM points_balances WHERE account = $2), 0) AS BIGINT) AS held,
                    CAST((SELECT COALESCE(SUM(remaining), 0) FROM points_lots WHERE user_id = $3 AND expires_at <= $4) AS BIGINT) AS expiring",
        )
        .bind(Account::Available(user_id.to_string()).key())
        .bind(Account::Held(user_id.to_string()).key())
        .bind(user_id)
        .bind(soon)
        .fetch_one(&mut *self.read().await?)
        .await?;
        Ok(PointsSummary {
            available: row.try_get("available")?,
            held: row.try_get("held")?,
            expiring_soon: row.try_get("expiring")?,
        })
    }

    pub async fn points_history(&self, user_id: &str, limit: i64) -> Result<Vec<HistoryEntry>> {
        let rows = sqlx::query(
            "SELECT e.kind, e.amount, e.payment_id, e.created_at, m.name AS merchant, p.order_reference
             FROM points_entries e
             LEFT JOIN payments p ON p.id = e.payment_id
             LEFT JOIN merchants m ON m.client_id = p.client_id
             WHERE e.account = $1 ORDER BY e.created_at DESC, e.id LIMIT $2",
        )
        .bind(Account::Available(user_id.to_string()).key())
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(HistoryEntry {
                    kind: EntryKind::parse(&kind).ok_or_else(|| {
                        Error::Corrupt(format!("unknown points entry kind {kind:?}"))
                    })?,
                    amount: r.try_get("amount")?,
                    payment_id: r.try_get("payment_id")?,
                    merchant: r.try_get("merchant")?,
                    order_reference: r.try_get("order_reference")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Expires what is left of lots past their date, oldest first, with the postings `ledger`
    /// decides. Returns the points expired.
    pub async fn expire_points(&self, ledger: &dyn Ledger, now: i64) -> Result<i64> {
        let mut tx = self.begin().await?;
        tx.lock_points().await?;
        let lots = sqlx::query("SELECT id, user_id, remaining, funder FROM points_lots WHERE expires_at <= $1 AND remaining > 0 ORDER BY expires_at, id")
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        let mut total = 0;
        for lot in lots {
            let funder: String = lot.try_get("funder")?;
            let lot = ExpiringLot {
                id: lot.try_get("id")?,
                user_id: lot.try_get("user_id")?,
                remaining: lot.try_get("remaining")?,
                funder: Funder::parse(&funder)
                    .ok_or_else(|| Error::Corrupt(format!("unknown lot funder {funder:?}")))?,
            };
            sqlx::query("UPDATE points_lots SET remaining = 0 WHERE id = $1")
                .bind(&lot.id)
                .execute(&mut *tx)
                .await?;
            post(&mut tx, &ledger.expire(&lot), now).await?;
            total += lot.remaining;
        }
        tx.commit().await?;
        Ok(total)
    }

    /// Releases holds whose grant lapsed without a payment (moved as `change` says, with the
    /// postings `ledger` decides).
    pub async fn release_lapsed_holds(
        &self,
        ledger: &dyn Ledger,
        change: HoldMove,
        now: i64,
    ) -> Result<u64> {
        let mut tx = self.begin().await?;
        tx.lock_points().await?;
        let lapsed = sqlx::query(
            "UPDATE points_holds SET status = $1 WHERE status = $2 AND expires_at <= $3 RETURNING consent_id, user_id, points",
        )
        .bind(change.to.as_str())
        .bind(change.from.as_str())
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for h in &lapsed {
            let hold = HeldPoints {
                consent_id: h.try_get("consent_id")?,
                user_id: h.try_get("user_id")?,
                points: h.try_get("points")?,
            };
            put_back(&mut tx, ledger, &hold, now).await?;
        }
        tx.commit().await?;
        Ok(lapsed.len() as u64)
    }

    /// Ledger health: the sum of all entries (0), whether every balance equals its entries,
    /// and whether each shopper's lots add up to their available balance.
    pub async fn ledger_check(&self) -> Result<(i64, bool, bool)> {
        let sum: i64 =
            sqlx::query("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS s FROM points_entries")
                .fetch_one(&mut *self.read().await?)
                .await?
                .try_get("s")?;
        let mismatched: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM points_balances b
             WHERE b.balance <> (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM points_entries e WHERE e.account = b.account)",
        )
        .fetch_one(&mut *self.read().await?)
        .await?
        .try_get("n")?;
        let lots_off: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM points_balances b
             WHERE b.account LIKE 'shopper:%:available'
               AND b.balance <> (SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) FROM points_lots l WHERE 'shopper:' || l.user_id || ':available' = b.account)",
        )
        .fetch_one(&mut *self.read().await?)
        .await?
        .try_get("n")?;
        Ok((sum, mismatched == 0, lots_off == 0))
    }
}
