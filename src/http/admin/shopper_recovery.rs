//! Recovery for a shopper who lost every passkey and every recovery code, started from the
//! console's shopper page (owner, support): the link is shown once (only its SHA-256 is kept)
//! and works after the cool-down; a passkey sign-in by the shopper meanwhile cancels it.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use uuid::Uuid;

use crate::accounts::Accounts;
use crate::admin::Permission;
use crate::clock::unix_now;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::admin::console::{AdminLayout, Console};
use crate::http::pages::{format_time, render};
use crate::recovery::Recovery;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/shoppers/{id}/recovery", post(start))
        .route("/admin/shoppers/{id}/recovery/cancel", post(cancel))
}

/// A pending recovery as the shopper page shows it.
pub(super) struct RecoveryView {
    pub started: String,
    pub started_by: String,
    pub usable: String,
    pub expires: String,
}

/// The shopper's pending recovery, for the shopper page.
pub(super) async fn pending(recovery: &Recovery, user_id: Uuid) -> Result<Option<RecoveryView>> {
    Ok(recovery.pending(user_id).await?.map(|r| RecoveryView {
        started: format_time(r.created_at),
        started_by: r.started_by,
        usable: format_time(r.usable_at),
        expires: format_time(r.expires_at),
    }))
}

#[derive(Template)]
#[template(path = "admin/recovery_link.html")]
struct LinkPage {
    layout: AdminLayout,
    shopper_id: String,
    email: String,
    url: String,
    usable: String,
    expires: String,
}

/// The link the shopper opens: the token rides in the query, which the request log never shows.
fn recovery_url(config: &Config, token: &str) -> String {
    format!("{}/recover/link?token={token}", config.origin())
}

async fn start(
    State(accounts): State<Accounts>,
    State(recovery): State<Recovery>,
    State(config): State<Arc<Config>>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response> {
    console.require(Permission::RecoverShoppers)?;
    let id = Uuid::parse_str(&id).map_err(|_| Error::not_found())?;
    let user = accounts.user(id).await?.ok_or_else(Error::not_found)?;
    let started = recovery
        .start(user.id, &console.admin.actor(), unix_now())
        .await?;
    render(&LinkPage {
        layout: console.layout(format!("Recovery for {}", user.email)),
        shopper_id: user.id.to_string(),
        email: user.email,
        url: recovery_url(&config, &started.token),
        usable: format_time(started.usable_at),
        expires: format_time(started.expires_at),
    })
}

/// Calls off the shopper's waiting recovery, then back to the shopper page (also when there was
/// none left to cancel: nothing is recorded then).
async fn cancel(
    State(accounts): State<Accounts>,
    State(recovery): State<Recovery>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response> {
    console.require(Permission::RecoverShoppers)?;
    let id = Uuid::parse_str(&id).map_err(|_| Error::not_found())?;
    let user = accounts.user(id).await?.ok_or_else(Error::not_found)?;
    recovery
        .cancel(user.id, &console.admin.actor(), unix_now())
        .await?;
    Ok(Redirect::to(&format!("/admin/shoppers/{}", user.id)).into_response())
}
