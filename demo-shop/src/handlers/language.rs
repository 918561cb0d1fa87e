//! The shopper's language and time zone: read from each request (the `shop_lang` and `shop_tz`
//! cookies, then `Accept-Language`), and chosen with the switcher in every page's footer.

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
use crate::i18n::{Locale, Prefs, Tr};
use crate::pages::Next;
use crate::Shop;

/// The cookie that keeps the language chosen with the switcher.
pub(crate) const LANG_COOKIE: &str = "shop_lang";
/// The cookie that keeps a time zone other than Asia/Tokyo.
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

/// The switcher's form.
#[derive(Debug, Deserialize)]
pub(crate) struct Choice {
    lang: Option<String>,
    next: Option<String>,
}

/// `POST /language`: keeps the chosen language (a permanent cookie), then goes back to the page the
/// shopper was on (a page of the shop, else its home).
pub(super) async fn choose(
    State(shop): State<Shop>,
    jar: CookieJar,
    form: Result<Form<Choice>, FormRejection>,
) -> Response {
    let choice = form.ok().map(|Form(choice)| choice);
    let locale = choice
        .as_ref()
        .and_then(|c| c.lang.as_deref())
        .and_then(Locale::parse);
    let Some(locale) = locale else {
        let tr = Tr::current();
        return shop.message(
            StatusCode::BAD_REQUEST,
            cart_cookie(&jar).as_deref(),
            &tr.t("shop-language-title"),
            &tr.t("shop-language-text"),
            Next {
                href: shop.link(""),
                label: tr.t("shop-go-to-shop"),
            },
        );
    };
    let next = choice
        .and_then(|c| c.next)
        .filter(|next| shop.is_own_path(next))
        .unwrap_or_else(|| shop.link(""));
    let cookie = Cookie::build((LANG_COOKIE, locale.code()))
        .path(shop.0.base_path.clone())
        .permanent()
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(shop.0.secure_cookie)
        .build();
    (jar.add(cookie), see_other(&next)).into_response()
}

impl Shop {
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
