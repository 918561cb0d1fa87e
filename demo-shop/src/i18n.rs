//! The shop's languages (Japanese and English) and the shopper's time zone.
//!
//! Texts live in Fluent files under `demo-shop/i18n/<lang>/*.ftl`, with the same message ids in
//! every language (a test checks it), compiled into the binary. Pages find their words through
//! [`Tr`], which every page's `chrome` carries: `{{ chrome.tr.t("shop-nav-cart") }}`.
//!
//! The language comes from the `shop_lang` cookie (set by the switcher in every page's footer),
//! else from `Accept-Language`, else English; the time zone from the `shop_tz` cookie, else
//! Asia/Tokyo. The shop's middleware (`handlers::language`) reads them once per request and runs
//! the handler inside [`Prefs::scope`], so [`Tr::current`] gives the request's anywhere in it.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::shop::{Product, Yen};

fluent_templates::static_loader! {
    static TEXTS = {
        locales: "./i18n",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: pages hold exactly the words they show.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language the shop speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Locale {
    #[default]
    En,
    Ja,
}

impl Locale {
    pub(crate) const ALL: [Locale; 2] = [Locale::Ja, Locale::En];

    /// The BCP 47 tag, as in `<html lang>`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ja => "ja",
        }
    }

    /// The language's own name, for the switcher.
    pub(crate) fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Ja => "日本語",
        }
    }

    pub(crate) fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Locale::En),
            "ja" => Some(Locale::Ja),
            _ => None,
        }
    }

    fn id(self) -> LanguageIdentifier {
        match self {
            Locale::En => fluent_templates::langid!("en"),
            Locale::Ja => fluent_templates::langid!("ja"),
        }
    }
}

/// The shopper's time zone when none was chosen.
pub(crate) const DEFAULT_ZONE: &str = "Asia/Tokyo";

/// The zones the footer's chooser offers (the wallet's list); the chosen one is added when it is
/// another, and the page's script adds the device's own.
pub(crate) const ZONES: [&str; 12] = [
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Australia/Sydney",
    "Pacific/Honolulu",
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "UTC",
];

/// An IANA time zone name (`Asia/Tokyo`, `Europe/London`, `UTC`).
pub(crate) fn parse_zone(name: &str) -> Option<TimeZone> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    TimeZone::get(name).ok()
}

fn default_zone() -> TimeZone {
    parse_zone(DEFAULT_ZONE).unwrap_or(TimeZone::UTC)
}

/// `Accept-Language` (RFC 9110 §12.5.4): the supported language with the highest weight; ties
/// go to the earlier entry, `q=0` means "not this one", `*` means any (English).
pub(crate) fn from_accept_language(header: &str) -> Option<Locale> {
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
        let locale = if tag == "*" {
            Some(Locale::En)
        } else {
            Locale::parse(tag.split('-').next().unwrap_or(""))
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

/// One request's language and time zone.
#[derive(Clone, Debug)]
pub(crate) struct Prefs {
    pub(crate) locale: Locale,
    pub(crate) zone: TimeZone,
}

impl Default for Prefs {
    /// Outside a request: English, and the shop's own zone.
    fn default() -> Self {
        Self {
            locale: Locale::En,
            zone: default_zone(),
        }
    }
}

/// What a request's pages need to know of the request itself.
#[derive(Clone, Debug, Default)]
struct RequestContext {
    prefs: Prefs,
    /// The page's path and query (GET requests), where the language switcher returns to.
    here: Option<String>,
}

tokio::task_local! {
    static REQUEST: RequestContext;
}

impl Prefs {
    /// The cookies' choices, else the browser's language, else English; else Asia/Tokyo.
    pub(crate) fn from_request(
        lang_cookie: Option<&str>,
        zone_cookie: Option<&str>,
        accept_language: Option<&str>,
    ) -> Self {
        let locale = lang_cookie
            .and_then(Locale::parse)
            .or_else(|| accept_language.and_then(from_accept_language))
            .unwrap_or_default();
        let zone = zone_cookie
            .and_then(parse_zone)
            .unwrap_or_else(default_zone);
        Self { locale, zone }
    }

    /// Runs `fut` (a request's handler) with these preferences in force.
    pub(crate) async fn scope<F: std::future::Future>(
        self,
        here: Option<String>,
        fut: F,
    ) -> F::Output {
        REQUEST
            .scope(RequestContext { prefs: self, here }, fut)
            .await
    }

    fn current() -> Self {
        REQUEST.try_with(|r| r.prefs.clone()).unwrap_or_default()
    }
}

/// The path and query of the page being shown (a GET request), if any.
pub(crate) fn current_path() -> Option<String> {
    REQUEST.try_with(|r| r.here.clone()).ok().flatten()
}

/// Words, amounts and times in one language and time zone.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tr {
    prefs: Prefs,
}

impl Tr {
    pub(crate) fn new(prefs: Prefs) -> Self {
        Self { prefs }
    }

    /// The request's, or English outside a request.
    pub(crate) fn current() -> Self {
        Self::new(Prefs::current())
    }

    /// In `locale`, in the shop's own time zone.
    #[cfg(test)]
    pub(crate) fn of(locale: Locale) -> Self {
        Self::new(Prefs {
            locale,
            zone: default_zone(),
        })
    }

    pub(crate) fn locale(&self) -> Locale {
        self.prefs.locale
    }

    /// The `<html lang>` value.
    pub(crate) fn lang(&self) -> &'static str {
        self.prefs.locale.code()
    }

    /// The IANA name of the shopper's time zone.
    pub(crate) fn zone_name(&self) -> &str {
        self.prefs.zone.iana_name().unwrap_or("UTC")
    }

    /// The zones the chooser offers, the shopper's first when it is not a common one: (IANA
    /// name, is this one).
    pub(crate) fn zones(&self) -> Vec<(&str, bool)> {
        let current = self.zone_name();
        let mut zones: Vec<(&str, bool)> = ZONES.iter().map(|z| (*z, *z == current)).collect();
        if !ZONES.contains(&current) {
            zones.insert(0, (current, true));
        }
        zones
    }

    fn lookup(
        &self,
        id: &str,
        args: Option<&HashMap<Cow<'static, str>, FluentValue<'_>>>,
    ) -> Option<String> {
        TEXTS.try_lookup_complete(&self.prefs.locale.id(), id, args)
    }

    /// The message `id`. A missing id shows as the id itself (a test keeps that from shipping).
    pub(crate) fn t(&self, id: &str) -> String {
        self.lookup(id, None).unwrap_or_else(|| id.to_string())
    }

    /// The message `id`, or `fallback` when there is none.
    pub(crate) fn t_or(&self, id: &str, fallback: &str) -> String {
        self.lookup(id, None)
            .unwrap_or_else(|| fallback.to_string())
    }

    /// The message `id` with named arguments: `tr.args("shop-order-paid-notice", [("amount", "¥1,800")])`.
    pub(crate) fn args<'a>(&self, id: &str, args: impl AsRef<[(&'a str, &'a str)]>) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .as_ref()
            .iter()
            .map(|(name, value)| {
                (
                    Cow::Owned(name.to_string()),
                    FluentValue::from(value.to_string()),
                )
            })
            .collect();
        self.lookup(id, Some(&map))
            .unwrap_or_else(|| id.to_string())
    }

    /// The message `id` with one number argument, for plurals: `tr.count("shop-points", "count", 64)`.
    pub(crate) fn count(&self, id: &str, name: &str, n: i64) -> String {
        let mut map: HashMap<Cow<'static, str>, FluentValue<'_>> = HashMap::new();
        map.insert(Cow::Owned(name.to_string()), FluentValue::from(n));
        self.lookup(id, Some(&map))
            .unwrap_or_else(|| id.to_string())
    }

    /// A number of points: "64 points", "64ポイント".
    pub(crate) fn points(&self, n: i64) -> String {
        self.count("shop-points", "count", n)
    }

    /// An amount in yen: "¥1,800" in both languages, as the wallet writes it.
    pub(crate) fn yen(&self, amount: Yen) -> String {
        amount.to_string()
    }

    /// A moment in the shopper's zone: "2026-11-30 06:40 JST", "2026年11月30日 06:40 JST".
    pub(crate) fn time(&self, at: Timestamp) -> String {
        let zoned = at.to_zoned(self.prefs.zone.clone());
        let pattern = match self.locale() {
            Locale::En => "%-d %b %Y, %H:%M %Z",
            Locale::Ja => "%Y年%-m月%-d日 %H:%M %Z",
        };
        zoned.strftime(pattern).to_string()
    }

    /// The product's name in this language (its own name when the catalogue has none).
    pub(crate) fn product_name(&self, product: &Product) -> String {
        self.t_or(&format!("product-{}-name", product.id), product.name)
    }

    pub(crate) fn product_description(&self, product: &Product) -> String {
        self.t_or(
            &format!("product-{}-description", product.id),
            product.description,
        )
    }

    /// Every language, for the switcher: (code, own name, is this one).
    pub(crate) fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Locale::ALL
            .iter()
            .map(|l| (l.code(), l.native_name(), *l == self.prefs.locale))
            .collect()
    }
}
