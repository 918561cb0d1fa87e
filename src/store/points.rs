//! The points ledger's SQL. Functions that move points take the caller's transaction, so a
//! posting commits or rolls back together with the payment change that causes it.

use sqlx::Row;
use uuid::Uuid;

use super::error::{Error, Refusal, Result};
use super::{Store, Tx};

pub const ISSUER: &str = "issuer:liability";

pub fn available(user_id: &str) -> String {
    format!("shopper:{user_id}:available")
}

pub fn held(user_id: &str) -> String {
    format!("shopper:{user_id}:held")
}

pub fn campaign(client_id: &str) -> String {
    format!("merchant:{client_id}:campaign")
}

fn insufficient() -> Error {
    Error::Refused(Refusal::InsufficientPoints)
}

fn is_check_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_check_violation())
}

/// Writes one balanced posting: its legs sum to zero, and no shopper balance may go negative
/// (the database refuses it, and the whole transaction with it).
pub async fn post(
    tx: &mut Tx,
    kind: &str,
    payment_id: Option<&str>,
    legs: &[(String, i64)],
    now: i64,
) -> Result<()> {
    if legs.iter().map(|(_, a)| a).sum::<i64>() != 0 {
        return Err(Error::Corrupt(format!("unbalanced {kind} posting")));
    }
    let posting = Uuid::new_v4().to_string();
    for (account, amount) in legs.iter().filter(|(_, a)| *a != 0) {
        sqlx::query(
            "INSERT INTO points_entries (id, posting_id, account, amount, kind, payment_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(&posting)
        .bind(account)
        .bind(amount)
        .bind(kind)
        .bind(payment_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        // Update first: SQLite checks constraints on an upsert's proposed row before it sees the
        // conflict, so a debit must not go through INSERT … ON CONFLICT.
        let updated =
            sqlx::query("UPDATE points_balances SET balance = balance + $1 WHERE account = $2")
                .bind(amount)
                .bind(account)
                .execute(&mut **tx)
                .await;
        let updated = match updated {
            Ok(done) if done.rows_affected() == 0 => sqlx::query(
                "INSERT INTO points_balances (account, balance) VALUES ($1, $2)
                 ON CONFLICT (account) DO UPDATE SET balance = points_balances.balance + excluded.balance",
            )
            .bind(account)
            .bind(amount)
            .execute(&mut **tx)
            .await
            .map(|_| ()),
            other => other.map(|_| ()),
        };
        match updated {
            Err(e) if is_check_violation(&e) => return Err(insufficient()),
            other => other?,
        };
    }
    Ok(())
}

async fn balance_in(tx: &mut Tx, account: &str) -> Result<i64> {
    let row = sqlx::query("SELECT balance FROM points_balances WHERE account = $1")
        .bind(account)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(r) => r.try_get("balance")?,
        None => 0,
    })
}

/// Takes up to `points` from the shopper's lots, soonest-expiring first.
async fn take_from_lots(tx: &mut Tx, user_id: &str, points: i64) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT id, remaining FROM points_lots WHERE user_id = $1 AND remaining > 0 ORDER BY expires_at, created_at, id")
        .bind(user_id)
        .fetch_all(&mut **tx)
        .await?;
    let mut left = points;
    let mut taken = Vec::new();
    for row in rows {
        if left == 0 {
            break;
        }
        let id: String = row.try_get("id")?;
        let take = left.min(row.try_get::<i64, _>("remaining")?);
        sqlx::query("UPDATE points_lots SET remaining = remaining - $1 WHERE id = $2")
            .bind(take)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
        taken.push((id, take));
        left -= take;
    }
    if left > 0 {
        return Err(insufficient());
    }
    Ok(taken)
}

async fn add_lot(tx: &mut Tx, user_id: &str, points: i64, expires_at: i64, now: i64) -> Result<()> {
    if points > 0 {
        sqlx::query("INSERT INTO points_lots (id, user_id, remaining, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(Uuid::new_v4().to_string())
            .bind(user_id)
            .bind(points)
            .bind(expires_at)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Holds points for a consent being approved.
pub async fn hold(
    tx: &mut Tx,
    consent_id: &str,
    user_id: &str,
    points: i64,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    if points <= 0 {
        return Ok(());
    }
    post(
        tx,
        "hold",
        None,
        &[(available(user_id), -points), (held(user_id), points)],
        now,
    )
    .await?;
    for (lot, taken) in take_from_lots(tx, user_id, points).await? {
        sqlx::query(
            "INSERT INTO points_hold_lots (consent_id, lot_id, points) VALUES ($1, $2, $3)",
        )
        .bind(consent_id)
        .bind(lot)
        .bind(taken)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("INSERT INTO points_holds (consent_id, user_id, points, status, expires_at) VALUES ($1, $2, $3, 'held', $4)")
        .bind(consent_id)
        .bind(user_id)
        .bind(points)
        .bind(expires_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves the hold of the grant's consent from `from` to `to`; returns its points if it moved.
async fn move_hold(
    tx: &mut Tx,
    grant_jti: &str,
    from: &str,
    to: &str,
) -> Result<Option<(String, String, i64)>> {
    let row = sqlx::query(
        "UPDATE points_holds SET status = $1
         WHERE consent_id = (SELECT consent_id FROM grants WHERE jti = $2) AND status = $3
         RETURNING consent_id, user_id, points",
    )
    .bind(to)
    .bind(grant_jti)
    .bind(from)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get("consent_id")?,
            r.try_get("user_id")?,
            r.try_get("points")?,
        ))
    })
    .transpose()
}

/// A payment now uses the grant's held points (so they no longer lapse with the grant).
pub async fn hold_in_payment(tx: &mut Tx, grant_jti: &str) -> Result<()> {
    move_hold(tx, grant_jti, "held", "in_payment")
        .await
        .map(|_| ())
}

/// The payment did not happen after all: the grant's points are held again.
pub async fn hold_back(tx: &mut Tx, grant_jti: &str) -> Result<()> {
    move_hold(tx, grant_jti, "in_payment", "held")
        .await
        .map(|_| ())
}

async fn put_back(
    tx: &mut Tx,
    consent_id: &str,
    user_id: &str,
    points: i64,
    now: i64,
) -> Result<()> {
    post(
        tx,
        "release",
        None,
        &[(held(user_id), -points), (available(user_id), points)],
        now,
    )
    .await?;
    let lots = sqlx::query("SELECT lot_id, points FROM points_hold_lots WHERE consent_id = $1")
        .bind(consent_id)
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

/// Releases the points a payment held (void, decline).
pub async fn release_for_payment(tx: &mut Tx, grant_jti: &str, now: i64) -> Result<()> {
    if let Some((consent, user, points)) =
        move_hold(tx, grant_jti, "in_payment", "released").await?
    {
        put_back(tx, &consent, &user, points, now).await?;
    }
    Ok(())
}

/// Spends the points a payment held, at capture.
pub async fn redeem_for_payment(
    tx: &mut Tx,
    grant_jti: &str,
    payment_id: &str,
    now: i64,
) -> Result<i64> {
    match move_hold(tx, grant_jti, "in_payment", "posted").await? {
        Some((_, user, points)) => {
            post(
                tx,
                "redeem",
                Some(payment_id),
                &[(held(&user), -points), (ISSUER.to_string(), points)],
                now,
            )
            .await?;
            Ok(points)
        }
        None => Ok(0),
    }
}

/// Credits earned points: the base from the issuer, the campaign's extra from the merchant.
#[allow(clippy::too_many_arguments)]
pub async fn earn(
    tx: &mut Tx,
    user_id: &str,
    client_id: &str,
    payment_id: &str,
    base: i64,
    extra: i64,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    let legs = [
        (ISSUER.to_string(), -base),
        (campaign(client_id), -extra),
        (available(user_id), base + extra),
    ];
    post(tx, "earn", Some(payment_id), &legs, now).await?;
    add_lot(tx, user_id, base + extra, expires_at, now).await
}

/// Takes back up to `points` earned points (as many as are still available); returns how many.
pub async fn reverse(
    tx: &mut Tx,
    user_id: &str,
    payment_id: &str,
    points: i64,
    now: i64,
) -> Result<i64> {
    let take = points
        .min(balance_in(tx, &available(user_id)).await?)
        .max(0);
    if take > 0 {
        take_from_lots(tx, user_id, take).await?;
        post(
            tx,
            "reverse",
            Some(payment_id),
            &[(available(user_id), -take), (ISSUER.to_string(), take)],
            now,
        )
        .await?;
    }
    Ok(take)
}

/// Gives back redeemed points, as a fresh lot.
pub async fn restore(
    tx: &mut Tx,
    user_id: &str,
    payment_id: &str,
    points: i64,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    if points > 0 {
        post(
            tx,
            "restore",
            Some(payment_id),
            &[(ISSUER.to_string(), -points), (available(user_id), points)],
            now,
        )
        .await?;
        add_lot(tx, user_id, points, expires_at, now).await?;
    }
    Ok(())
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
    pub kind: String,
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
        .bind(available(user_id))
        .bind(held(user_id))
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
        .bind(available(user_id))
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryEntry {
                    kind: r.try_get("kind")?,
                    amount: r.try_get("amount")?,
                    payment_id: r.try_get("payment_id")?,
                    merchant: r.try_get("merchant")?,
                    order_reference: r.try_get("order_reference")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Expires what is left of lots past their date, oldest first. Returns the points expired.
    pub async fn expire_points(&self, now: i64) -> Result<i64> {
        let mut tx = self.begin().await?;
        let lots = sqlx::query("SELECT id, user_id, remaining FROM points_lots WHERE expires_at <= $1 AND remaining > 0 ORDER BY expires_at, id")
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        let mut total = 0;
        for lot in lots {
            let (id, user, remaining): (String, String, i64) = (
                lot.try_get("id")?,
                lot.try_get("user_id")?,
                lot.try_get("remaining")?,
            );
            sqlx::query("UPDATE points_lots SET remaining = 0 WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            post(
                &mut tx,
                "expire",
                None,
                &[
                    (available(&user), -remaining),
                    (ISSUER.to_string(), remaining),
                ],
                now,
            )
            .await?;
            total += remaining;
        }
        tx.commit().await?;
        Ok(total)
    }

    /// Releases holds whose grant lapsed without a payment.
    pub async fn release_lapsed_holds(&self, now: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        let lapsed = sqlx::query(
            "UPDATE points_holds SET status = 'released' WHERE status = 'held' AND expires_at <= $1 RETURNING consent_id, user_id, points",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for h in &lapsed {
            put_back(
                &mut tx,
                &h.try_get::<String, _>("consent_id")?,
                &h.try_get::<String, _>("user_id")?,
                h.try_get("points")?,
                now,
            )
            .await?;
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

    pub async fn merchant_points_multiplier(&self, client_id: &str) -> Result<i64> {
        let row =
            sqlx::query("SELECT points_multiplier_percent FROM merchants WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        Ok(match row {
            Some(r) => r.try_get("points_multiplier_percent")?,
            None => 100,
        })
    }

    pub async fn set_merchant_points_multiplier(
        &self,
        client_id: &str,
        percent: i64,
    ) -> Result<()> {
        let updated =
            sqlx::query("UPDATE merchants SET points_multiplier_percent = $1 WHERE client_id = $2")
                .bind(percent)
                .bind(client_id)
                .execute(&mut *self.write().await?)
                .await?;
        if updated.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        Ok(())
    }
}
