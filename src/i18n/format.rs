//! Amounts and times for people, in the request's language and time zone.

use jiff::Timestamp;

use super::{Locale, Tr};
use crate::money::Money;

impl Tr {
    /// A moment, in the shopper's zone: "2026-11-30 06:40 JST" or "2026年11月30日 06:40 JST".
    pub fn time(&self, unix: i64) -> String {
        let Ok(at) = Timestamp::from_second(unix) else {
            return String::new();
        };
        let zoned = at.to_zoned(self.zone().clone());
        let pattern = match self.locale() {
            Locale::En => "%Y-%m-%d %H:%M %Z",
            Locale::Ja => "%Y年%-m月%-d日 %H:%M %Z",
        };
        zoned.strftime(pattern).to_string()
    }

    /// A day, in the shopper's zone: "30 Nov 2026" or "2026年11月30日".
    pub fn date(&self, unix: i64) -> String {
        let Ok(at) = Timestamp::from_second(unix) else {
            return String::new();
        };
        let zoned = at.to_zoned(self.zone().clone());
        let pattern = match self.locale() {
            Locale::En => "%-d %b %Y",
            Locale::Ja => "%Y年%-m月%-d日",
        };
        zoned.strftime(pattern).to_string()
    }

    /// An amount: "¥12,800" (both languages), "$12.50" or "US$12.50" in Japanese, where "$"
    /// alone could be any dollar.
    pub fn money(&self, amount: Money) -> String {
        let shown = amount.format_display();
        match (self.locale(), amount.currency.code()) {
            (Locale::Ja, "USD") => shown.replacen('$', "US$", 1),
            _ => shown,
        }
    }

    /// A count with digit groups: "1,234".
    pub fn number(&self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if n < 0 {
            out.push('-');
        }
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }
}
