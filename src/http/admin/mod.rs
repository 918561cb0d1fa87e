//! The issuer console under `/admin`: its own session (cookie, lifetimes) and CSRF check, the
//! admin's sign-in and invitation pages, and one module per console section. Every handler
//! takes a [`Console`](console::Console) and checks its role's permission before anything else.

mod admins;
mod audit;
mod campaigns;
pub mod console;
mod dashboard;
mod disputes;
mod guarantee;
mod identity;
mod merchants;
mod points;
mod risk;
mod shopper_recovery;
mod shoppers;
mod statements;
mod webhooks;

use axum::{middleware, Router};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub use self::admins::invite_url;
use super::session::csrf_guard;
use crate::AppState;

/// The console's session cookie. With `Secure` it is a `__Host-` cookie, which browsers only
/// accept with `Path=/`; it is read only by the console's routes. Without `Secure`
/// (development) it is scoped to `/admin` by its path.
pub fn cookie(secure: bool) -> (&'static str, &'static str) {
    if secure {
        ("__Host-saifu_admin", "/")
    } else {
        ("saifu_admin", "/admin")
    }
}

pub fn router(state: &AppState) -> Router<AppState> {
    let config = &state.config;
    let (name, path) = cookie(config.cookie_secure());
    let sessions = SessionManagerLayer::new(state.accounts.sessions())
        .with_name(name)
        .with_http_only(true)
        .with_secure(config.cookie_secure())
        .with_same_site(SameSite::Strict)
        .with_path(path)
        .with_always_save(true)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            config.admin_session_idle_secs as i64,
        )));
    Router::new()
        .merge(identity::router())
        .merge(dashboard::router())
        .merge(merchants::router())
        .merge(webhooks::router())
        .merge(shoppers::router())
        .merge(shopper_recovery::router())
        .merge(disputes::router())
        .merge(guarantee::router())
        .merge(points::router())
        .merge(campaigns::router())
        .merge(risk::router())
        .merge(statements::router())
        .merge(admins::router())
        .merge(audit::router())
        .layer(middleware::from_fn_with_state(state.clone(), csrf_guard))
        .layer(sessions)
}
