//! The HTTP layer: thin routers, one module per area, and the middleware every request
//! passes through (request ids, tracing, body limits, security headers, error shapes).

mod accounts;
mod activity;
pub mod assets;
mod cards;
mod checkout;
pub mod error;
mod error_shapes;
mod extract;
mod health;
mod home;
mod idempotency;
mod oauth;
pub mod openapi;
pub mod pages;
mod passkeys;
mod payments;
mod points;
pub mod session;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue};
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
        .merge(passkeys::router())
        .merge(cards::router())
        .merge(activity::router())
        .merge(points::router())
        .merge(checkout::router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::csrf_guard,
        ))
        .layer(sessions);

    let limit = config.body_limit_bytes;
    Router::new()
        .merge(wallet)
        .merge(health::router())
        .merge(oauth::router())
        .merge(openapi::router())
        .merge(payments::router(state.clone()))
        .route("/static/{name}", get(assets::serve))
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
