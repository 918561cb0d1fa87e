//! The console's doors: passkey sign-in and sign-out, the invitation page where an invitee
//! makes their admin passkey, and the admin's own passkeys (a second one is strongly
//! suggested).

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_sessions::Session;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::console::{console_path, current_admin, establish, AdminLayout, Console};
use crate::accounts::CeremonyKind;
use crate::admin::Admins;
use crate::clock::unix_now;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::error::status_of;
use crate::http::extract::Json;
use crate::http::pages::{format_time, render};
use crate::http::session::{csrf_token, remember_ceremony, take_ceremony};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/signin", get(sign_in_page))
        .route("/admin/signin/begin", post(sign_in_begin))
        .route("/admin/signin/finish", post(sign_in_finish))
        .route("/admin/signout", post(sign_out))
        .route("/admin/invite", get(invite_page))
        .route("/admin/invite/begin", post(join_begin))
        .route("/admin/invite/finish", post(join_finish))
        .route("/admin/passkeys", get(passkeys_page))
        .route("/admin/passkeys/begin", post(add_passkey_begin))
        .route("/admin/passkeys/finish", post(add_passkey_finish))
}

// The console's ceremonies use the session slots of the shopper's kinds of the same shape;
// the session itself is the console's own.
const SIGN_IN: CeremonyKind = CeremonyKind::SignIn;
const JOIN: CeremonyKind = CeremonyKind::SignUp;
const ADD_PASSKEY: CeremonyKind = CeremonyKind::AddPasskey;
const NEXT: &str = "admin_next";

#[derive(Template)]
#[template(path = "admin/signin.html")]
struct SignInPage {
    layout: AdminLayout,
    next: String,
}

#[derive(Template)]
#[template(path = "admin/invite.html")]
struct InvitePage {
    layout: AdminLayout,
    token: String,
    email: String,
    role: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "admin/notice.html")]
pub(super) struct NoticePage {
    pub layout: AdminLayout,
    pub heading: String,
    pub message: String,
    pub code: String,
}

struct PasskeyRow {
    name: String,
    created: String,
    last_used: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/passkeys.html")]
struct PasskeysPage {
    layout: AdminLayout,
    passkeys: Vec<PasskeyRow>,
    suggest_second: bool,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn sign_in_page(
    State(admins): State<Admins>,
    State(config): State<Arc<Config>>,
    session: Session,
    Query(q): Query<NextQuery>,
) -> Result<Response> {
    let next = console_path(q.next.as_deref());
    let absolute = config.admin_session_absolute_secs as i64;
    if current_admin(&session, &admins, absolute).await?.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let layout = AdminLayout::new("Console sign-in", csrf_token(&session).await?, None);
    render(&SignInPage { layout, next })
}

#[derive(Deserialize)]
struct SignInBegin {
    next: Option<String>,
}

async fn sign_in_begin(
    State(admins): State<Admins>,
    session: Session,
    Json(body): Json<SignInBegin>,
) -> Result<Response> {
    let (id, options) = admins.begin_sign_in(unix_now()).await?;
    remember_ceremony(&session, SIGN_IN, &id).await?;
    session
        .insert(NEXT, console_path(body.next.as_deref()))
        .await?;
    Ok(axum::Json(options).into_response())
}

async fn sign_in_finish(
    State(admins): State<Admins>,
    session: Session,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(credential): Json<PublicKeyCredential>,
) -> Result<axum::Json<Value>> {
    let ceremony = take_ceremony(&session, SIGN_IN).await?;
    let admin = admins
        .finish_sign_in(&ceremony, &credential, peer.ip(), unix_now())
        .await?;
    let next = console_path(session.remove::<String>(NEXT).await?.as_deref());
    establish(&session, &admin).await?;
    tracing::info!(admin_id = %admin.id, "admin signed in");
    Ok(axum::Json(json!({ "redirect": next })))
}

async fn sign_out(session: Session) -> Result<Redirect> {
    session.flush().await?;
    Ok(Redirect::to("/admin/signin"))
}

#[derive(Deserialize)]
struct InviteQuery {
    token: Option<String>,
}

/// The invitation link. A link that cannot be used gets a page that says why, with its code.
async fn invite_page(
    State(admins): State<Admins>,
    session: Session,
    Query(q): Query<InviteQuery>,
) -> Result<Response> {
    let token = q.token.unwrap_or_default();
    match admins.open_invite(&token, unix_now()).await {
        Ok(invite) => {
            let layout = AdminLayout::new("Join the console", csrf_token(&session).await?, None);
            render(&InvitePage {
                layout,
                token,
                email: invite.email,
                role: invite.role.as_str().to_string(),
                expires: format_time(invite.expires_at),
            })
        }
        Err(err @ Error::Client { .. }) => {
            let layout = AdminLayout::new("Invitation", String::new(), None);
            let page = NoticePage {
                layout,
                heading: "This invitation can't be used".into(),
                message: err.public_message().into_owned(),
                code: err.code().to_string(),
            };
            let html = page.render().map_err(Error::internal)?;
            Ok((status_of(err.kind()), axum::response::Html(html)).into_response())
        }
        Err(err) => Err(err),
    }
}

#[derive(Deserialize)]
struct JoinBegin {
    token: String,
}

async fn join_begin(
    State(admins): State<Admins>,
    session: Session,
    Json(body): Json<JoinBegin>,
) -> Result<Response> {
    let (id, options) = admins.begin_join(&body.token, unix_now()).await?;
    remember_ceremony(&session, JOIN, &id).await?;
    Ok(axum::Json(options).into_response())
}

async fn join_finish(
    State(admins): State<Admins>,
    session: Session,
    Json(credential): Json<RegisterPublicKeyCredential>,
) -> Result<axum::Json<Value>> {
    let ceremony = take_ceremony(&session, JOIN).await?;
    let admin = admins
        .finish_join(&ceremony, &credential, unix_now())
        .await?;
    establish(&session, &admin).await?;
    tracing::info!(admin_id = %admin.id, role = %admin.role, "admin joined");
    Ok(axum::Json(
        json!({ "redirect": "/admin/passkeys?welcome=1" }),
    ))
}

async fn passkeys_page(State(admins): State<Admins>, console: Console) -> Result<Response> {
    let passkeys: Vec<PasskeyRow> = admins
        .passkeys(console.admin.id)
        .await?
        .into_iter()
        .map(|p| PasskeyRow {
            name: p.name,
            created: format_time(p.created_at),
            last_used: p.last_used_at.map(format_time),
        })
        .collect();
    render(&PasskeysPage {
        layout: console.layout("Your passkeys"),
        suggest_second: passkeys.len() < 2,
        passkeys,
    })
}

async fn add_passkey_begin(
    State(admins): State<Admins>,
    session: Session,
    console: Console,
) -> Result<Response> {
    let (id, options) = admins.begin_add_passkey(&console.admin, unix_now()).await?;
    remember_ceremony(&session, ADD_PASSKEY, &id).await?;
    Ok(axum::Json(options).into_response())
}

async fn add_passkey_finish(
    State(admins): State<Admins>,
    session: Session,
    console: Console,
    Json(credential): Json<RegisterPublicKeyCredential>,
) -> Result<axum::Json<Value>> {
    let ceremony = take_ceremony(&session, ADD_PASSKEY).await?;
    admins
        .finish_add_passkey(&console.admin, &ceremony, &credential, unix_now())
        .await?;
    Ok(axum::Json(json!({ "redirect": "/admin/passkeys" })))
}
