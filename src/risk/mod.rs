//! Risk limits: the issuer's caps per currency (per payment, per payment to a merchant that is
//! not verified, a shopper's total per UTC day, a shopper's payments per UTC hour), checked
//! when a consent is approved (where approvals are counted) and again when a grant is redeemed.

mod limits;
mod refusal;

use crate::audit::{Action, Actor, Entry};
use crate::error::Result;
use crate::money::{Currency, Money};
use crate::store::risk::{CountRefusal, Counting, LimitsSeen, Recheck};
use crate::store::standing::RiskStanding;
use crate::store::Store;

use self::limits::parse_currency;
pub use self::limits::{parse_limits, Limits, LimitsChange, LimitsForm};
pub use self::refusal::LimitRefusal;

/// The currencies limits are set for, in the console's order.
pub const CURRENCIES: [Currency; 2] = [Currency::Jpy, Currency::Usd];

const DAY: i64 = 24 * 60 * 60;
const HOUR: i64 = 60 * 60;

/// The start of the UTC calendar day `now` falls in.
pub fn day_start(now: i64) -> i64 {
    now - now.rem_euclid(DAY)
}

/// The start of the UTC clock hour `now` falls in.
pub fn hour_start(now: i64) -> i64 {
    now - now.rem_euclid(HOUR)
}

/// One payment as the limits see it: its shopper, its amount, and whether its merchant is
/// verified.
#[derive(Clone, Copy, Debug)]
pub struct Attempt<'a> {
    pub user_id: &'a str,
    pub amount: Money,
    pub merchant_verified: bool,
}

/// An approval the limits let through: what its transaction counts, and the limits it was
/// checked against (which word a refusal by the counters).
#[derive(Clone, Debug)]
pub struct Approving {
    pub counting: Counting,
    pub limits: Limits,
}

impl Approving {
    /// The refusal when the approval's transaction found no room left in the counters.
    pub fn refused(&self, why: CountRefusal) -> LimitRefusal {
        self.limits.count_refused(why)
    }
}

/// A payment checked again when its grant is redeemed, inside the transaction that consumes
/// the grant: its amount within the per-payment caps current then, and the shopper's counted
/// day and hour (which include this payment when it was approved in them) still within the
/// daily total and hourly count current then. A refusal leaves the grant unspent.
#[derive(Clone, Copy, Debug)]
pub struct Redemption<'a> {
    pub attempt: Attempt<'a>,
    pub now: i64,
}

impl Redemption<'_> {
    /// Which limit refuses the payment, given what the redemption's transaction read.
    pub fn refusal(&self, seen: &LimitsSeen) -> Option<LimitRefusal> {
        let a = self.attempt;
        let limits = Limits::from_stored(a.amount.currency, &seen.limits);
        let nothing = Money::new(a.amount.currency, 0);
        limits
            .per_payment_refusal(a.amount, a.merchant_verified)
            .or_else(|| limits.room_refusal(nothing, seen.counted, 0))
    }
}

impl Recheck for Redemption<'_> {
    fn windows(&self) -> (i64, i64) {
        (day_start(self.now), hour_start(self.now))
    }

    fn refuses(&self, seen: &LimitsSeen) -> bool {
        self.refusal(seen).is_some()
    }
}

/// The limits, read from the database on every check so that a change made in the console
/// applies at once on every node (no cache): an approval's check takes them as the consent's
/// step read them, with the shopper's standing at the shop.
#[derive(Clone)]
pub struct Risk {
    store: Store,
}

impl Risk {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub async fn limits(&self, currency: Currency) -> Result<Limits> {
        let stored = self.store.risk_limits(currency.code()).await?;
        Ok(Limits::from_stored(currency, &stored))
    }

    /// Every currency's limits, in the console's order.
    pub async fn all(&self) -> Result<Vec<Limits>> {
        let mut all = Vec::with_capacity(CURRENCIES.len());
        for currency in CURRENCIES {
            all.push(self.limits(currency).await?);
        }
        Ok(all)
    }

    /// Sets one currency's limits, audited in the same transaction.
    pub async fn set(&self, limits: &Limits, by: &Actor, now: i64) -> Result<()> {
        let audit = changed(limits, by, now);
        self.store
            .set_risk_limits(limits.currency.code(), &limits.to_stored(), now, &audit)
            .await?;
        tracing::info!(currency = limits.currency.code(), by = %by, "risk limits changed");
        Ok(())
    }

    /// Changes the limits `change` names and keeps the others, checked as the console's form
    /// is; gives the currency's limits now.
    pub async fn change(&self, change: &LimitsChange, by: &Actor, now: i64) -> Result<Limits> {
        let current = self.limits(parse_currency(&change.currency)?).await?;
        let limits = parse_limits(&change.applied_to(current.to_form()))?;
        self.set(&limits, by, now).await?;
        Ok(limits)
    }

    /// Sets the first-run limits from the settings, at start-up: each currency's only while
    /// its limits were never set (by these, the console or the CLI), audited as the wallet
    /// itself; after that the settings are ignored.
    pub async fn set_first_run(&self, first_run: &[Limits], now: i64) -> Result<()> {
        for limits in first_run {
            let currency = limits.currency.code();
            let audit = changed(limits, &Actor::System, now);
            let stored = limits.to_stored();
            if self
                .store
                .set_risk_limits_if_never_set(currency, &stored, now, &audit)
                .await?
            {
                tracing::info!(currency, "risk limits set from the first-run settings");
            } else {
                tracing::info!(
                    currency,
                    "risk limits were set before: the first-run settings are ignored"
                );
            }
        }
        Ok(())
    }

    /// An approval's check and what its transaction counts, from the limits and counters as
    /// read (see `Store::shopper_standing`): a refusal by the per-payment caps, or by the
    /// day's total or the hour's count as counted then, comes before anything is written;
    /// else the counting, within these same limits. Not binding: the approval's own
    /// transaction counts it.
    pub fn approval(
        &self,
        standing: &RiskStanding,
        a: Attempt<'_>,
        now: i64,
    ) -> std::result::Result<Approving, LimitRefusal> {
        let limits = Limits::from_stored(a.amount.currency, &standing.limits);
        if let Some(refused) = limits.per_payment_refusal(a.amount, a.merchant_verified) {
            return Err(refused);
        }
        // Without a daily total or an hourly count the counters are not read, and never refuse.
        if let Some(refused) = limits.room_refusal(a.amount, standing.counted, 1) {
            return Err(refused);
        }
        let counting = Counting {
            user_id: a.user_id.to_string(),
            currency: a.amount.currency.code(),
            amount: a.amount.minor,
            day_starts_at: day_start(now),
            hour_starts_at: hour_start(now),
            daily_total: limits.daily_total.map(|m| m.minor),
            hourly_count: limits.hourly_count,
        };
        Ok(Approving { counting, limits })
    }
}

/// The audit entry of a change of `limits`.
fn changed(limits: &Limits, by: &Actor, now: i64) -> crate::store::audit::AuditRecord {
    let shown = |m: Option<Money>| m.map(Money::to_major_string);
    Entry::new(by, Action::RiskLimitsChanged, limits.currency.code())
        .with("per_payment", shown(limits.per_payment))
        .with(
            "per_payment_unverified",
            shown(limits.per_payment_unverified),
        )
        .with("daily_total", shown(limits.daily_total))
        .with("hourly_count", limits.hourly_count)
        .record(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_the_utc_calendar_day_and_an_hour_the_utc_clock_hour() {
        // 2026-11-30T23:59:59Z and a second later.
        let before = 1_796_083_199;
        assert_eq!(day_start(before), 1_795_996_800);
        assert_eq!(day_start(before + 1), before + 1);
        assert_eq!(hour_start(before), before + 1 - 3600);
    }
}
