//! The points programme as the domain holds it: one version of the issuer's rules (earn rate
//! and value of a point, expiry, redemption limits), parsed once from the console's form or
//! the CLI's flags, and the rules that read it: when a lot expires, how many points a payment
//! may use.

use time::{Date, Month, OffsetDateTime};

use super::policy::PointsPolicy;
use crate::error::{Error, Result};
use crate::money::{Currency, Money};
use crate::store::programme::StoredProgramme;

/// How long earned points last: `months` calendar months after they were earned, and, when
/// `rolling`, every earn moves all of the shopper's points to that new date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    pub months: i64,
    pub rolling: bool,
}

/// What one payment may redeem: at least `min_points` (when any), at most `max_points` and at
/// most `max_percent` of the amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Redemption {
    pub min_points: i64,
    pub max_points: Option<i64>,
    pub max_percent: i64,
}

/// The programme's rules, without their version: what a change proposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgrammeRules {
    pub rates: PointsPolicy,
    pub expiry: Expiry,
    pub redemption: Redemption,
}

impl Default for ProgrammeRules {
    fn default() -> Self {
        Self {
            rates: PointsPolicy::default(),
            expiry: Expiry {
                months: 12,
                rolling: false,
            },
            redemption: Redemption {
                min_points: 0,
                max_points: None,
                max_percent: 100,
            },
        }
    }
}

/// One version of the programme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Programme {
    pub version: i64,
    pub rules: ProgrammeRules,
    pub created_at: i64,
    pub created_by: String,
}

/// Why a payment may not redeem the points asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedemptionRefusal {
    BelowMinimum { min: i64 },
    AboveMaximum { max: i64 },
}

impl RedemptionRefusal {
    pub fn error(self) -> Error {
        match self {
            RedemptionRefusal::BelowMinimum { min } => Error::invalid(
                "points_below_minimum",
                format!("Use at least {min} points, or none."),
            ),
            RedemptionRefusal::AboveMaximum { max } => Error::invalid(
                "points_above_maximum",
                format!("You can use up to {max} points on this payment."),
            ),
        }
        .on_field("points")
    }
}

/// The instant `months` calendar months after `now` (UTC), on the same day of the month or
/// the month's last day when it is shorter (31 January + 1 month = 28 or 29 February).
pub fn months_after(now: i64, months: i64) -> i64 {
    let Ok(start) = OffsetDateTime::from_unix_timestamp(now) else {
        return now;
    };
    let index = i64::from(start.year()) * 12 + i64::from(u8::from(start.month())) - 1 + months;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    let Ok(year) = i32::try_from(year) else {
        return i64::MAX;
    };
    let Ok(month) = Month::try_from(month as u8) else {
        return now;
    };
    let day = start.day().min(month.length(year));
    match Date::from_calendar_date(year, month, day) {
        Ok(date) => start.replace_date(date).unix_timestamp(),
        Err(_) => i64::MAX,
    }
}

impl ProgrammeRules {
    /// When points earned at `now` expire.
    pub fn expires_at(&self, now: i64) -> i64 {
        months_after(now, self.expiry.months)
    }

    /// The most points a payment of `amount` may use with `balance` available: within the
    /// balance, the maximum points and the maximum share of the amount.
    pub fn max_redeemable(&self, amount: Money, balance: i64) -> i64 {
        let share = i128::from(amount.minor.max(0)) * i128::from(self.redemption.max_percent)
            / 100
            / i128::from(self.rates.point_value(amount.currency).max(1));
        let share = i64::try_from(share).unwrap_or(i64::MAX);
        let most = self.redemption.max_points.unwrap_or(i64::MAX);
        balance.max(0).min(share).min(most)
    }

    /// Whether a payment of `amount` may redeem `points` (0 always may), `balance` aside.
    pub fn check_redemption(&self, amount: Money, points: i64) -> Option<RedemptionRefusal> {
        if points == 0 {
            return None;
        }
        let max = self.max_redeemable(amount, i64::MAX);
        if points > max {
            return Some(RedemptionRefusal::AboveMaximum { max });
        }
        let min = self.redemption.min_points;
        (points < min).then_some(RedemptionRefusal::BelowMinimum { min })
    }
}

impl Programme {
    pub fn from_stored(s: &StoredProgramme) -> Self {
        Self {
            version: s.version,
            rules: ProgrammeRules {
                rates: PointsPolicy {
                    earn_jpy: s.earn_jpy,
                    earn_usd: s.earn_usd,
                    value_jpy: s.value_jpy,
                    value_usd: s.value_usd,
                },
                expiry: Expiry {
                    months: s.expiry_months,
                    rolling: s.expiry_rolling,
                },
                redemption: Redemption {
                    min_points: s.min_redeem_points,
                    max_points: s.max_redeem_points,
                    max_percent: s.max_redeem_percent,
                },
            },
            created_at: s.created_at,
            created_by: s.created_by.clone(),
        }
    }
}

impl ProgrammeRules {
    /// The row a new version is written as.
    pub fn to_stored(&self, created_at: i64, created_by: String) -> StoredProgramme {
        StoredProgramme {
            version: 0,
            earn_jpy: self.rates.earn_jpy,
            earn_usd: self.rates.earn_usd,
            value_jpy: self.rates.value_jpy,
            value_usd: self.rates.value_usd,
            expiry_months: self.expiry.months,
            expiry_rolling: self.expiry.rolling,
            min_redeem_points: self.redemption.min_points,
            max_redeem_points: self.redemption.max_points,
            max_redeem_percent: self.redemption.max_percent,
            created_at,
            created_by,
        }
    }
}

/// The console's programme form (and the CLI's flags), as typed. Money fields are decimals in
/// the currency's major unit; blank `max_redeem_points` is no maximum.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct ProgrammeForm {
    pub earn_jpy: String,
    pub earn_usd: String,
    pub value_jpy: String,
    pub value_usd: String,
    pub expiry_months: String,
    /// "rolling" for rolling expiry; anything else (or absent) for fixed.
    #[serde(default)]
    pub expiry: String,
    #[serde(default)]
    pub min_redeem_points: String,
    #[serde(default)]
    pub max_redeem_points: String,
    #[serde(default)]
    pub max_redeem_percent: String,
}

impl ProgrammeForm {
    /// The form filled in with `rules`, for the console to show.
    pub fn from_rules(rules: &ProgrammeRules) -> Self {
        let major = |currency, minor| Money::new(currency, minor).to_major_string();
        Self {
            earn_jpy: major(Currency::Jpy, rules.rates.earn_jpy),
            earn_usd: major(Currency::Usd, rules.rates.earn_usd),
            value_jpy: major(Currency::Jpy, rules.rates.value_jpy),
            value_usd: major(Currency::Usd, rules.rates.value_usd),
            expiry_months: rules.expiry.months.to_string(),
            expiry: if rules.expiry.rolling {
                "rolling"
            } else {
                "fixed"
            }
            .into(),
            min_redeem_points: rules.redemption.min_points.to_string(),
            max_redeem_points: rules
                .redemption
                .max_points
                .map(|n| n.to_string())
                .unwrap_or_default(),
            max_redeem_percent: rules.redemption.max_percent.to_string(),
        }
    }
}

/// A refusal of the form's `field`, the message first (what the admin reads).
fn invalid(message: &'static str, field: &'static str) -> Error {
    Error::invalid("invalid_points_programme", message).on_field(field)
}

fn whole(
    text: &str,
    field: &'static str,
    min: i64,
    max: i64,
    message: &'static str,
) -> Result<i64> {
    let text = text.trim();
    match text.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) && text.chars().all(|c| c.is_ascii_digit()) => Ok(n),
        _ => Err(invalid(message, field)),
    }
}

fn amount(currency: Currency, text: &str, field: &'static str) -> Result<i64> {
    match Money::parse_major(currency, text.trim()) {
        Some(m) if m.minor > 0 => Ok(m.minor),
        _ => Err(invalid(
            match currency.minor_digits() {
                0 => "Type a whole amount of yen above zero, like 100.",
                _ => "Type an amount above zero with cents, like 1.00.",
            },
            field,
        )),
    }
}

/// Parses the programme form: rates and values above zero in each currency's exact decimals,
/// expiry 1 to 120 months, minimum 0 or more, maximum blank or above the minimum, maximum share
/// 1 to 100 percent.
pub fn parse_programme(form: &ProgrammeForm) -> Result<ProgrammeRules> {
    let min_points = match form.min_redeem_points.trim() {
        "" => 0,
        text => whole(
            text,
            "min_redeem_points",
            0,
            i64::MAX,
            "Type a whole number of points, 0 or more.",
        )?,
    };
    let max_points = match form.max_redeem_points.trim() {
        "" => None,
        text => Some(whole(
            text,
            "max_redeem_points",
            1,
            i64::MAX,
            "Type a whole number of points above zero, or leave it blank for no maximum.",
        )?),
    };
    if max_points.is_some_and(|max| max < min_points) {
        return Err(invalid(
            "The maximum must not be below the minimum.",
            "max_redeem_points",
        ));
    }
    let rolling = match form.expiry.trim() {
        "" | "fixed" => false,
        "rolling" => true,
        _ => return Err(invalid("Choose fixed or rolling expiry.", "expiry")),
    };
    Ok(ProgrammeRules {
        rates: PointsPolicy {
            earn_jpy: amount(Currency::Jpy, &form.earn_jpy, "earn_jpy")?,
            earn_usd: amount(Currency::Usd, &form.earn_usd, "earn_usd")?,
            value_jpy: amount(Currency::Jpy, &form.value_jpy, "value_jpy")?,
            value_usd: amount(Currency::Usd, &form.value_usd, "value_usd")?,
        },
        expiry: Expiry {
            months: whole(
                &form.expiry_months,
                "expiry_months",
                1,
                120,
                "Type a whole number of months from 1 to 120.",
            )?,
            rolling,
        },
        redemption: Redemption {
            min_points,
            max_points,
            max_percent: match form.max_redeem_percent.trim() {
                "" => 100,
                text => whole(
                    text,
                    "max_redeem_percent",
                    1,
                    100,
                    "Type a whole percentage from 1 to 100.",
                )?,
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-01-31T10:00:00Z
    const JAN_31: i64 = 1_769_853_600;

    #[test]
    fn months_after_keeps_the_day_or_takes_the_last_of_a_shorter_month() {
        let feb = months_after(JAN_31, 1);
        let date = OffsetDateTime::from_unix_timestamp(feb).unwrap();
        assert_eq!(
            (date.month(), date.day(), date.hour()),
            (Month::February, 28, 10)
        );
        let next_year = OffsetDateTime::from_unix_timestamp(months_after(JAN_31, 12)).unwrap();
        assert_eq!(
            (next_year.year(), next_year.month(), next_year.day()),
            (2027, Month::January, 31)
        );
        let later = OffsetDateTime::from_unix_timestamp(months_after(JAN_31, 13)).unwrap();
        assert_eq!(
            (later.year(), later.month(), later.day()),
            (2027, Month::February, 28)
        );
    }

    fn sample(min: i64, max: Option<i64>, percent: i64) -> ProgrammeRules {
        ProgrammeRules {
            redemption: Redemption {
                min_points: min,
                max_points: max,
                max_percent: percent,
            },
            ..ProgrammeRules::default()
        }
    }

    #[test]
    fn redemption_is_within_minimum_maximum_and_share_of_the_amount() {
        let yen = |n| Money::new(Currency::Jpy, n);
        let r = sample(100, Some(500), 50);
        assert_eq!(r.max_redeemable(yen(1800), 10_000), 500);
        assert_eq!(r.max_redeemable(yen(600), 10_000), 300);
        assert_eq!(r.max_redeemable(yen(600), 250), 250);
        assert_eq!(r.check_redemption(yen(1800), 0), None);
        assert_eq!(r.check_redemption(yen(1800), 100), None);
        assert_eq!(
            r.check_redemption(yen(1800), 99),
            Some(RedemptionRefusal::BelowMinimum { min: 100 })
        );
        assert_eq!(r.check_redemption(yen(1800), 500), None);
        assert_eq!(
            r.check_redemption(yen(1800), 501),
            Some(RedemptionRefusal::AboveMaximum { max: 500 })
        );
        assert_eq!(
            r.check_redemption(yen(600), 301),
            Some(RedemptionRefusal::AboveMaximum { max: 300 })
        );
    }

    #[test]
    fn the_form_parses_exact_values_and_names_the_field_it_refuses() {
        let form = ProgrammeForm::from_rules(&sample(10, Some(20), 80));
        assert_eq!(parse_programme(&form).unwrap(), sample(10, Some(20), 80));
        for (field, change) in [
            (
                "earn_jpy",
                ProgrammeForm {
                    earn_jpy: "1.5".into(),
                    ..form.clone()
                },
            ),
            (
                "value_usd",
                ProgrammeForm {
                    value_usd: "1".into(),
                    ..form.clone()
                },
            ),
            (
                "expiry_months",
                ProgrammeForm {
                    expiry_months: "121".into(),
                    ..form.clone()
                },
            ),
            (
                "max_redeem_points",
                ProgrammeForm {
                    max_redeem_points: "5".into(),
                    ..form.clone()
                },
            ),
            (
                "max_redeem_percent",
                ProgrammeForm {
                    max_redeem_percent: "0".into(),
                    ..form.clone()
                },
            ),
            (
                "expiry",
                ProgrammeForm {
                    expiry: "sometimes".into(),
                    ..form.clone()
                },
            ),
        ] {
            let err = parse_programme(&change).unwrap_err();
            assert_eq!(
                (err.code(), err.field()),
                ("invalid_points_programme", Some(field))
            );
        }
    }
}
