//! The points programme's arithmetic: what a payment earns, what points are worth, and the
//! pro-rata share a refund takes back. Integer maths only, rounding down.

use crate::money::{AmountTooLarge, Currency, Money};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PointsPolicy {
    /// Minor units of spending that earn one point, per currency (JPY: ¥100; USD: 100¢).
    pub earn_jpy: i64,
    pub earn_usd: i64,
    /// Minor units one point is worth when redeemed (JPY: ¥1; USD: 1¢).
    pub value_jpy: i64,
    pub value_usd: i64,
}

impl Default for PointsPolicy {
    fn default() -> Self {
        Self {
            earn_jpy: 100,
            earn_usd: 100,
            value_jpy: 1,
            value_usd: 1,
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

    /// Minor units `points` are worth in `currency`; `None` when that overflows. The payments
    /// code uses this wherever redeemed points become money.
    pub fn points_value(&self, points: i64, currency: Currency) -> Option<i64> {
        points.checked_mul(self.point_value(currency))
    }

    /// `points` as money, or `amount_too_large` when that overflows.
    pub fn points_money(&self, points: i64, currency: Currency) -> Result<Money, AmountTooLarge> {
        self.points_value(points, currency)
            .map(|minor| Money::new(currency, minor))
            .ok_or(AmountTooLarge::overflow(currency))
    }

    /// Points earned on `card_amount` at a merchant whose campaign multiplies by
    /// `multiplier_percent` (at least 100): (base from the issuer, extra funded by the
    /// merchant). `None` when the total would not fit in an `i64`: the caller refuses the
    /// amount rather than credit a wrapped number.
    pub fn checked_earned(
        &self,
        card_amount: Money,
        multiplier_percent: i64,
    ) -> Option<(i64, i64)> {
        let base = card_amount.minor.max(0) / self.earn_unit(card_amount.currency).max(1);
        // In i128, where base × any i64 multiplier fits.
        let total = i128::from(base) * i128::from(multiplier_percent.max(100)) / 100;
        let total = i64::try_from(total).ok()?;
        Some((base, total - base))
    }

    /// As [`PointsPolicy::checked_earned`], saturating at `i64::MAX` points instead of
    /// refusing: for previews. A capture calls `checked_earned`.
    pub fn earned(&self, card_amount: Money, multiplier_percent: i64) -> (i64, i64) {
        self.checked_earned(card_amount, multiplier_percent)
            .unwrap_or_else(|| {
                let base = card_amount.minor.max(0) / self.earn_unit(card_amount.currency).max(1);
                (base, i64::MAX - base)
            })
    }

    /// The points a payment of `amount` would earn at a campaign of `multiplier_percent`, if
    /// the card paid all of it: what the consent page previews.
    pub fn earn_preview(&self, amount: Money, multiplier_percent: i64) -> i64 {
        let (base, extra) = self.earned(amount, multiplier_percent);
        base.saturating_add(extra)
    }

    /// The share of `total` that corresponds to `part` of `of`, rounded down; the last refund
    /// (part == of) takes exactly what is left, so nothing is lost to rounding.
    pub fn pro_rata(total: i64, part: i64, of: i64) -> i64 {
        if of <= 0 || part <= 0 {
            return 0;
        }
        if part >= of {
            return total;
        }
        // 0 < part < of: the share lies between 0 and `total`, so it fits.
        i64::try_from(i128::from(total) * i128::from(part) / i128::from(of)).unwrap_or(total)
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
    fn a_thousand_percent_campaign_on_a_huge_amount_is_exact_or_refused_never_wrapped() {
        let p = PointsPolicy::default();
        let huge = Money::new(Currency::Jpy, i64::MAX);
        // base × 1000 passes i64::MAX before the division by 100: computed wide, it is exact.
        let base = i64::MAX / 100;
        assert_eq!(p.checked_earned(huge, 1000), Some((base, 9 * base)));
        let one_yen_a_point = PointsPolicy {
            earn_jpy: 1,
            ..PointsPolicy::default()
        };
        assert_eq!(one_yen_a_point.checked_earned(huge, 1000), None);
        let (base, extra) = one_yen_a_point.earned(huge, 1000);
        assert_eq!(base, i64::MAX);
        assert_eq!(
            extra, 0,
            "a preview saturates; the campaign is never credited a wrap"
        );
        assert_eq!(
            p.checked_earned(Money::new(Currency::Jpy, 10_000_000), 1000),
            Some((100_000, 900_000)),
            "the largest default amount at the largest campaign"
        );
    }

    #[test]
    fn points_value_refuses_overflow() {
        let p = PointsPolicy {
            value_jpy: 3,
            ..PointsPolicy::default()
        };
        assert_eq!(p.points_value(100, Currency::Jpy), Some(300));
        assert_eq!(p.points_value(i64::MAX / 2, Currency::Jpy), None);
        assert_eq!(
            p.points_money(i64::MAX, Currency::Jpy),
            Err(AmountTooLarge::overflow(Currency::Jpy))
        );
        assert_eq!(
            p.points_money(7, Currency::Usd),
            Ok(Money::new(Currency::Usd, 7))
        );
    }

    #[test]
    fn pro_rata_rounds_down_and_the_last_share_is_exact() {
        assert_eq!(PointsPolicy::pro_rata(128, 2_800, 12_800), 28);
        assert_eq!(PointsPolicy::pro_rata(128, 12_800, 12_800), 128);
        assert_eq!(PointsPolicy::pro_rata(128, 1, 0), 0);
    }

    use proptest::prelude::*;

    fn any_currency() -> impl Strategy<Value = Currency> {
        prop_oneof![Just(Currency::Jpy), Just(Currency::Usd)]
    }

    proptest! {
        #[test]
        fn earned_points_never_wrap_or_panic(
            currency in any_currency(),
            minor in any::<i64>(),
            multiplier in any::<i64>(),
            earn_unit in 1_i64..=10_000,
        ) {
            let p = PointsPolicy { earn_jpy: earn_unit, earn_usd: earn_unit, ..PointsPolicy::default() };
            let amount = Money::new(currency, minor);
            let base = i128::from(minor.max(0) / earn_unit);
            let total = base * i128::from(multiplier.max(100)) / 100;
            match p.checked_earned(amount, multiplier) {
                Some((b, extra)) => {
                    prop_assert_eq!(i128::from(b), base);
                    prop_assert_eq!(i128::from(b) + i128::from(extra), total);
                    prop_assert!(extra >= 0);
                }
                None => prop_assert!(total > i128::from(i64::MAX)),
            }
            let (b, extra) = p.earned(amount, multiplier);
            prop_assert!(b >= 0 && extra >= 0);
            prop_assert!(b.checked_add(extra).is_some());
        }

        #[test]
        fn amounts_within_the_limits_always_earn_at_any_campaign(
            currency in any_currency(),
            minor in 0_i64..=10_000_000,
            multiplier in 100_i64..=1000,
        ) {
            let p = PointsPolicy::default();
            let earned = p.checked_earned(Money::new(currency, minor), multiplier);
            prop_assert!(earned.is_some());
        }

        #[test]
        fn points_value_is_exact_or_refused(
            points in any::<i64>(),
            value in 1_i64..=i64::MAX,
        ) {
            let p = PointsPolicy { value_jpy: value, ..PointsPolicy::default() };
            let wide = i128::from(points) * i128::from(value);
            prop_assert_eq!(
                p.points_value(points, Currency::Jpy).map(i128::from),
                (i64::try_from(wide).is_ok()).then_some(wide)
            );
        }

        #[test]
        fn pro_rata_shares_lie_between_zero_and_the_total(
            total in any::<i64>(),
            part in any::<i64>(),
            of in any::<i64>(),
        ) {
            let share = PointsPolicy::pro_rata(total, part, of);
            if of > 0 && part >= of {
                prop_assert_eq!(share, total);
            } else {
                prop_assert!(share.unsigned_abs() <= total.unsigned_abs());
                prop_assert!(share == 0 || (share < 0) == (total < 0));
            }
        }
    }
}
