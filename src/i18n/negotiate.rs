//! `Accept-Language` (RFC 9110 §12.5.4): the wallet language the browser prefers most.

use super::Locale;

/// The supported language with the highest weight; ties go to the earlier entry, `q=0` means
/// "not this one", `*` means any (English). `None` when the browser wants none we speak.
pub fn from_accept_language(header: &str) -> Option<Locale> {
    let mut best: Option<(u16, Locale)> = None;
    for item in header.split(',').take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .next()
            .map(parse_weight)
            .unwrap_or(Some(1000));
        let Some(weight) = weight.filter(|w| *w > 0) else {
            continue;
        };
        let primary = tag.split('-').next().unwrap_or("");
        let locale = if tag == "*" {
            Some(Locale::En)
        } else {
            Locale::parse(primary)
        };
        if let Some(locale) = locale {
            if best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, locale));
            }
        }
    }
    best.map(|(_, l)| l)
}

/// A q-value in thousandths: "0.8" → 800, "1" → 1000; malformed → `None`.
fn parse_weight(q: &str) -> Option<u16> {
    let q = q.trim();
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match whole {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let fraction: u16 = format!("{fraction:0<3}").parse().ok()?;
    let w = whole * 1000 + fraction;
    (w <= 1000).then_some(w)
}
