//! Amounts of money: a currency plus an integer count of its minor units, never floats. Parses
//! and prints the API's decimal strings in major units ("12800" yen, "12.50" dollars).

use std::fmt::Write as _;

/// A currency Saifu handles, serialized as its ISO 4217 code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Jpy,
    Usd,
}

impl Currency {
    /// The exact upper-case ISO 4217 code: "JPY" or "USD".
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "JPY" => Some(Currency::Jpy),
            "USD" => Some(Currency::Usd),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Currency::Jpy => "JPY",
            Currency::Usd => "USD",
        }
    }

    /// ISO 4217 minor-unit digits.
    pub fn minor_digits(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            Currency::Usd => 2,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Currency::Jpy => "¥",
            Currency::Usd => "$",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Money {
    pub currency: Currency,
    pub minor: i64,
}

/// Why an amount string was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseAmountError {
    /// Not a decimal in the currency's shape ("12.5" for USD, "1e3", "-1", …).
    Malformed,
    /// Well formed, but more minor units than an `i64` holds.
    TooLarge,
}

impl Money {
    pub fn new(currency: Currency, minor: i64) -> Self {
        Self { currency, minor }
    }

    /// Parses a decimal string in major units with exactly the currency's minor digits: JPY
    /// "12800", USD "12.50". No sign, no exponent, no leading '+', no spaces, no thousands
    /// separators, no leading zeros except a single "0" before the point; must fit in i64 minor
    /// units.
    pub fn parse_major(currency: Currency, amount: &str) -> Option<Self> {
        Self::parse_major_exact(currency, amount).ok()
    }

    /// As [`Money::parse_major`], telling a malformed string from one too large for `i64`
    /// minor units (any number of digits is read without overflow).
    pub fn parse_major_exact(currency: Currency, amount: &str) -> Result<Self, ParseAmountError> {
        let digits = currency.minor_digits();
        let (whole, fraction) = match amount.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (amount, ""),
        };
        let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let shape_ok = !whole.is_empty()
            && is_digits(whole)
            && (whole == "0" || !whole.starts_with('0'))
            && is_digits(fraction)
            && fraction.len() == digits as usize
            // JPY "12800." has a point but no minor digits.
            && (digits > 0 || !amount.contains('.'));
        if !shape_ok {
            return Err(ParseAmountError::Malformed);
        }
        // Digit by digit with checked steps: a string of any length cannot wrap.
        let minor = whole
            .bytes()
            .chain(fraction.bytes())
            .try_fold(0_i64, |acc, b| {
                acc.checked_mul(10)?.checked_add(i64::from(b - b'0'))
            })
            .ok_or(ParseAmountError::TooLarge)?;
        Ok(Self { currency, minor })
    }

    /// `self + other`; `None` on overflow or when the currencies differ.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency).then_some(())?;
        Some(Money::new(
            self.currency,
            self.minor.checked_add(other.minor)?,
        ))
    }

    /// `self - other`; `None` on overflow or when the currencies differ.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        (self.currency == other.currency).then_some(())?;
        Some(Money::new(
            self.currency,
            self.minor.checked_sub(other.minor)?,
        ))
    }

    /// `self × factor` (a quantity, say); `None` on overflow.
    pub fn checked_mul(self, factor: i64) -> Option<Money> {
        Some(Money::new(self.currency, self.minor.checked_mul(factor)?))
    }

    /// The API form, inverse of [`Money::parse_major`]: 12800 JPY → "12800", 1250 USD →
    /// "12.50". A negative amount (a difference, never an input) gets a leading '-'.
    pub fn to_major_string(self) -> String {
        let (sign, whole, fraction) = self.split();
        match self.currency.minor_digits() {
            0 => format!("{sign}{whole}"),
            digits => format!("{sign}{whole}.{fraction:0width$}", width = digits as usize),
        }
    }

    /// For people: "¥12,800", "$12.50", "-$3.00".
    pub fn format_display(self) -> String {
        let (sign, whole, fraction) = self.split();
        let whole = whole.to_string();
        let mut out = format!("{sign}{}", self.currency.symbol());
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        let digits = self.currency.minor_digits() as usize;
        if digits > 0 {
            let _ = write!(out, ".{fraction:0digits$}");
        }
        out
    }

    /// Sign, whole major units and minor remainder, without overflow at `i64::MIN`.
    fn split(self) -> (&'static str, u64, u64) {
        let scale = 10_u64.pow(self.currency.minor_digits());
        let magnitude = self.minor.unsigned_abs();
        let sign = if self.minor < 0 { "-" } else { "" };
        (sign, magnitude / scale, magnitude % scale)
    }
}

/// An amount over the wallet's limit for its currency, or past what the arithmetic can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmountTooLarge {
    pub currency: Currency,
    /// The configured maximum that was passed; `None` when a sum or product overflowed.
    pub limit: Option<Money>,
}

impl AmountTooLarge {
    /// A sum or product in `currency` that no `i64` holds.
    pub fn overflow(currency: Currency) -> Self {
        Self {
            currency,
            limit: None,
        }
    }
}

impl std::fmt::Display for AmountTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.limit {
            Some(limit) => write!(
                f,
                "{} amounts are limited to {}",
                self.currency.code(),
                limit.to_major_string()
            ),
            None => write!(f, "the {} amount is too large", self.currency.code()),
        }
    }
}

impl std::error::Error for AmountTooLarge {}

/// The largest amount the wallet takes, per currency: a payment over it is refused when it is
/// pushed. Configured as `JPY=10000000,USD=100000.00` (`SAIFU_MAX_AMOUNTS`); a currency left
/// out keeps its default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct AmountLimits {
    jpy: i64,
    usd: i64,
}

impl Default for AmountLimits {
    /// ¥10,000,000 and $100,000.00.
    fn default() -> Self {
        Self {
            jpy: 10_000_000,
            usd: 10_000_000,
        }
    }
}

impl AmountLimits {
    /// `CODE=AMOUNT` pairs separated by commas, each amount in major units with the
    /// currency's minor digits and greater than zero: `JPY=10000000,USD=100000.00`.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_over(Self::default(), text)
    }

    /// [`AmountLimits::parse`], with the currencies left out keeping `defaults`.
    fn parse_over(defaults: Self, text: &str) -> Result<Self, String> {
        let mut limits = defaults;
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (code, amount) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not CODE=AMOUNT"))?;
            let currency = Currency::parse(code.trim())
                .ok_or_else(|| format!("{code:?} is not a supported currency (JPY, USD)"))?;
            let max = Money::parse_major(currency, amount.trim())
                .filter(|m| m.minor > 0)
                .ok_or_else(|| {
                    format!(
                        "{amount:?} is not a positive {} amount with {} decimal places",
                        currency.code(),
                        currency.minor_digits()
                    )
                })?;
            match currency {
                Currency::Jpy => limits.jpy = max.minor,
                Currency::Usd => limits.usd = max.minor,
            }
        }
        Ok(limits)
    }

    /// The largest amount taken in `currency`.
    pub fn max(&self, currency: Currency) -> Money {
        let minor = match currency {
            Currency::Jpy => self.jpy,
            Currency::Usd => self.usd,
        };
        Money::new(currency, minor)
    }

    /// Refuses an amount over its currency's limit.
    pub fn check(&self, amount: Money) -> Result<Money, AmountTooLarge> {
        let max = self.max(amount.currency);
        if amount.minor > max.minor {
            return Err(AmountTooLarge {
                currency: amount.currency,
                limit: Some(max),
            });
        }
        Ok(amount)
    }
}

impl TryFrom<String> for AmountLimits {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl std::fmt::Display for AmountLimits {
    /// The configured form, every currency named: `JPY=10000000,USD=100000.00`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let jpy = self.max(Currency::Jpy).to_major_string();
        let usd = self.max(Currency::Usd).to_major_string();
        write!(f, "JPY={jpy},USD={usd}")
    }
}

/// The most the guarantee fund pays for one dispute, per currency: by default ¥100,000 and
/// $1,000.00. Configured like [`AmountLimits`] (`SAIFU_GUARANTEE_CAP=JPY=100000,USD=1000.00`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct GuaranteeCap(AmountLimits);

impl Default for GuaranteeCap {
    fn default() -> Self {
        Self(AmountLimits {
            jpy: 100_000,
            usd: 100_000,
        })
    }
}

impl GuaranteeCap {
    pub fn parse(text: &str) -> Result<Self, String> {
        AmountLimits::parse_over(Self::default().0, text).map(Self)
    }

    /// The cap in `currency`.
    pub fn max(&self, currency: Currency) -> Money {
        self.0.max(currency)
    }
}

impl TryFrom<String> for GuaranteeCap {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl std::fmt::Display for GuaranteeCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn jpy(minor: i64) -> Money {
        Money {
            currency: Currency::Jpy,
            minor,
        }
    }

    fn usd(minor: i64) -> Money {
        Money {
            currency: Currency::Usd,
            minor,
        }
    }

    #[test]
    fn currency_codes_are_exact_upper_case() {
        assert_eq!(Currency::parse("JPY"), Some(Currency::Jpy));
        assert_eq!(Currency::parse("USD"), Some(Currency::Usd));
        for code in ["jpy", "Usd", " JPY", "EUR", ""] {
            assert_eq!(Currency::parse(code), None, "{code:?}");
        }
        assert_eq!(Currency::Jpy.code(), "JPY");
        assert_eq!(Currency::Usd.minor_digits(), 2);
        assert_eq!(Currency::Jpy.minor_digits(), 0);
    }

    #[test]
    fn currency_serializes_as_its_code() {
        assert_eq!(serde_json::to_string(&Currency::Jpy).unwrap(), "\"JPY\"");
        assert_eq!(
            serde_json::from_str::<Currency>("\"USD\"").unwrap(),
            Currency::Usd
        );
        assert!(serde_json::from_str::<Currency>("\"usd\"").is_err());
    }

    #[test]
    fn parses_well_formed_amounts() {
        let cases = [
            (Currency::Jpy, "12800", 12800),
            (Currency::Jpy, "0", 0),
            (Currency::Jpy, "1", 1),
            (Currency::Usd, "12.50", 1250),
            (Currency::Usd, "0.05", 5),
            (Currency::Usd, "0.00", 0),
            (Currency::Jpy, "9223372036854775807", i64::MAX),
            (Currency::Usd, "92233720368547758.07", i64::MAX),
        ];
        for (currency, raw, minor) in cases {
            assert_eq!(
                Money::parse_major(currency, raw),
                Some(Money { currency, minor }),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn refuses_malformed_amounts() {
        let usd_cases = [
            "12.5",
            "12",
            "12.",
            "12.500",
            ".50",
            "-1.00",
            "+1.00",
            "1e3",
            "0012.00",
            "00.50",
            "",
            " 1.00",
            "1.00 ",
            "1,000.00",
            "1_000.00",
            "1.0a",
            "1..00",
            "1.-5",
            "١.٠٠",
            "92233720368547758.08",
        ];
        for raw in usd_cases {
            assert_eq!(Money::parse_major(Currency::Usd, raw), None, "USD {raw:?}");
        }
        let jpy_cases = [
            "12.50",
            "12.",
            "-1",
            "+1",
            "1e3",
            "0012",
            "00",
            "",
            " 1",
            "1 ",
            "12,800",
            "0.0",
            "9223372036854775808",
            "99999999999999999999999",
        ];
        for raw in jpy_cases {
            assert_eq!(Money::parse_major(Currency::Jpy, raw), None, "JPY {raw:?}");
        }
    }

    #[test]
    fn major_strings_round_trip() {
        assert_eq!(jpy(12800).to_major_string(), "12800");
        assert_eq!(usd(1250).to_major_string(), "12.50");
        assert_eq!(usd(5).to_major_string(), "0.05");
        assert_eq!(usd(0).to_major_string(), "0.00");
        assert_eq!(jpy(0).to_major_string(), "0");
        assert_eq!(usd(-305).to_major_string(), "-3.05");
        assert_eq!(jpy(i64::MIN).to_major_string(), "-9223372036854775808");
        for m in [jpy(12800), usd(1250), usd(5), jpy(i64::MAX), usd(i64::MAX)] {
            assert_eq!(
                Money::parse_major(m.currency, &m.to_major_string()),
                Some(m)
            );
        }
    }

    #[test]
    fn display_groups_thousands_with_the_symbol() {
        assert_eq!(jpy(12800).format_display(), "¥12,800");
        assert_eq!(jpy(800).format_display(), "¥800");
        assert_eq!(jpy(1_000_000).format_display(), "¥1,000,000");
        assert_eq!(jpy(0).format_display(), "¥0");
        assert_eq!(usd(1250).format_display(), "$12.50");
        assert_eq!(usd(123_456_789).format_display(), "$1,234,567.89");
        assert_eq!(usd(7).format_display(), "$0.07");
        assert_eq!(usd(-300).format_display(), "-$3.00");
        assert_eq!(jpy(-12800).format_display(), "-¥12,800");
    }

    #[test]
    fn huge_digit_strings_are_too_large_not_malformed_and_never_wrap() {
        let huge = "9".repeat(4_000);
        for (currency, raw) in [
            (Currency::Jpy, "9223372036854775808"),
            (Currency::Jpy, "18446744073709551616"),
            (Currency::Usd, "92233720368547758.08"),
            (Currency::Jpy, huge.as_str()),
        ] {
            assert_eq!(
                Money::parse_major_exact(currency, raw),
                Err(ParseAmountError::TooLarge),
                "{raw:.30}"
            );
        }
        assert_eq!(
            Money::parse_major_exact(Currency::Usd, "1e3"),
            Err(ParseAmountError::Malformed)
        );
    }

    #[test]
    fn limits_default_for_every_currency_and_refuse_what_is_over() {
        let limits = AmountLimits::default();
        assert_eq!(limits.max(Currency::Jpy), jpy(10_000_000));
        assert_eq!(limits.max(Currency::Usd), usd(10_000_000));
        assert_eq!(limits.to_string(), "JPY=10000000,USD=100000.00");
        assert_eq!(limits.check(jpy(10_000_000)), Ok(jpy(10_000_000)));
        let refused = limits.check(jpy(i64::MAX)).unwrap_err();
        assert_eq!(refused.limit, Some(jpy(10_000_000)));
        assert_eq!(refused.to_string(), "JPY amounts are limited to 10000000");
        assert!(limits.check(usd(10_000_001)).is_err());
        assert_eq!(
            AmountTooLarge::overflow(Currency::Usd).to_string(),
            "the USD amount is too large"
        );
    }

    #[test]
    fn limits_are_configured_per_currency_and_checked_when_read() {
        let limits = AmountLimits::parse(" USD=250.00 ").unwrap();
        assert_eq!(limits.max(Currency::Usd), usd(25_000));
        assert_eq!(
            limits.max(Currency::Jpy),
            jpy(10_000_000),
            "left out: default"
        );
        let both = AmountLimits::parse("JPY=500,USD=5.00").unwrap();
        assert_eq!(both.to_string(), "JPY=500,USD=5.00");
        assert_eq!(AmountLimits::parse("").unwrap(), AmountLimits::default());
        for bad in [
            "JPY",
            "EUR=5",
            "JPY=0",
            "JPY=1.5",
            "USD=5",
            "JPY=-1",
            "JPY=99999999999999999999",
        ] {
            assert!(AmountLimits::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checked_arithmetic_refuses_overflow_and_mixed_currencies() {
        assert_eq!(jpy(1).checked_add(jpy(2)), Some(jpy(3)));
        assert_eq!(jpy(i64::MAX).checked_add(jpy(1)), None);
        assert_eq!(jpy(1).checked_add(usd(1)), None);
        assert_eq!(usd(5).checked_sub(usd(7)), Some(usd(-2)));
        assert_eq!(usd(i64::MIN).checked_sub(usd(1)), None);
        assert_eq!(jpy(i64::MAX / 2 + 1).checked_mul(2), None);
        assert_eq!(jpy(6_400).checked_mul(3), Some(jpy(19_200)));
    }

    fn any_currency() -> impl Strategy<Value = Currency> {
        prop_oneof![Just(Currency::Jpy), Just(Currency::Usd)]
    }

    proptest! {
        #[test]
        fn non_negative_amounts_round_trip(currency in any_currency(), minor in 0..=i64::MAX) {
            let money = Money { currency, minor };
            prop_assert_eq!(Money::parse_major(currency, &money.to_major_string()), Some(money));
        }

        #[test]
        fn any_digit_string_parses_exactly_or_is_too_large(
            currency in any_currency(),
            whole in "[1-9][0-9]{0,40}",
        ) {
            let raw = match currency.minor_digits() {
                0 => whole.clone(),
                _ => format!("{whole}.00"),
            };
            let exact = whole.parse::<u128>().ok().and_then(|w| w.checked_mul(10_u128.pow(currency.minor_digits())));
            match Money::parse_major_exact(currency, &raw) {
                Ok(m) => prop_assert_eq!(Some(m.minor as u128), exact),
                Err(e) => {
                    prop_assert_eq!(e, ParseAmountError::TooLarge);
                    prop_assert!(exact.is_none_or(|v| v > i64::MAX as u128));
                }
            }
        }

        #[test]
        fn checked_sums_and_products_match_wide_arithmetic(
            a in any::<i64>(),
            b in any::<i64>(),
            q in 0_i64..=100_000,
        ) {
            let wide = |v: i128| i64::try_from(v).ok();
            prop_assert_eq!(jpy(a).checked_add(jpy(b)).map(|m| m.minor), wide(i128::from(a) + i128::from(b)));
            prop_assert_eq!(jpy(a).checked_sub(jpy(b)).map(|m| m.minor), wide(i128::from(a) - i128::from(b)));
            prop_assert_eq!(usd(a).checked_mul(q).map(|m| m.minor), wide(i128::from(a) * i128::from(q)));
        }

        #[test]
        fn the_limit_takes_exactly_the_amounts_up_to_it(
            currency in any_currency(),
            max in 1_i64..=i64::MAX,
            minor in any::<i64>(),
        ) {
            let limits = AmountLimits::parse(&format!(
                "{}={}",
                currency.code(),
                Money::new(currency, max).to_major_string()
            ))
            .unwrap();
            let amount = Money::new(currency, minor);
            prop_assert_eq!(limits.check(amount).is_ok(), minor <= max);
        }

        #[test]
        fn arbitrary_strings_never_panic(currency in any_currency(), raw in "[0-9.+e -]{0,25}") {
            if let Some(money) = Money::parse_major(currency, &raw) {
                prop_assert_eq!(money.to_major_string(), raw);
            }
        }
    }
}
