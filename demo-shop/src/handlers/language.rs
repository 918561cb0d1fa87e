//! The shopper's language and time zone: read from each request (the `shop_lang` and `shop_tz`
//! cookies, then `Accept-Language`), and chosen with the switcher and the zone chooser in every
//! page's footer.

use axum::extract::rejection::FormRejection;
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_LANGUAGE, VARY};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next as Continue;
use axum::response::{IntoResponse, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use super::{cart_cookie, see_other};
use crate::i18n::{parse_zone, Locale, Prefs, Tr};
use crate::pages::Next;
use crate::Shop;

/// The cookie that keeps the language chosen with the switcher.
pub(crate) const LANG_COOKIE: &str = "shop_lang";
/// The cookie that keeps the time zone chosen in the footer (Asia/Tokyo without it).
pub(crate) const ZONE_COOKIE: &str = "shop_tz";

/// Runs the request's handler with its language and time zone in force, and says which
/// language the answer is in.
pub(super) async fn prefs(jar: CookieJar, request: Request, next: Continue) -> Response {
    let prefs = Prefs::from_request(
        jar.get(LANG_COOKIE).map(Cookie::value),
        jar.get(ZONE_COOKIE).map(Cookie::value),
        request
            .headers()
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let here = (request.method() == Method::GET)
        .then(|| {
            request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
        })
        .flatten();
    let lang = prefs.locale.code();
    let mut response = prefs.scope(here, next.run(request)).await;
    let headers = response.headers_mut();
    headers.insert(CONTENT_LANGUAGE, HeaderValue::from_static(lang));
    headers.append(VARY, HeaderValue::from_static("Accept-Language, Cookie"));
    response
}

/// The footer's forms: the language switcher sends `lang`, the zone chooser `zone`.
#[derive(Debug, Deserialize)]
pub(crate) struct Choice {
    lang: Option<String>,
    zone: Option<String>,
    next: Option<String>,
}

/// What a choice sets, or why it is refused.
enum Chosen {
    Prefs(Option<Locale>, Option<String>),
    UnknownLanguage,
    UnknownZone,
}

impl Choice {
    fn read(&self) -> Chosen {
        let locale = match self.lang.as_deref() {
            Some(lang) => match Locale::parse(lang) {
                Some(locale) => Some(locale),
                None => return Chosen::UnknownLanguage,
            },
            None => None,
        };
        // Kept under the zone's own name (`asia/tokyo` is `Asia/Tokyo`).
        let zone = match self.zone.as_deref() {
            Some(zone) => match parse_zone(zone).and_then(|tz| tz.iana_name().map(str::to_owned)) {
                Some(name) => Some(name),
                None => return Chosen::UnknownZone,
            },
            None => None,
        };
        if locale.is_none() && zone.is_none() {
            return Chosen::UnknownLanguage;
        }
        Chosen::Prefs(locale, zone)
    }
}

/// `POST /language`: keeps the chosen language or time zone (a permanent cookie each), then
/// goes back to the page the shopper was on (a page of the shop, else its home).
pub(super) async fn choose(
    State(shop): State<Shop>,
    jar: CookieJar,
    form: Result<Form<Choice>, FormRejection>,
) -> Response {
    let choice = form.ok().map(|Form(choice)| choice);
    let chosen = choice
        .as_ref()
        .map_or(Chosen::UnknownLanguage, Choice::read);
    let (locale, zone) = match chosen {
        Chosen::Prefs(locale, zone) => (locale, zone),
        Chosen::UnknownLanguage => {
            return shop.refuse_choice(&jar, "shop-language-title", "shop-language-text")
        }
        Chosen::UnknownZone => {
            return shop.refuse_choice(&jar, "shop-zone-title", "shop-zone-text")
        }
    };
    let next = choice
        .and_then(|c| c.next)
        .filter(|next| shop.is_own_path(next))
        .unwrap_or_else(|| shop.link(""));
    let mut jar = jar;
    if let Some(locale) = locale {
        jar = jar.add(shop.preference_cookie(LANG_COOKIE, locale.code().to_owned()));
    }
    if let Some(zone) = zone {
        jar = jar.add(shop.preference_cookie(ZONE_COOKIE, zone));
    }
    (jar, see_other(&next)).into_response()
}

impl Shop {
    /// A choice the shop cannot keep: `400`, saying which choices there are.
    fn refuse_choice(&self, jar: &CookieJar, title: &str, text: &str) -> Response {
        let tr = Tr::current();
        self.message(
            StatusCode::BAD_REQUEST,
            cart_cookie(jar).as_deref(),
            &tr.t(title),
            &tr.t(text),
            Next {
                href: self.link(""),
                label: tr.t("shop-go-to-shop"),
            },
        )
    }

    /// A cookie that keeps one of the shopper's choices for the shop's pages.
    fn preference_cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build((name, value))
            .path(self.0.base_path.clone())
            .permanent()
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.0.secure_cookie)
            .build()
    }

    /// Whether `path` is a path of this shop to send the browser back to: under the shop's
    /// base, with no scheme, host or backslash that could lead elsewhere.
    pub(super) fn is_own_path(&self, path: &str) -> bool {
        path.starts_with(&self.0.base_path)
            && !path.starts_with("//")
            && !path.contains('\\')
            && !path.chars().any(char::is_control)
            && path.len() <= 512
    }
}
