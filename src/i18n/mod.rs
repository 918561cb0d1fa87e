//! The wallet's languages (Japanese and English) and the shopper's time zone.
//!
//! Texts live in Fluent files under `web/i18n/<lang>/*.ftl`, one file per area of the wallet,
//! with the same message ids in every language (a test checks it). They are compiled into the
//! binary. A page finds its words through [`Tr`], which the page layout carries, so templates
//! write `{{ layout.tr.t("nav-home") }}`.
//!
//! The language comes from the `saifu_lang` cookie (set by the switcher in every page's footer),
//! else from `Accept-Language`, else English. The time zone comes from the `saifu_tz` cookie,
//! else Asia/Tokyo. Both are read once per request by the wallet's middleware
//! (`http::language`), which runs the handler inside [`Prefs::scope`]; code outside a wallet
//! request (the console, the CLI) gets English and UTC.

mod format;
mod negotiate;

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

pub use negotiate::from_accept_language;

fluent_templates::static_loader! {
    static TEXTS = {
        locales: "./web/i18n",
        fallback_language: "en",
        // No Unicode isolation marks around placeables: the wallet refuses such characters in
        // shown text, and pages must hold exactly the words they show.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language the wallet speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Locale {
    #[default]
    En,
    Ja,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Ja, Locale::En];

    /// The BCP 47 tag, as in `<html lang>`: `en`, `ja`.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ja => "ja",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Ja => "日本語",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
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
pub const DEFAULT_ZONE: &str = "Asia/Tokyo";

/// One request's language and time zone.
#[derive(Clone, Debug)]
pub struct Prefs {
    pub locale: Locale,
    pub zone: jiff::tz::TimeZone,
}

impl Default for Prefs {
    /// Outside a wallet request: English and UTC.
    fn default() -> Self {
        Self {
            locale: Locale::En,
            zone: jiff::tz::TimeZone::UTC,
        }
    }
}

/// What a wallet request's pages need to know of the request itself.
#[derive(Clone, Debug, Default)]
struct RequestContext {
    prefs: Prefs,
    /// The page's own path and query (GET requests), where the language switcher returns to.
    here: Option<String>,
}

tokio::task_local! {
    static REQUEST: RequestContext;
}

/// The path and query of the page being shown (a GET request in the wallet), else `/`.
pub fn current_path() -> String {
    REQUEST
        .try_with(|r| r.here.clone())
        .ok()
        .flatten()
        .unwrap_or_else(|| "/".to_string())
}

impl Prefs {
    /// A wallet request's preferences: the cookies' choices, else the browser's language and
    /// Asia/Tokyo.
    pub fn from_request(
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

    /// Runs `fut` (a request's handler) with these preferences in force; `here` is the page's
    /// path and query when it is a page (GET).
    pub async fn scope<F: std::future::Future>(self, here: Option<String>, fut: F) -> F::Output {
        REQUEST
            .scope(RequestContext { prefs: self, here }, fut)
            .await
    }

    /// The preferences in force: the request's, or English and UTC outside a wallet request.
    pub fn current() -> Self {
        REQUEST.try_with(|r| r.prefs.clone()).unwrap_or_default()
    }
}

/// An IANA time zone name the wallet knows (`Asia/Tokyo`, `Europe/London`, `UTC`).
pub fn parse_zone(name: &str) -> Option<jiff::tz::TimeZone> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    jiff::tz::TimeZone::get(name).ok()
}

fn default_zone() -> jiff::tz::TimeZone {
    parse_zone(DEFAULT_ZONE).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// Words, amounts and times in one language and time zone.
#[derive(Clone, Debug, Default)]
pub struct Tr {
    prefs: Prefs,
}

impl Tr {
    pub fn new(prefs: Prefs) -> Self {
        Self { prefs }
    }

    /// The request's (see [`Prefs::current`]).
    pub fn current() -> Self {
        Self::new(Prefs::current())
    }

    pub fn locale(&self) -> Locale {
        self.prefs.locale
    }

    /// The `<html lang>` value.
    pub fn lang(&self) -> &'static str {
        self.prefs.locale.code()
    }

    pub fn zone(&self) -> &jiff::tz::TimeZone {
        &self.prefs.zone
    }

    /// The IANA name of the time zone, as the zone chooser shows it.
    pub fn zone_name(&self) -> String {
        self.prefs.zone.iana_name().unwrap_or("UTC").to_string()
    }

    /// The message `id`. A missing id shows as the id itself (a test keeps that from shipping).
    pub fn t(&self, id: &str) -> String {
        TEXTS
            .try_lookup_complete(&self.prefs.locale.id(), id, None)
            .unwrap_or_else(|| id.to_string())
    }

    /// The message `id`, or `fallback` when there is none: for texts named by a code, such as
    /// an error's (`tr.t_or(&format!("error-{code}"), message)`).
    pub fn t_or(&self, id: &str, fallback: &str) -> String {
        TEXTS
            .try_lookup_complete(&self.prefs.locale.id(), id, None)
            .unwrap_or_else(|| fallback.to_string())
    }

    /// The message `id` with named arguments: `tr.args("pay-amount", [("amount", "¥1,800")])`.
    pub fn args<'a>(&self, id: &str, args: impl AsRef<[(&'a str, &'a str)]>) -> String {
        self.try_args(id, args).unwrap_or_else(|| id.to_string())
    }

    /// The message `id` with named arguments, or `None` when the catalogue has no such id.
    pub fn try_args<'a>(&self, id: &str, args: impl AsRef<[(&'a str, &'a str)]>) -> Option<String> {
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
        TEXTS.try_lookup_complete(&self.prefs.locale.id(), id, Some(&map))
    }

    /// The message `id` with one number argument, for plurals:
    /// `tr.count("points-count", "count", 64)`.
    pub fn count(&self, id: &str, name: &str, n: i64) -> String {
        let mut map: HashMap<Cow<'static, str>, FluentValue<'_>> = HashMap::new();
        map.insert(Cow::Owned(name.to_string()), FluentValue::from(n));
        TEXTS
            .try_lookup_complete(&self.prefs.locale.id(), id, Some(&map))
            .unwrap_or_else(|| id.to_string())
    }

    /// Every language, for the switcher: (code, own name, is this one).
    pub fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Locale::ALL
            .iter()
            .map(|l| (l.code(), l.native_name(), *l == self.prefs.locale))
            .collect()
    }
}

#[cfg(test)]
mod tests;
