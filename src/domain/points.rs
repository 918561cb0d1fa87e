//! The points programme's arithmetic: what a payment earns, what points are worth, and the
//! pro-rata share a refund takes back. Integer maths only, rounding down.

use crate::domain::money::{Currency, Money};
use crate::error::{Error, Kind};
use crate::store::Refusal;

#[derive(Clone, Copy, Debug)]
pub struct PointsPolicy {
    /// Minor units of spending that earn one point, per currency (JPY: ¥100; USD: 100¢).
    pub earn_jpy: i64,
    pub earn_usd: i64,
    /// Minor units one point is worth when redeemed (JPY: ¥1; USD: 1¢).
    pub value_jpy: i64,
    pub value_usd: i64,
    /// How long earned points last.
    pub expiry_secs: i64,
}

impl Default for PointsPolicy {
    fn default() -> Self {
        Self {
            earn_jpy: 100,
            earn_usd: 100,
            value_jpy: 1,
            value_usd: 1,
            expiry_secs: 365 * 24 * 60 * 60,
        }
    }
}

impl PointsPolicy {
    fn earn_unit(&self, currency: Currency) -> i64 {
        match currency {
            Currency::Jpy => self.earn_jpy,
            Currency::Usd => self.earn_usd,
        }
    }

    /// Minor units one point is worth.
    pub fn point_value(&self, currency: Currency) -> i64 {
        match currency {
            Currency::Jpy => self.value_jpy,
            Currency::Usd => self.value_usd,
        }
    }

    /// Points earned on `card_amount` at a merchant whose campaign multiplies by
    /// `multiplier_percent`: (base from the issuer, extra funded by the merchant).
    pub fn earned(&self, card_amount: Money, multiplier_percent: i64) -> (i64, i64) {
        let base = card_amount.minor.max(0) / self.earn_unit(card_amount.currency).max(1);
        let total = base * multiplier_percent.max(100) / 100;
        (base, total - base)
    }

    /// The most points a payment of `amount` can use with `balance` available.
    pub fn max_redeemable(&self, amount: Money, balance: i64) -> i64 {
        balance
            .max(0)
            .min(amount.minor / self.point_value(amount.currency).max(1))
    }

    /// The share of `total` that corresponds to `part` of `of`, rounded down; the last refund
    /// (part == of) takes exactly what is left, so nothing is lost to rounding.
    pub fn pro_rata(total: i64, part: i64, of: i64) -> i64 {
        if of <= 0 {
            return 0;
        }
        if part >= of {
            return total;
        }
        (i128::from(total) * i128::from(part) / i128::from(of)) as i64
    }
}

/// Words the store's refusal to take more points than the shopper has.
pub fn refused(err: crate::store::Error) -> Error {
    match err.refusal() {
        Some(Refusal::InsufficientPoints) => Error::new(
            Kind::Conflict,
            "insufficient_points",
            "You don't have that many points available.",
        ),
        _ => err.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earns_one_point_per_hundred_yen_and_dollar() {
        let p = PointsPolicy::default();
        assert_eq!(
            p.earned(
                Money {
                    currency: Currency::Jpy,
                    minor: 12_800
                },
                100
            ),
            (128, 0)
        );
        assert_eq!(
            p.earned(
                Money {
                    currency: Currency::Jpy,
                    minor: 99
                },
                100
            ),
            (0, 0)
        );
        assert_eq!(
            p.earned(
                Money {
                    currency: Currency::Usd,
                    minor: 1_250
                },
                100
            ),
            (12, 0)
        );
        assert_eq!(
            p.earned(
                Money {
                    currency: Currency::Jpy,
                    minor: 12_800
                },
                250
            ),
            (128, 192),
            "a 2.5x campaign"
        );
    }

    #[test]
    fn redemption_is_bounded_by_balance_and_amount() {
        let p = PointsPolicy::default();
        assert_eq!(
            p.max_redeemable(
                Money {
                    currency: Currency::Jpy,
                    minor: 500
                },
                1_000
            ),
            500
        );
        assert_eq!(
            p.max_redeemable(
                Money {
                    currency: Currency::Jpy,
                    minor: 5_000
                },
                120
            ),
            120
        );
    }

    #[test]
    fn pro_rata_rounds_down_and_the_last_share_is_exact() {
        assert_eq!(PointsPolicy::pro_rata(128, 2_800, 12_800), 28);
        assert_eq!(PointsPolicy::pro_rata(128, 12_800, 12_800), 128);
        assert_eq!(PointsPolicy::pro_rata(128, 1, 0), 0);
    }
}
