//! The passkeys page: list, add, rename and remove the shopper's passkeys.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_sessions::Session;
use uuid::Uuid;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::extract::{Form, Json};
use super::pages::{format_time, render, Layout, PasskeyView, PasskeysPage};
use super::session::{csrf_token, remember_ceremony, take_ceremony, CurrentUser};
use crate::accounts::account::PasskeyName;
use crate::accounts::Accounts;
use crate::accounts::CeremonyKind;
use crate::clock::unix_now;
use crate::error::{Error, Result};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/passkeys", get(passkeys_page))
        .route("/passkeys/register/begin", post(add_begin))
        .route("/passkeys/register/finish", post(add_finish))
        .route("/passkeys/{id}/rename", post(rename))
        .route("/passkeys/{id}/delete", post(remove))
}

async fn passkeys_page(
    State(accounts): State<Accounts>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let passkeys = accounts.passkeys(user.id).await?;
    let suggest_second = passkeys.len() == 1;
    let passkeys = passkeys
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id.to_string(),
            name: p.name,
            created: format_time(p.created_at),
            last_used: p.last_used_at.map(format_time),
        })
        .collect();
    let layout = Layout::new(
        crate::i18n::Tr::current().t("passkeys-title"),
        csrf_token(&session).await?,
        Some(&user),
    );
    render(&PasskeysPage {
        layout,
        passkeys,
        suggest_second,
    })
}

#[derive(Deserialize)]
struct AddBegin {
    name: Option<String>,
}

async fn add_begin(
    State(accounts): State<Accounts>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Json(body): Json<AddBegin>,
) -> Result<Response> {
    let name = body
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(PasskeyName::parse)
        .transpose()?;
    let (id, options) = accounts.begin_add_passkey(&user, name, unix_now()).await?;
    remember_ceremony(&session, CeremonyKind::AddPasskey, &id).await?;
    Ok(axum::Json(options).into_response())
}

async fn add_finish(
    State(accounts): State<Accounts>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Json(credential): Json<RegisterPublicKeyCredential>,
) -> Result<axum::Json<Value>> {
    let ceremony = take_ceremony(&session, CeremonyKind::AddPasskey).await?;
    accounts
        .finish_add_passkey(&user, &ceremony, &credential, unix_now())
        .await?;
    tracing::info!(user_id = %user.id, "passkey added");
    Ok(axum::Json(json!({ "redirect": "/passkeys" })))
}

#[derive(Deserialize)]
struct RenameForm {
    name: String,
}

fn parse_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::not_found())
}

async fn rename(
    State(accounts): State<Accounts>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<RenameForm>,
) -> Result<Redirect> {
    let name = PasskeyName::parse(&form.name)?;
    accounts
        .rename_passkey(user.id, parse_id(&id)?, name)
        .await?;
    Ok(Redirect::to("/passkeys"))
}

async fn remove(
    State(accounts): State<Accounts>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Redirect> {
    accounts
        .remove_passkey(user.id, parse_id(&id)?, unix_now())
        .await?;
    tracing::info!(user_id = %user.id, "passkey removed");
    Ok(Redirect::to("/passkeys"))
}
