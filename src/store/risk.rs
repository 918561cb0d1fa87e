//! Risk limits and the per-shopper counters: the limits per currency (read, and changed with
//! their audit entry in one transaction), the counted totals of a shopper's windows (which a
//! consent step reads with the limits as part of the shopper's standing, see `standing`), the
//! conditional counting an approval does in its own transaction, and the re-check a
//! redemption makes in the transaction that consumes its grant.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::{append, AuditRecord};
use super::error::Result;
use super::{Backend, Store, Tx};

/// One currency's limits as stored: minor units and counts, `None` for no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoredLimits {
    pub per_payment: Option<i64>,
    pub per_payment_unverified: Option<i64>,
    pub daily_total: Option<i64>,
    pub hourly_count: Option<i64>,
}

/// A shopper's counted approvals in one currency: the UTC day's total and the UTC hour's count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    pub day_total: i64,
    pub hour_count: i64,
}

/// An approval to count: its shopper, currency and amount, the windows it falls in, and the
/// limits it must stay within.
#[derive(Clone, Debug)]
pub struct Counting {
    pub user_id: String,
    pub currency: &'static str,
    pub amount: i64,
    pub day_starts_at: i64,
    pub hour_starts_at: i64,
    pub daily_total: Option<i64>,
    pub hourly_count: Option<i64>,
}

/// Which counter refused an approval; for the day, with what it had counted (in the
/// approval's transaction, so the shopper is told the total that refused them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountRefusal {
    DailyTotal { counted: i64 },
    HourlyCount,
}

/// The limits of a payment's currency and the shopper's counters of the current UTC day and
/// hour, as the transaction that redeems its grant read them. The counters are read only when
/// a daily total or an hourly count is set (else they are zero here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitsSeen {
    pub limits: StoredLimits,
    pub counted: Counted,
}

/// The domain's re-check of a payment whose grant is redeemed, which the store applies to what
/// the redemption's transaction reads (as it applies the points ledger's rules, not knowing
/// them).
pub trait Recheck: Send + Sync {
    /// The starts of the shopper's UTC day and hour whose counters matter.
    fn windows(&self) -> (i64, i64);
    /// Whether the limits refuse the payment, given what the transaction read.
    fn refuses(&self, seen: &LimitsSeen) -> bool;
}

fn limits_row(r: &AnyRow) -> Result<StoredLimits> {
    Ok(StoredLimits {
        per_payment: r.try_get("per_payment")?,
        per_payment_unverified: r.try_get("per_payment_unverified")?,
        daily_total: r.try_get("daily_total")?,
        hourly_count: r.try_get("hourly_count")?,
    })
}

impl Store {
    /// The limits of `currency` (none when its row is missing).
    pub async fn risk_limits(&self, currency: &str) -> Result<StoredLimits> {
        let row = sqlx::query(
            "SELECT per_payment, per_payment_unverified, daily_total, hourly_count
             FROM risk_limits WHERE currency = $1",
        )
        .bind(currency)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.map(|r| limits_row(&r))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Sets the limits of `currency` and appends `audit`, in one transaction.
    pub async fn set_risk_limits(
        &self,
        currency: &str,
        limits: &StoredLimits,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<()> {
        self.write_risk_limits(currency, limits, now, audit, "")
            .await
            .map(|_| ())
    }

    /// As [`Store::set_risk_limits`], only while the limits of `currency` were never set
    /// (`updated_at = 0`, as the migration seeds them); `false`, with nothing written, once
    /// they were. Of several nodes starting together, one sets them.
    pub async fn set_risk_limits_if_never_set(
        &self,
        currency: &str,
        limits: &StoredLimits,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<bool> {
        self.write_risk_limits(
            currency,
            limits,
            now,
            audit,
            "WHERE risk_limits.updated_at = 0",
        )
        .await
    }

    async fn write_risk_limits(
        &self,
        currency: &str,
        limits: &StoredLimits,
        now: i64,
        audit: &AuditRecord,
        only: &str,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let written = sqlx::query(&format!(
            "INSERT INTO risk_limits (currency, per_payment, per_payment_unverified, daily_total, hourly_count, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (currency) DO UPDATE SET per_payment = $2, per_payment_unverified = $3,
                 daily_total = $4, hourly_count = $5, updated_at = $6 {only}"
        ))
        .bind(currency)
        .bind(limits.per_payment)
        .bind(limits.per_payment_unverified)
        .bind(limits.daily_total)
        .bind(limits.hourly_count)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if written.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The redemption's re-check, read by the statement that consumes the grant, in its
/// transaction (a `WITH` before that statement, and columns of its `RETURNING`): the limits of
/// the payment's currency and the shopper's counters of the current UTC day and hour. On
/// PostgreSQL the limits' row is read `FOR SHARE`, so a change of the limits waits for this
/// transaction and one committed meanwhile is the one read: every redemption is checked
/// against the limits either before or after a change, never in between. (SQLite's transaction
/// holds the one write lock already.)
pub(crate) struct RecheckRead {
    /// The `WITH` clause that reads the limits' row, put before the consuming statement.
    pub with: String,
    /// The columns the consuming statement returns, read by [`RecheckRead::seen`].
    pub columns: String,
}

impl RecheckRead {
    /// The clauses for a statement whose parameters `$first` to `$first + 3` are bound, in
    /// order, to the currency, the shopper, and the starts of the day and the hour
    /// ([`Recheck::windows`]).
    pub fn new(backend: Backend, first: usize) -> Self {
        let lock = match backend {
            Backend::Postgres => "FOR SHARE",
            Backend::Sqlite => "",
        };
        let (currency, user, day, hour) = (first, first + 1, first + 2, first + 3);
        let with = format!(
            "WITH recheck_limits AS (SELECT per_payment, per_payment_unverified, daily_total, hourly_count
             FROM risk_limits WHERE currency = ${currency} {lock})"
        );
        let limit = |column: &str| format!("(SELECT {column} FROM recheck_limits) AS {column}");
        let counter = |column: &str, span: &str, starts: usize, name: &str| {
            format!(
                "(SELECT {column} FROM risk_counters WHERE user_id = ${user} AND currency = ${currency}
                  AND span = '{span}' AND starts_at = ${starts}) AS {name}"
            )
        };
        let columns = [
            limit("per_payment"),
            limit("per_payment_unverified"),
            limit("daily_total"),
            limit("hourly_count"),
            counter("amount_minor", "day", day, "counted_day_total"),
            counter("payments", "hour", hour, "counted_hour_count"),
        ]
        .join(", ");
        Self { with, columns }
    }

    /// What the consuming statement's row read, when `check` refuses the payment. The counters
    /// count only when the limits set a daily total or an hourly count (else they are zero, as
    /// [`LimitsSeen`] says).
    pub fn seen(row: &AnyRow, check: &dyn Recheck) -> Result<Option<LimitsSeen>> {
        let limits = limits_row(row)?;
        let counted = if limits.daily_total.is_some() || limits.hourly_count.is_some() {
            Counted {
                day_total: row
                    .try_get::<Option<i64>, _>("counted_day_total")?
                    .unwrap_or(0),
                hour_count: row
                    .try_get::<Option<i64>, _>("counted_hour_count")?
                    .unwrap_or(0),
            }
        } else {
            Counted::default()
        };
        let seen = LimitsSeen { limits, counted };
        Ok(check.refuses(&seen).then_some(seen))
    }
}

/// Counts an approval in `tx`: adds its amount to the shopper's day and one payment to their
/// hour, each only while the result stays within its limit, one statement per window: a
/// counter that does not exist yet is created with the approval in it (if the approval alone
/// is within the limit), an existing one is added to (if the sum is). The conditional update
/// holds the counter's row (a row lock on PostgreSQL, which re-reads the row a concurrent
/// approval committed; the write lock on SQLite), so concurrent approvals are counted one after
/// another. On a refusal the caller rolls `tx` back.
pub(crate) async fn count(tx: &mut Tx, c: &Counting) -> Result<Option<CountRefusal>> {
    // The day's cap is compared as `total <= cap - amount`: no sum can overflow.
    let windows = [
        (
            "day",
            c.day_starts_at,
            c.daily_total,
            "0 <= $6 - $5",
            "risk_counters.amount_minor <= $6 - $5",
        ),
        (
            "hour",
            c.hour_starts_at,
            c.hourly_count,
            "0 <= $6 - 1",
            "risk_counters.payments <= $6 - 1",
        ),
    ];
    for (span, starts_at, cap, alone_within, within) in windows {
        // `WHERE` in the `SELECT` also keeps SQLite from reading `ON` as a join's.
        let counted = sqlx::query(&format!(
            "INSERT INTO risk_counters (user_id, currency, span, starts_at, amount_minor, payments)
             SELECT $1, $2, $3, $4, $5, 1 WHERE {alone_within}
             ON CONFLICT (user_id, currency, span, starts_at) DO UPDATE
             SET amount_minor = risk_counters.amount_minor + $5, payments = risk_counters.payments + 1
             WHERE {within}"
        ))
        .bind(&c.user_id)
        .bind(c.currency)
        .bind(span)
        .bind(starts_at)
        .bind(c.amount)
        .bind(cap.unwrap_or(i64::MAX))
        .execute(&mut **tx)
        .await?;
        if counted.rows_affected() == 1 {
            continue;
        }
        if span == "hour" {
            return Ok(Some(CountRefusal::HourlyCount));
        }
        // No counter yet: nothing was counted today.
        let counted = sqlx::query(
            "SELECT amount_minor FROM risk_counters
             WHERE user_id = $1 AND currency = $2 AND span = 'day' AND starts_at = $3",
        )
        .bind(&c.user_id)
        .bind(c.currency)
        .bind(starts_at)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get("amount_minor"))
        .transpose()?
        .unwrap_or(0);
        return Ok(Some(CountRefusal::DailyTotal { counted }));
    }
    Ok(None)
}
