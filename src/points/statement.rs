//! A merchant's monthly points statement: the month (a UTC calendar month, `[from, to)`), and
//! per currency the points issued at its shop that it funds (its campaign's share, earned less
//! reversed), the points redeemed at its shop that the programme reimburses (redeemed less
//! given back), and their worth at the point value of each payment's programme version.

use std::collections::BTreeMap;
use std::fmt;

use saifu_sdk::checkout::Amount;
use saifu_sdk::points::{PointsStatement, PointsStatementLine};
use time::{Date, Month, OffsetDateTime};

use crate::error::{Error, Result};
use crate::money::{AmountTooLarge, Currency, Money};

/// The first month statements cover.
const FIRST: (i32, u8) = (2000, 1);

/// A UTC calendar month, from its first day at 00:00Z to the next month's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatementMonth {
    year: i32,
    month: u8,
    /// Unix seconds, inclusive.
    pub from: i64,
    /// Unix seconds, exclusive: the start of the next month.
    pub to: i64,
}

fn first_day(year: i32, month: u8) -> Option<i64> {
    let month = Month::try_from(month).ok()?;
    let date = Date::from_calendar_date(year, month, 1).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

fn malformed() -> Error {
    Error::invalid(
        "invalid_month",
        "Give the month as YYYY-MM, for example 2026-11.",
    )
    .on_field("month")
}

impl StatementMonth {
    fn new(year: i32, month: u8) -> Option<Self> {
        let (next_year, next_month) = if month == 12 {
            (year.checked_add(1)?, 1)
        } else {
            (year, month + 1)
        };
        Some(Self {
            year,
            month,
            from: first_day(year, month)?,
            to: first_day(next_year, next_month)?,
        })
    }

    /// The month holding `now`.
    pub fn containing(now: i64) -> Result<Self> {
        OffsetDateTime::from_unix_timestamp(now)
            .ok()
            .and_then(|t| Self::new(t.year(), u8::from(t.month())))
            .ok_or_else(|| Error::internal(anyhow::anyhow!("no calendar month holds {now}")))
    }

    /// `YYYY-MM`, from 2000-01 to the month after the one holding `now`; anything else is
    /// `invalid_month`.
    pub fn parse(raw: &str, now: i64) -> Result<Self> {
        let bytes = raw.as_bytes();
        let shaped = bytes.len() == 7
            && bytes[4] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit());
        if !shaped {
            return Err(malformed());
        }
        let year: i32 = raw[..4].parse().map_err(|_| malformed())?;
        let month: u8 = raw[5..].parse().map_err(|_| malformed())?;
        if !(1..=12).contains(&month) {
            return Err(malformed());
        }
        let last = Self::containing(now)?.next()?;
        let wanted = (year, month);
        if wanted < FIRST || wanted > (last.year, last.month) {
            return Err(Error::invalid(
                "invalid_month",
                format!("Statements cover the months from 2000-01 to {last}."),
            )
            .on_field("month"));
        }
        Self::new(year, month).ok_or_else(malformed)
    }

    /// For people: "November 2026".
    pub fn name(self) -> String {
        match Month::try_from(self.month) {
            Ok(month) => format!("{month} {}", self.year),
            Err(_) => self.to_string(),
        }
    }

    /// The month after this one.
    pub fn next(self) -> Result<Self> {
        let (year, month) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        Self::new(year, month)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("no month after {self}")))
    }
}

/// `2026-11`.
impl fmt::Display for StatementMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// One currency of a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatementLine {
    pub currency: Currency,
    /// Points issued at the merchant's shop that it funds: earned less reversed.
    pub points_issued: i64,
    /// Points redeemed at the merchant's shop that the programme reimburses: redeemed less
    /// given back.
    pub points_redeemed: i64,
    /// What the merchant owes for the points issued.
    pub issued: Money,
    /// What the programme owes the merchant for the points redeemed.
    pub redeemed: Money,
    /// `redeemed − issued`: above zero, the programme pays the merchant.
    pub net: Money,
}

impl StatementLine {
    fn empty(currency: Currency) -> Self {
        let zero = Money::new(currency, 0);
        Self {
            currency,
            points_issued: 0,
            points_redeemed: 0,
            issued: zero,
            redeemed: zero,
            net: zero,
        }
    }

    fn to_api(self) -> PointsStatementLine {
        let amount = |m: Money| Amount::new(m.currency.code(), &m.to_major_string());
        PointsStatementLine {
            currency: self.currency.code().to_string(),
            points_issued: self.points_issued,
            points_redeemed: self.points_redeemed,
            issued_amount: amount(self.issued),
            redeemed_amount: amount(self.redeemed),
            net_amount: amount(self.net),
        }
    }
}

/// Lines summed per currency, with checked arithmetic: a sum or product past `i64` is an
/// error, never a wrapped number.
#[derive(Clone, Debug, Default)]
pub struct Lines(BTreeMap<&'static str, StatementLine>);

impl Lines {
    /// Adds points of one programme version, each worth `point_value` minor units.
    pub fn add(
        &mut self,
        currency: Currency,
        point_value: i64,
        points_issued: i64,
        points_redeemed: i64,
    ) -> Result<(), AmountTooLarge> {
        let worth = |points: i64| {
            points
                .checked_mul(point_value)
                .map(|minor| Money::new(currency, minor))
                .ok_or(AmountTooLarge::overflow(currency))
        };
        self.add_line(&StatementLine {
            currency,
            points_issued,
            points_redeemed,
            issued: worth(points_issued)?,
            redeemed: worth(points_redeemed)?,
            net: Money::new(currency, 0),
        })
    }

    /// Adds a line's points and money (its `net` is worked out again).
    pub fn add_line(&mut self, line: &StatementLine) -> Result<(), AmountTooLarge> {
        let currency = line.currency;
        let overflow = AmountTooLarge::overflow(currency);
        let sum = self
            .0
            .entry(currency.code())
            .or_insert_with(|| StatementLine::empty(currency));
        let mut next = *sum;
        next.points_issued = next
            .points_issued
            .checked_add(line.points_issued)
            .ok_or(overflow)?;
        next.points_redeemed = next
            .points_redeemed
            .checked_add(line.points_redeemed)
            .ok_or(overflow)?;
        next.issued = next.issued.checked_add(line.issued).ok_or(overflow)?;
        next.redeemed = next.redeemed.checked_add(line.redeemed).ok_or(overflow)?;
        next.net = next.redeemed.checked_sub(next.issued).ok_or(overflow)?;
        *sum = next;
        Ok(())
    }

    /// The lines, by currency code.
    pub fn finish(self) -> Vec<StatementLine> {
        self.0.into_values().collect()
    }
}

/// One merchant's statement for a month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub client_id: String,
    /// The merchant's name (empty in a merchant's own statement without activity).
    pub merchant_name: String,
    pub month: StatementMonth,
    /// One per currency with activity, by currency code.
    pub lines: Vec<StatementLine>,
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl Statement {
    /// The merchant's view: the API's JSON.
    pub fn to_api(&self) -> PointsStatement {
        PointsStatement {
            object: PointsStatement::OBJECT.to_string(),
            client_id: self.client_id.clone(),
            month: self.month.to_string(),
            from: rfc3339(self.month.from),
            to: rfc3339(self.month.to),
            lines: self.lines.iter().map(|l| l.to_api()).collect(),
        }
    }
}

/// Every statement's lines summed per currency.
pub fn totals(statements: &[Statement]) -> Result<Vec<StatementLine>> {
    let mut sums = Lines::default();
    for line in statements.iter().flat_map(|s| &s.lines) {
        sums.add_line(line)?;
    }
    Ok(sums.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-15T12:00:00Z.
    const NOW: i64 = 1_794_744_000;

    #[test]
    fn a_month_is_its_utc_calendar_days() {
        let m = StatementMonth::parse("2026-11", NOW).unwrap();
        assert_eq!(m.to_string(), "2026-11");
        assert_eq!(m.name(), "November 2026");
        assert_eq!((m.from, m.to), (1_793_491_200, 1_796_083_200));
        let dec = StatementMonth::parse("2026-12", NOW).unwrap();
        assert_eq!(dec.from, m.to, "one month ends where the next starts");
        assert_eq!(dec.next().unwrap().to_string(), "2027-01");
        let feb = StatementMonth::parse("2024-02", NOW).unwrap();
        assert_eq!(feb.to - feb.from, 29 * 24 * 3600, "a leap February");
        assert_eq!(StatementMonth::containing(NOW).unwrap(), m);
        assert_eq!(StatementMonth::containing(m.from).unwrap(), m);
        assert_eq!(StatementMonth::containing(m.to - 1).unwrap(), m);
        assert_eq!(
            rfc3339(m.from),
            "2026-11-01T00:00:00Z",
            "the API's bounds are RFC 3339 in UTC"
        );
    }

    #[test]
    fn only_yyyy_mm_from_2000_to_next_month_is_taken() {
        StatementMonth::parse("2000-01", NOW).unwrap();
        for malformed in [
            "",
            "2026-1",
            "2026-13",
            "2026-00",
            "26-11",
            "2026/11",
            "2026-11-01",
            "２０２６-11",
            "+026-11",
            "2026-+1",
            " 2026-11",
        ] {
            let err = StatementMonth::parse(malformed, NOW).unwrap_err();
            assert_eq!(err.code(), "invalid_month", "{malformed:?}");
            assert_eq!(err.field(), Some("month"));
        }
        for out in ["1999-12", "2027-01", "9999-12"] {
            let err = StatementMonth::parse(out, NOW).unwrap_err();
            assert_eq!(err.code(), "invalid_month", "{out}");
            assert!(
                err.public_message().contains("2000-01 to 2026-12"),
                "{}",
                err.public_message()
            );
        }
    }

    #[test]
    fn lines_sum_per_currency_at_each_versions_value_and_net_is_redeemed_less_issued() {
        let mut lines = Lines::default();
        lines.add(Currency::Usd, 2, 10, 3).unwrap();
        lines.add(Currency::Jpy, 1, 192, 64).unwrap();
        lines.add(Currency::Jpy, 3, 0, 10).unwrap();
        let lines = lines.finish();
        assert_eq!(lines.len(), 2);
        let jpy = lines[0];
        assert_eq!(jpy.currency, Currency::Jpy, "by currency code");
        assert_eq!((jpy.points_issued, jpy.points_redeemed), (192, 74));
        assert_eq!(
            (jpy.issued.minor, jpy.redeemed.minor, jpy.net.minor),
            (192, 94, -98)
        );
        let usd = lines[1].to_api();
        assert_eq!(usd.issued_amount, Amount::new("USD", "0.20"));
        assert_eq!(usd.redeemed_amount, Amount::new("USD", "0.06"));
        assert_eq!(usd.net_amount, Amount::new("USD", "-0.14"));
    }

    #[test]
    fn sums_past_i64_are_refused_not_wrapped() {
        let mut lines = Lines::default();
        assert!(lines.add(Currency::Jpy, 2, i64::MAX / 2 + 1, 0).is_err());
        lines.add(Currency::Jpy, 1, i64::MAX, 0).unwrap();
        assert!(lines.add(Currency::Jpy, 1, 1, 0).is_err());
        let mut net = Lines::default();
        // −2 less i64::MAX is below i64::MIN.
        net.add_line(&StatementLine {
            issued: Money::new(Currency::Jpy, i64::MAX),
            redeemed: Money::new(Currency::Jpy, -2),
            ..StatementLine::empty(Currency::Jpy)
        })
        .unwrap_err();
    }

    #[test]
    fn totals_add_every_merchants_lines() {
        let month = StatementMonth::parse("2026-11", NOW).unwrap();
        let of = |client: &str, issued: i64, redeemed: i64| {
            let mut lines = Lines::default();
            lines.add(Currency::Jpy, 1, issued, redeemed).unwrap();
            Statement {
                client_id: client.into(),
                merchant_name: client.into(),
                month,
                lines: lines.finish(),
            }
        };
        let all = totals(&[of("a", 10, 4), of("b", 5, 20)]).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(
            (
                all[0].points_issued,
                all[0].points_redeemed,
                all[0].net.minor
            ),
            (15, 24, 9)
        );
        assert!(totals(&[]).unwrap().is_empty());
    }
}
