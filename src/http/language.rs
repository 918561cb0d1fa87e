//! The shopper's language and time zone: read from each wallet request (cookies, then
//! `Accept-Language`), and chosen with the switcher every page's footer has.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

use crate::accounts::return_to::ReturnTo;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::i18n::{parse_zone, Locale, Prefs};
use crate::AppState;

pub const LANG_COOKIE: &str = "saifu_lang";
pub const ZONE_COOKIE: &str = "saifu_tz";

pub fn router() -> Router<AppState> {
    Router::new().route("/language", post(choose))
}

/// Runs the request's handler with its language and time zone in force, and says which
/// language the answer is in.
pub async fn prefs(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let prefs = Prefs::from_request(
        cookie(headers, LANG_COOKIE).as_deref(),
        cookie(headers, ZONE_COOKIE).as_deref(),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let here = (request.method() == Method::GET).then(|| {
        request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into())
    });
    let lang = prefs.locale.code();
    let mut response = prefs.scope(here, next.run(request)).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang));
    headers.append(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    response
}

/// One cookie's value from the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

#[derive(Deserialize)]
struct Choice {
    lang: Option<String>,
    zone: Option<String>,
    next: Option<String>,
}

/// `POST /language`: keeps the chosen language (and time zone, when one is sent) for a year,
/// then goes back to the page the shopper was on.
async fn choose(State(config): State<Arc<Config>>, Form(choice): Form<Choice>) -> Result<Response> {
    let mut cookies = Vec::new();
    if let Some(lang) = choice.lang.as_deref() {
        let locale = Locale::parse(lang).ok_or_else(|| {
            Error::invalid(
                "unsupported_language",
                "Choose Japanese (ja) or English (en).",
            )
        })?;
        cookies.push(set_cookie(&config, LANG_COOKIE, locale.code()));
    }
    if let Some(zone) = choice.zone.as_deref() {
        let tz = parse_zone(zone).ok_or_else(|| {
            Error::invalid(
                "unknown_time_zone",
                "Choose a time zone by its name, such as Asia/Tokyo.",
            )
        })?;
        let name = tz.iana_name().unwrap_or("UTC").to_string();
        cookies.push(set_cookie(&config, ZONE_COOKIE, &name));
    }
    let next = ReturnTo::parse(choice.next.as_deref());
    let mut response = Redirect::to(next.as_str()).into_response();
    for c in cookies {
        let value = HeaderValue::from_str(&c).map_err(|e| Error::internal(anyhow::anyhow!(e)))?;
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

fn set_cookie(config: &Config, name: &str, value: &str) -> String {
    let secure = if config.cookie_secure() {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly{secure}")
}
