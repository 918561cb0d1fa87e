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

impl Money {
    /// Parses a decimal string in major units with exactly the currency's minor digits: JPY
    /// "12800", USD "12.50". No sign, no exponent, no leading '+', no spaces, no thousands
    /// separators, no leading zeros except a single "0" before the point; must fit in i64 minor
    /// units.
    pub fn parse_major(currency: Currency, amount: &str) -> Option<Self> {
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
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let fraction: i64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().ok()?
        };
        let minor = whole
            .checked_mul(10_i64.pow(digits))?
            .checked_add(fraction)?;
        Some(Self { currency, minor })
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
        fn arbitrary_strings_never_panic(currency in any_currency(), raw in "[0-9.+e -]{0,25}") {
            if let Some(money) = Money::parse_major(currency, &raw) {
                prop_assert_eq!(money.to_major_string(), raw);
            }
        }
    }
}
