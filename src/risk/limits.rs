//! One currency's limits as the domain holds them (amounts as [`Money`], `None` for no
//! limit), parsed once from the console's form, and the rules that compare a payment to them.

use super::refusal::LimitRefusal;
use crate::error::{Error, Result};
use crate::money::{Currency, Money};
use crate::store::risk::{CountRefusal, Counted, StoredLimits};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub currency: Currency,
    pub per_payment: Option<Money>,
    pub per_payment_unverified: Option<Money>,
    pub daily_total: Option<Money>,
    pub hourly_count: Option<i64>,
}

/// The console's form for one currency, as typed: decimals in the currency, blank for none.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct LimitsForm {
    pub currency: String,
    #[serde(default)]
    pub per_payment: String,
    #[serde(default)]
    pub per_payment_unverified: String,
    #[serde(default)]
    pub daily_total: String,
    #[serde(default)]
    pub hourly_count: String,
}

/// A change of some of one currency's limits, each typed as in the console's form: `None`
/// keeps the limit as it is, `Some("")` removes it.
#[derive(Clone, Debug, Default)]
pub struct LimitsChange {
    pub currency: String,
    pub per_payment: Option<String>,
    pub per_payment_unverified: Option<String>,
    pub daily_total: Option<String>,
    pub hourly_count: Option<String>,
}

/// A currency limits are set for, as typed.
pub fn parse_currency(text: &str) -> Result<Currency> {
    Currency::parse(text.trim()).ok_or_else(|| {
        Error::invalid("invalid_risk_limit", "Choose JPY or USD.").on_field("currency")
    })
}

/// Parses the console's form: each amount with the currency's exact decimals and above zero,
/// the count a whole number above zero; blank is no limit.
pub fn parse_limits(form: &LimitsForm) -> Result<Limits> {
    let currency = parse_currency(&form.currency)?;
    let amount = |text: &str, field: &'static str| -> Result<Option<Money>> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        match Money::parse_major(currency, text) {
            Some(m) if m.minor > 0 => Ok(Some(m)),
            _ => Err(Error::invalid(
                "invalid_risk_limit",
                match currency.minor_digits() {
                    0 => "Type a whole amount of yen above zero, like 50000, or leave it blank for no limit.",
                    _ => "Type an amount above zero with cents, like 500.00, or leave it blank for no limit.",
                },
            )
            .on_field(field)),
        }
    };
    let count = form.hourly_count.trim();
    let hourly_count =
        match count {
            "" => None,
            _ => match count.parse::<i64>() {
                Ok(n) if n > 0 && count.chars().all(|c| c.is_ascii_digit()) => Some(n),
                _ => return Err(Error::invalid(
                    "invalid_risk_limit",
                    "Type a whole number of payments above zero, or leave it blank for no limit.",
                )
                .on_field("hourly_count")),
            },
        };
    Ok(Limits {
        currency,
        per_payment: amount(&form.per_payment, "per_payment")?,
        per_payment_unverified: amount(&form.per_payment_unverified, "per_payment_unverified")?,
        daily_total: amount(&form.daily_total, "daily_total")?,
        hourly_count,
    })
}

impl LimitsChange {
    /// `form` with the limits this change names replaced.
    pub fn applied_to(&self, mut form: LimitsForm) -> LimitsForm {
        for (slot, new) in [
            (&mut form.per_payment, &self.per_payment),
            (
                &mut form.per_payment_unverified,
                &self.per_payment_unverified,
            ),
            (&mut form.daily_total, &self.daily_total),
            (&mut form.hourly_count, &self.hourly_count),
        ] {
            if let Some(new) = new {
                slot.clone_from(new);
            }
        }
        form
    }
}

impl Limits {
    /// The limits as the console's form shows them: amounts in the currency's units, blank
    /// for no limit.
    pub fn to_form(&self) -> LimitsForm {
        let typed = |m: Option<Money>| m.map(Money::to_major_string).unwrap_or_default();
        LimitsForm {
            currency: self.currency.code().to_string(),
            per_payment: typed(self.per_payment),
            per_payment_unverified: typed(self.per_payment_unverified),
            daily_total: typed(self.daily_total),
            hourly_count: self.hourly_count.map(|n| n.to_string()).unwrap_or_default(),
        }
    }

    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.per_payment.is_some()
            || self.per_payment_unverified.is_some()
            || self.daily_total.is_some()
            || self.hourly_count.is_some()
    }

    pub(super) fn from_stored(currency: Currency, s: &StoredLimits) -> Self {
        let money = |minor: Option<i64>| minor.map(|m| Money::new(currency, m));
        Self {
            currency,
            per_payment: money(s.per_payment),
            per_payment_unverified: money(s.per_payment_unverified),
            daily_total: money(s.daily_total),
            hourly_count: s.hourly_count,
        }
    }

    pub(super) fn to_stored(self) -> StoredLimits {
        let minor = |m: Option<Money>| m.map(|m| m.minor);
        StoredLimits {
            per_payment: minor(self.per_payment),
            per_payment_unverified: minor(self.per_payment_unverified),
            daily_total: minor(self.daily_total),
            hourly_count: self.hourly_count,
        }
    }

    /// The per-payment cap first; then, for a merchant that is not verified, its lower cap.
    pub fn per_payment_refusal(&self, amount: Money, verified: bool) -> Option<LimitRefusal> {
        if let Some(cap) = self.per_payment.filter(|cap| amount.minor > cap.minor) {
            return Some(LimitRefusal::PerPayment { cap });
        }
        if verified {
            return None;
        }
        self.per_payment_unverified
            .filter(|cap| amount.minor > cap.minor)
            .map(|cap| LimitRefusal::UnverifiedMerchant { cap })
    }

    /// Whether the counted day and hour have room for `amount` and `payments` more.
    pub fn room_refusal(
        &self,
        amount: Money,
        counted: Counted,
        payments: i64,
    ) -> Option<LimitRefusal> {
        if let Some(cap) = self.daily_total {
            if counted.day_total > cap.minor - amount.minor {
                return Some(LimitRefusal::DailyTotal {
                    cap,
                    counted: Money::new(self.currency, counted.day_total),
                });
            }
        }
        match self.hourly_count {
            Some(cap) if counted.hour_count > cap - payments => {
                Some(LimitRefusal::HourlyCount { cap })
            }
            _ => None,
        }
    }

    /// The refusal for a counter that refused an approval counted against these limits (the
    /// counting compares with no cap as with the largest amount or count).
    pub fn count_refused(&self, why: CountRefusal) -> LimitRefusal {
        match why {
            CountRefusal::DailyTotal { counted } => LimitRefusal::DailyTotal {
                cap: self
                    .daily_total
                    .unwrap_or(Money::new(self.currency, i64::MAX)),
                counted: Money::new(self.currency, counted),
            },
            CountRefusal::HourlyCount => LimitRefusal::HourlyCount {
                cap: self.hourly_count.unwrap_or(i64::MAX),
            },
        }
    }
}
