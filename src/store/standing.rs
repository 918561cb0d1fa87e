//! A shopper's standing at one shop, for a payment in one currency, in one statement: their
//! own settings for the shop (a block, a monthly cap and what counts toward this month there),
//! the issuer's risk limits of the currency with the shopper's counters of the current UTC day
//! and hour, and (when asked) their points balance. The store only reads the rows; the shops'
//! and the limits' rules decide what they refuse.

use sqlx::Row;

use super::error::Result;
use super::risk::{Counted, StoredLimits};
use super::shops::COUNTED;
use super::Store;
use crate::points::ledger::Account;

/// Whom, where and when the standing is read for.
#[derive(Clone, Copy, Debug)]
pub struct StandingLookup<'a> {
    pub user_id: &'a str,
    /// The shop: the merchant's client id.
    pub client_id: &'a str,
    /// The payment's currency.
    pub currency: &'a str,
    /// The start of the UTC month a shop's counted total covers.
    pub month_starts_at: i64,
    /// The starts of the UTC day and hour whose risk counters matter.
    pub day_starts_at: i64,
    pub hour_starts_at: i64,
    pub now: i64,
    /// Whether to read the shopper's points balance too.
    pub points: bool,
}

/// The shopper's own settings at the shop, in the payment's currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShopStanding {
    pub blocked: bool,
    pub cap: Option<i64>,
    /// What counts toward this month at the shop in the currency; read only when a cap is set
    /// (else zero).
    pub counted: i64,
}

/// The risk limits of the payment's currency and the shopper's counters; the counters are
/// read only when a daily total or an hourly count is set (else zero).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RiskStanding {
    pub limits: StoredLimits,
    pub counted: Counted,
}

/// What [`Store::shopper_standing`] read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Standing {
    pub shop: ShopStanding,
    pub risk: RiskStanding,
    /// The shopper's available points, when asked for.
    pub points_available: Option<i64>,
}

impl Store {
    /// The shopper's standing at a shop for a payment in one currency, in one statement (see
    /// the module's documentation). The shop's month is counted as an approval's transaction
    /// counts it within the cap; the risk counters are those that transaction moves.
    pub async fn shopper_standing(&self, s: StandingLookup<'_>) -> Result<Standing> {
        // `$1` the shopper, `$2` the month's start and `$3` now, as `COUNTED` takes them.
        let points = match s.points {
            true => "CAST(COALESCE((SELECT b.balance FROM points_balances b WHERE b.account = $8), 0) AS BIGINT)",
            false => "CAST(NULL AS BIGINT)",
        };
        let query = format!(
            "SELECT s.blocked_at, s.cap_minor,
                    CAST(CASE WHEN s.cap_minor IS NULL THEN 0
                         ELSE (SELECT COALESCE(SUM(counted.amount_minor), 0) FROM ({COUNTED}) counted
                                WHERE counted.client_id = $4 AND counted.currency = $5)
                         END AS BIGINT) AS shop_counted,
                    l.per_payment, l.per_payment_unverified, l.daily_total, l.hourly_count,
                    CAST(CASE WHEN l.daily_total IS NULL AND l.hourly_count IS NULL THEN 0
                         ELSE COALESCE((SELECT d.amount_minor FROM risk_counters d
                                         WHERE d.user_id = $1 AND d.currency = $5
                                           AND d.span = 'day' AND d.starts_at = $6), 0)
                         END AS BIGINT) AS day_total,
                    CAST(CASE WHEN l.daily_total IS NULL AND l.hourly_count IS NULL THEN 0
                         ELSE COALESCE((SELECT h.payments FROM risk_counters h
                                         WHERE h.user_id = $1 AND h.currency = $5
                                           AND h.span = 'hour' AND h.starts_at = $7), 0)
                         END AS BIGINT) AS hour_count,
                    {points} AS points_available
             FROM (SELECT (SELECT k.blocked_at FROM connected_shops k
                            WHERE k.user_id = $1 AND k.client_id = $4) AS blocked_at,
                          (SELECT c.cap_minor FROM shop_caps c
                            WHERE c.user_id = $1 AND c.client_id = $4 AND c.currency = $5) AS cap_minor
                  ) s
             LEFT JOIN risk_limits l ON l.currency = $5"
        );
        let mut q = sqlx::query(&query)
            .bind(s.user_id)
            .bind(s.month_starts_at)
            .bind(s.now)
            .bind(s.client_id)
            .bind(s.currency)
            .bind(s.day_starts_at)
            .bind(s.hour_starts_at);
        if s.points {
            q = q.bind(Account::Available(s.user_id.to_string()).key());
        }
        let row = q.fetch_one(&mut *self.read().await?).await?;
        Ok(Standing {
            shop: ShopStanding {
                blocked: row.try_get::<Option<i64>, _>("blocked_at")?.is_some(),
                cap: row.try_get("cap_minor")?,
                counted: row.try_get("shop_counted")?,
            },
            risk: RiskStanding {
                limits: StoredLimits {
                    per_payment: row.try_get("per_payment")?,
                    per_payment_unverified: row.try_get("per_payment_unverified")?,
                    daily_total: row.try_get("daily_total")?,
                    hourly_count: row.try_get("hourly_count")?,
                },
                counted: Counted {
                    day_total: row.try_get("day_total")?,
                    hour_count: row.try_get("hour_count")?,
                },
            },
            points_available: row.try_get("points_available")?,
        })
    }
}
