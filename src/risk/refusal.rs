//! Why the limits refused a payment: a stable code per limit, the plain words the shopper reads
//! on the consent page, and the description the merchant gets with `access_denied`.

use crate::error::Error;
use crate::money::Money;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitRefusal {
    /// The payment is above the per-payment cap.
    PerPayment { cap: Money },
    /// The payment is above the cap for merchants that are not verified.
    UnverifiedMerchant { cap: Money },
    /// The shopper's approved total today (UTC) would pass the daily total.
    DailyTotal { cap: Money, counted: Money },
    /// The shopper has approved as many payments this hour (UTC) as allowed.
    HourlyCount { cap: i64 },
}

impl LimitRefusal {
    /// The limit's stable code, and its name.
    pub fn code_and_name(self) -> (&'static str, &'static str) {
        match self {
            LimitRefusal::PerPayment { .. } => ("limit_per_payment", "Per-payment limit"),
            LimitRefusal::UnverifiedMerchant { .. } => (
                "limit_unverified_merchant",
                "Per-payment limit for merchants not verified",
            ),
            LimitRefusal::DailyTotal { .. } => ("limit_daily_total", "Daily total"),
            LimitRefusal::HourlyCount { .. } => ("limit_hourly_count", "Payments per hour"),
        }
    }

    pub fn code(self) -> &'static str {
        self.code_and_name().0
    }

    /// For the shopper, on the consent page: which limit, and the amount.
    pub fn message(self) -> String {
        match self {
            LimitRefusal::PerPayment { cap } => format!(
                "This payment is above your card issuer's limit of {} per payment.",
                cap.format_display()
            ),
            LimitRefusal::UnverifiedMerchant { cap } => format!(
                "Saifu has not verified this shop, and payments to shops that are not verified are limited to {} each.",
                cap.format_display()
            ),
            LimitRefusal::DailyTotal { cap, counted } => format!(
                "This payment would take you past your daily limit of {} (days are counted in UTC). You have paid {} today.",
                cap.format_display(),
                counted.format_display()
            ),
            LimitRefusal::HourlyCount { cap } => format!(
                "You have reached the limit of {cap} payments per hour. Please try again later."
            ),
        }
    }

    /// For the merchant, as `error_description` with `access_denied`: the limit's code and what
    /// it is, without the shopper's own totals.
    pub fn description(self) -> String {
        let what = match self {
            LimitRefusal::PerPayment { cap } => {
                format!("above the per-payment limit of {}", cap.to_major_string())
            }
            LimitRefusal::UnverifiedMerchant { cap } => format!(
                "above the limit of {} per payment to merchants that are not verified",
                cap.to_major_string()
            ),
            LimitRefusal::DailyTotal { cap, .. } => {
                format!(
                    "past the shopper's daily total of {}",
                    cap.to_major_string()
                )
            }
            LimitRefusal::HourlyCount { cap } => {
                format!("past the shopper's limit of {cap} payments per hour")
            }
        };
        format!("{}: the payment is {what}", self.code())
    }

    /// The refusal as an error: 403 with the limit's code and the shopper's words.
    pub fn error(self) -> Error {
        Error::forbidden(self.code(), self.message())
    }

    /// The refusal of a redemption, for the merchant: 403 with the limit's code.
    pub fn merchant_error(self) -> Error {
        Error::forbidden(
            self.code(),
            format!(
                "The wallet's risk limits refused this payment ({}).",
                self.description()
            ),
        )
    }

    /// The code of an error made by [`LimitRefusal::error`], to tell it from others.
    pub fn is_limit(err: &Error) -> bool {
        err.code().starts_with("limit_")
    }
}
