//! Card inputs parsed once at the edge: the card number (brand by BIN range, length, Luhn),
//! expiry, security code and holder name. The number and code are held in memory that is wiped
//! on drop, and nothing here ever shows more of a number than its BIN and last four digits.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::text::{code_point, hidden_character};

/// A card network Saifu accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Jcb,
    Diners,
    Discover,
    UnionPay,
}

impl Brand {
    /// The stored name (database column, test-card table).
    pub fn as_str(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Jcb => "jcb",
            Brand::Diners => "diners",
            Brand::Discover => "discover",
            Brand::UnionPay => "unionpay",
        }
    }

    pub fn parse(s: &str) -> Option<Brand> {
        Some(match s {
            "visa" => Brand::Visa,
            "mastercard" => Brand::Mastercard,
            "amex" => Brand::Amex,
            "jcb" => Brand::Jcb,
            "diners" => Brand::Diners,
            "discover" => Brand::Discover,
            "unionpay" => Brand::UnionPay,
            _ => return None,
        })
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Brand::Visa => "Visa",
            Brand::Mastercard => "Mastercard",
            Brand::Amex => "American Express",
            Brand::Jcb => "JCB",
            Brand::Diners => "Diners Club",
            Brand::Discover => "Discover",
            Brand::UnionPay => "UnionPay",
        }
    }

    pub fn cvc_len(self) -> usize {
        match self {
            Brand::Amex => 4,
            _ => 3,
        }
    }

    fn accepts_length(self, len: usize) -> bool {
        match self {
            Brand::Visa => matches!(len, 13 | 16 | 19),
            Brand::Mastercard => len == 16,
            Brand::Amex => len == 15,
            Brand::Jcb | Brand::Discover | Brand::UnionPay => (16..=19).contains(&len),
            Brand::Diners => (14..=19).contains(&len),
        }
    }

    /// The brand whose BIN range holds `digits`. Narrow ranges are tested before the wider ones
    /// they sit inside (Discover's 622126–622925 lies within UnionPay's 62).
    fn from_digits(digits: &str) -> Option<Brand> {
        let lead = |n: usize| -> u32 {
            digits
                .get(..n)
                .and_then(|p| p.parse().ok())
                .unwrap_or(u32::MAX)
        };
        let (p1, p2, p3, p4, p6) = (lead(1), lead(2), lead(3), lead(4), lead(6));
        let brand = if (622126..=622925).contains(&p6)
            || p4 == 6011
            || (644..=649).contains(&p3)
            || p2 == 65
        {
            Brand::Discover
        } else if p2 == 62 || p2 == 81 {
            Brand::UnionPay
        } else if (3528..=3589).contains(&p4) {
            Brand::Jcb
        } else if p2 == 34 || p2 == 37 {
            Brand::Amex
        } else if (300..=305).contains(&p3) || p4 == 3095 || p2 == 36 || (38..=39).contains(&p2) {
            Brand::Diners
        } else if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) {
            Brand::Mastercard
        } else if p1 == 4 {
            Brand::Visa
        } else {
            return None;
        };
        Some(brand)
    }
}

/// Longest raw input looked at; anything longer is refused before any other work.
const MAX_RAW_NUMBER_LEN: usize = 64;

/// A card number that passed brand, length and Luhn checks. Its digits are wiped on drop, and
/// `Debug`/`Display` show only the last four.
pub struct CardNumber {
    digits: Zeroizing<String>,
    brand: Brand,
}

impl CardNumber {
    /// Removes spaces and dashes (and surrounding whitespace); then digits only; Luhn; brand
    /// from BIN ranges; length valid for the brand.
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.len() > MAX_RAW_NUMBER_LEN {
            return Err(enter_number());
        }
        // Reserved up front so the buffer never reallocates and leaves an unwiped copy behind.
        let mut digits = Zeroizing::new(String::with_capacity(MAX_RAW_NUMBER_LEN));
        for c in raw.trim().chars() {
            match c {
                ' ' | '-' => {}
                '0'..='9' => digits.push(c),
                _ => return Err(enter_number()),
            }
        }
        if !(13..=19).contains(&digits.len()) {
            return Err(enter_number());
        }
        // A typo fails the check digit whatever network the number looks like: say so, rather
        // than naming the networks Saifu accepts.
        if !luhn_valid(&digits) {
            return Err(
                invalid_number("This card number is not valid. Check it and try again.")
                    .worded("card-refusal-number-check-digit", &[]),
            );
        }
        let brand = Brand::from_digits(&digits).ok_or_else(|| {
            Error::invalid(
                "unsupported_brand",
                "Saifu accepts Visa, Mastercard, American Express, JCB, Diners Club, Discover \
                 and UnionPay cards.",
            )
            .on_field("number")
            .worded("card-refusal-number-network", &[])
        })?;
        if !brand.accepts_length(digits.len()) {
            return Err(invalid_number(format!(
                "{} card numbers do not have this many digits. Check the number and try again.",
                brand.display_name()
            ))
            .worded(
                "card-refusal-number-length",
                &[("brand", brand.display_name())],
            ));
        }
        Ok(Self { digits, brand })
    }

    pub fn brand(&self) -> Brand {
        self.brand
    }

    pub fn last4(&self) -> &str {
        &self.digits[self.digits.len() - 4..]
    }

    /// The first six digits.
    pub fn bin(&self) -> &str {
        &self.digits[..6]
    }

    /// All the digits: only for encryption and the processor call.
    pub fn expose(&self) -> &str {
        &self.digits
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "•••• {}", self.last4())
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "•••• {}", self.last4())
    }
}

/// No number, or not 13 to 19 digits.
fn enter_number() -> Error {
    invalid_number("Enter the 13 to 19 digit number on the front of your card.")
        .worded("card-refusal-number-digits", &[])
}

fn invalid_number(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::invalid("invalid_card_number", message).on_field("number")
}

/// The Luhn (mod 10) check over ASCII digits.
fn luhn_valid(digits: &str) -> bool {
    luhn_sum(digits).is_multiple_of(10)
}

/// The Luhn sum of ASCII digits: every second digit from the right doubled (less 9 when over 9).
fn luhn_sum(digits: &str) -> u32 {
    digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum()
}

/// The month a card expires. A card is valid through the last day of that month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    month: u8,
    year: u16,
}

/// How far ahead an expiry may be, in months.
const MAX_MONTHS_AHEAD: i32 = 20 * 12;

impl Expiry {
    /// Accepts "MM/YY", "MM / YY", "MM/YYYY", "MMYY", "M/YY". Month 1–12; valid through the last
    /// day of its month; at most 20 years after `today`. A two-digit year is read as the year
    /// within 50 years of `today` that ends in those digits.
    pub fn parse(raw: &str, today: time::Date) -> Result<Self> {
        let malformed = || {
            invalid_expiry("Enter the expiry date as MM/YY, as printed on your card.")
                .worded("card-refusal-expiry-format", &[])
        };
        let raw = raw.trim();
        if raw.len() > 16 {
            return Err(malformed());
        }
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (month, year) = match raw.split_once('/') {
            Some((m, y)) => (m.trim(), y.trim()),
            None if raw.len() == 4 && all_digits(raw) => raw.split_at(2),
            None => return Err(malformed()),
        };
        if !all_digits(month) || month.len() > 2 || !all_digits(year) {
            return Err(malformed());
        }
        let month: u8 = month.parse().map_err(|_| malformed())?;
        if !(1..=12).contains(&month) {
            return Err(
                invalid_expiry("The expiry month must be between 01 and 12.")
                    .worded("card-refusal-expiry-month", &[]),
            );
        }
        let year: i32 = match year.len() {
            4 => year.parse().map_err(|_| malformed())?,
            2 => {
                let yy: i32 = year.parse().map_err(|_| malformed())?;
                let mut full = today.year().div_euclid(100) * 100 + yy;
                if full > today.year() + 50 {
                    full -= 100;
                } else if full < today.year() - 50 {
                    full += 100;
                }
                full
            }
            _ => return Err(malformed()),
        };
        let year = u16::try_from(year)
            .ok()
            .filter(|y| (1000..=9999).contains(y))
            .ok_or_else(malformed)?;
        let expiry = Self { month, year };
        if expiry.is_expired(today) {
            return Err(Error::invalid("card_expired", "This card has expired.")
                .on_field("expiry")
                .worded("card-refusal-expiry-past", &[]));
        }
        if expiry.month_index() - month_index(today) > MAX_MONTHS_AHEAD {
            return Err(invalid_expiry(
                "This expiry date is too far in the future. Check it and try again.",
            )
            .worded("card-refusal-expiry-too-far", &[]));
        }
        Ok(expiry)
    }

    /// For rows read back from the database: checks the shape only, not whether it has passed.
    pub fn new(month: u8, year: u16) -> Option<Self> {
        ((1..=12).contains(&month) && (1000..=9999).contains(&year)).then_some(Self { month, year })
    }

    pub fn month(self) -> u8 {
        self.month
    }

    /// The four-digit year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// True from the first day of the month after the expiry month.
    pub fn is_expired(self, today: time::Date) -> bool {
        self.month_index() < month_index(today)
    }

    fn month_index(self) -> i32 {
        i32::from(self.year) * 12 + i32::from(self.month) - 1
    }
}

fn month_index(date: time::Date) -> i32 {
    date.year() * 12 + i32::from(u8::from(date.month())) - 1
}

fn invalid_expiry(message: &'static str) -> Error {
    Error::invalid("invalid_expiry", message).on_field("expiry")
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}/{:02}", self.month, self.year % 100)
    }
}

/// The card security code. Sent to the processor's card verification once, then dropped; it is
/// wiped on drop and has no `Display`, `Serialize` or `Clone` so it cannot leak by accident.
pub struct Cvc {
    digits: Zeroizing<String>,
}

impl Cvc {
    /// Surrounding whitespace is ignored; then exactly `brand.cvc_len()` digits.
    pub fn parse(raw: &str, brand: Brand) -> Result<Self> {
        let trimmed = raw.trim();
        if trimmed.len() != brand.cvc_len() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
            let (message, id) = if brand.cvc_len() == 4 {
                (
                    "Enter the 4-digit security code on the front of your card.",
                    "card-refusal-cvc-front",
                )
            } else {
                (
                    "Enter the 3-digit security code on the back of your card.",
                    "card-refusal-cvc-back",
                )
            };
            return Err(Error::invalid("invalid_cvc", message)
                .on_field("cvc")
                .worded(id, &[]));
        }
        Ok(Self {
            digits: Zeroizing::new(trimmed.to_owned()),
        })
    }

    /// The digits: only for the processor's card verification.
    pub fn expose(&self) -> &str {
        &self.digits
    }
}

impl fmt::Debug for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvc(***)")
    }
}

/// The name on the card, as shown back to the shopper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderName(String);

const MAX_HOLDER_CHARS: usize = 100;

impl HolderName {
    /// Trimmed, with every run of whitespace (tabs and line breaks included) made one space;
    /// then 1–100 characters, none of them a control or format character (a bidi override, a
    /// zero-width space…): refused, not stripped, so the shopper sees what is kept.
    pub fn parse(raw: &str) -> Result<Self> {
        let invalid = |message: &'static str, id| {
            Error::invalid("invalid_holder_name", message)
                .on_field("holder")
                .worded(id, &[])
        };
        let too_long = || {
            invalid(
                "The name on the card can be at most 100 characters.",
                "card-refusal-holder-too-long",
            )
        };
        // Generous for 100 characters of any script plus stray spaces, and bounds the work.
        if raw.len() > MAX_HOLDER_CHARS * 8 {
            return Err(too_long());
        }
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(invalid(
                "Enter the name on the card.",
                "card-refusal-holder-empty",
            ));
        }
        if let Some(c) = hidden_character(&name) {
            return Err(Error::invalid(
                "invalid_holder_name",
                format!(
                    "The name on the card contains an invisible or control character ({}). Type the name again without it.",
                    code_point(c)
                ),
            )
            .on_field("holder")
            .worded("card-refusal-holder-hidden", &[("char", &code_point(c))]));
        }
        if name.chars().count() > MAX_HOLDER_CHARS {
            return Err(too_long());
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests;
