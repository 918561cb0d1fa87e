//! The HTTP layer: thin routers, one module per area, and the middleware every request
//! passes through (request ids, tracing, body limits, security headers, error shapes).

mod account_recovery;
mod accounts;
mod activity;
mod addresses;
pub mod admin;
pub mod assets;
mod cards;
mod checkout;
mod dispute_pages;
mod disputes;
pub mod error;
mod error_shapes;
mod extract;
mod health;
mod home;
mod idempotency;
mod language;
mod oauth;
pub mod openapi;
pub mod pages;
mod passkeys;
mod payments;
mod points;
mod receipts;
mod recovery_views;
mod registration;
pub mod session;
mod shops;
mod statements;

use axum::extract::{DefaultBodyLimit, FromRef, Request};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{middleware, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tracing::Level;

use crate::money::AmountLimits;
use crate::AppState;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let config = &state.config;
    let cookie_name = if config.cookie_secure() {
        "__Host-saifu_session"
    } else {
        "saifu_session"
    };
    let sessions = SessionManagerLayer::new(state.accounts.sessions())
        .with_name(cookie_name)
        .with_http_only(true)
        .with_secure(config.cookie_secure())
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_always_save(true)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            config.session_idle_secs as i64,
        )));

    // Pages and the JSON calls their scripts make: sessions and CSRF protection.
    let wallet = Router::new()
        .merge(home::router())
        .merge(accounts::router())
        .merge(account_recovery::router())
        .merge(passkeys::router())
        .merge(cards::router())
        .merge(addresses::router())
        .merge(activity::router())
        .merge(dispute_pages::router())
        .merge(points::router())
        .merge(receipts::router())
        .merge(shops::router())
        .merge(checkout::router())
        .merge(language::router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::csrf_guard,
        ))
        .layer(sessions)
        .layer(middleware::from_fn(language::prefs));

    let limit = config.body_limit_bytes;
    Router::new()
        .merge(wallet)
        .merge(admin::router(&state))
        .merge(health::router())
        .merge(oauth::router())
        .merge(registration::router())
        .merge(openapi::router())
        .merge(payments::router(state.clone()))
        .merge(receipts::api_router(state.clone()))
        .merge(disputes::router(state.clone()))
        .merge(statements::router(state.clone()))
        .route("/static/{name}", get(assets::serve))
        // Replaces each route's own 405 answer, which the routes' layers (the CSRF check, the
        // payments API's authentication) would otherwise see first and refuse with 403 or
        // 401: a method an address does not have is 405, with `Allow`, before anything else.
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        // A panic becomes a plain 500; its message is not logged, as it could hold input.
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            crate::error::Error::internal(anyhow::anyhow!("a request handler panicked")).into_response()
        }))
        // Outside the body limit, so that its bare 413 gets a problem body too.
        .layer(middleware::from_fn(error_shapes::error_shapes))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(
            ServiceBuilder::new()
                .layer(middleware::map_request(plain_request_id))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        // Path only: query strings can carry codes and request URIs.
                        .make_span_with(|request: &Request| {
                            let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(tower_http::LatencyUnit::Micros)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
}

/// The PAR endpoint's amount limits, from the configuration parsed at start-up.
impl FromRef<AppState> for AmountLimits {
    fn from_ref(state: &AppState) -> Self {
        state.config.max_amounts
    }
}

async fn method_not_allowed() -> StatusCode {
    StatusCode::METHOD_NOT_ALLOWED
}

/// The longest client-chosen request id that is kept.
const MAX_REQUEST_ID_LEN: usize = 64;

/// A client's `X-Request-Id` is echoed and logged only when it is one short, plain value (at
/// most 64 of `A-Z a-z 0-9 . _ -`): anything else could flood the logs or forge their lines.
/// Otherwise it is dropped, and a new id is made for the request.
async fn plain_request_id(mut request: Request) -> Request {
    let mut sent = request.headers().get_all(&REQUEST_ID).iter();
    let keep = match (sent.next(), sent.next()) {
        (None, _) => true,
        (Some(id), None) => is_plain_request_id(id.as_bytes()),
        (Some(_), Some(_)) => false,
    };
    if !keep {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

fn is_plain_request_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_request_ids_are_kept() {
        for kept in ["trace-me-42", "a", "A.b_C-9", &"x".repeat(64)] {
            assert!(is_plain_request_id(kept.as_bytes()), "{kept}");
        }
        let long = "x".repeat(65);
        for refused in [
            "",
            long.as_str(),
            "two words",
            "new\nline",
            "tab\t",
            "semi;colon",
            "quote\"",
            "caf\u{e9}",
            "\u{202E}rtl",
            "a/b",
        ] {
            assert!(!is_plain_request_id(refused.as_bytes()), "{refused:?}");
        }
    }
}
