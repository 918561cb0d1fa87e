//! The console's dashboard figures: payments and their volume today and this month (UTC),
//! merchants by vetting status, and the webhook endpoints deliveries stopped at. The periods'
//! bounds are decided here, from `now`; the store only counts between them.

use time::{Date, Month, OffsetDateTime, Time};

use crate::error::{Error, Result};
use crate::merchants::MerchantStatus;
use crate::money::{Currency, Money};
use crate::store::webhooks::DisabledEndpoint;
use crate::store::Store;

/// A range of time, `[from, until)` in Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: i64,
    pub until: i64,
}

impl Period {
    /// The UTC day holding `now`.
    pub fn day_of(now: i64) -> Result<Self> {
        let date = utc(now)?.date();
        let next = date
            .next_day()
            .ok_or_else(|| Error::internal(anyhow::anyhow!("no day after {date}")))?;
        Ok(Self {
            from: midnight(date),
            until: midnight(next),
        })
    }

    /// The UTC calendar month holding `now`.
    pub fn month_of(now: i64) -> Result<Self> {
        let date = utc(now)?.date();
        let first = date.replace_day(1).map_err(Error::internal)?;
        let (year, month) = match date.month() {
            Month::December => (date.year() + 1, Month::January),
            m => (date.year(), m.next()),
        };
        let next = Date::from_calendar_date(year, month, 1).map_err(Error::internal)?;
        Ok(Self {
            from: midnight(first),
            until: midnight(next),
        })
    }
}

fn utc(now: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(now).map_err(Error::internal)
}

fn midnight(date: Date) -> i64 {
    date.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp()
}

/// Payments in a period: those authorized or captured (not pending, voided or declined), and
/// their volume per currency (the captured amount of a captured payment, the authorized
/// amount of an authorized one; refunds not taken off), by when they were created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentFigures {
    pub period: Period,
    pub count: i64,
    /// One amount per currency paid in, by currency code.
    pub volume: Vec<Money>,
}

/// Everything the dashboard shows but the audit chain's state (the audit room's own).
#[derive(Clone, Debug)]
pub struct DashboardSummary {
    pub today: PaymentFigures,
    pub this_month: PaymentFigures,
    /// Every vetting status, with how many merchants have it (zero included).
    pub merchants: Vec<(MerchantStatus, i64)>,
    pub disabled_endpoints: Vec<DisabledEndpoint>,
}

impl DashboardSummary {
    pub fn merchant_count(&self) -> i64 {
        self.merchants.iter().map(|(_, n)| n).sum()
    }
}

#[derive(Clone)]
pub struct Dashboard {
    store: Store,
}

impl Dashboard {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub async fn summary(&self, now: i64) -> Result<DashboardSummary> {
        let today = self.payments(Period::day_of(now)?).await?;
        let this_month = self.payments(Period::month_of(now)?).await?;
        let counted = self.store.merchants_by_status().await?;
        let merchants = [
            MerchantStatus::Pending,
            MerchantStatus::Verified,
            MerchantStatus::Suspended,
        ]
        .into_iter()
        .map(|status| {
            let n = counted
                .iter()
                .find(|(s, _)| s == status.as_str())
                .map_or(0, |(_, n)| *n);
            (status, n)
        })
        .collect();
        Ok(DashboardSummary {
            today,
            this_month,
            merchants,
            disabled_endpoints: self.store.disabled_webhook_endpoints().await?,
        })
    }

    async fn payments(&self, period: Period) -> Result<PaymentFigures> {
        let rows = self.store.payment_totals(period.from, period.until).await?;
        let mut volume = Vec::with_capacity(rows.len());
        for row in &rows {
            let currency = Currency::parse(&row.currency).ok_or_else(|| {
                Error::internal(anyhow::anyhow!("unknown currency {:?}", row.currency))
            })?;
            volume.push(Money::new(currency, row.volume_minor));
        }
        Ok(PaymentFigures {
            period,
            count: rows.iter().map(|r| r.count).sum(),
            volume,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-29T15:08:25Z
    const NOW: i64 = 1_795_964_905;

    #[test]
    fn the_day_and_the_month_are_utc_calendar_ones() {
        assert_eq!(
            Period::day_of(NOW).unwrap(),
            Period {
                from: 1_795_910_400,
                until: 1_795_996_800
            }
        );
        assert_eq!(
            Period::month_of(NOW).unwrap(),
            Period {
                from: 1_793_491_200,
                until: 1_796_083_200
            }
        );
        // A midnight starts its own day; December's month ends at the new year.
        assert_eq!(Period::day_of(1_795_910_400).unwrap().from, 1_795_910_400);
        let december = Period::month_of(1_797_000_000).unwrap();
        assert_eq!(december.from, 1_796_083_200);
        assert_eq!(december.until, 1_798_761_600);
    }
}
