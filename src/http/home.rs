//! The wallet's home: a welcome for visitors, the dashboard for signed-in shoppers.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower_sessions::Session;

use super::account_recovery::{self, HomeRecovery};
use super::pages::{render, IndexPage, Layout};
use super::session::{csrf_token, current_user};
use crate::accounts::Accounts;
use crate::config::Config;
use crate::error::Result;
use crate::recovery::Recovery;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

async fn home(
    State(accounts): State<Accounts>,
    State(config): State<Arc<Config>>,
    State(recovery): State<Recovery>,
    session: Session,
) -> Result<Response> {
    let user = current_user(&session, &accounts, config.session_absolute_secs as i64).await?;
    let (passkey_count, recovery) = match &user {
        Some(u) => (
            accounts.passkeys(u.id).await?.len(),
            account_recovery::home(&session, &recovery, u).await?,
        ),
        None => (0, HomeRecovery::default()),
    };
    let title = if user.is_some() {
        "Your wallet"
    } else {
        "Saifu"
    };
    let layout = Layout::new(title, csrf_token(&session).await?, user.as_ref());
    render(&IndexPage {
        layout,
        passkey_count,
        recovery,
    })
}
