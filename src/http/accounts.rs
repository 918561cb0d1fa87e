//! Sign-up, sign-in and sign-out pages, and the JSON calls their script makes for the passkey
//! ceremonies.

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

use super::extract::Json;
use super::pages::{render, Layout, SignInPage, SignUpPage};
use super::session::{
    csrf_token, current_user, establish, remember_ceremony, remember_return_to,
    session_ceremony_id, sign_out, take_ceremony, take_return_to, Establishing,
};
use crate::accounts::account::{DisplayName, Email};
use crate::accounts::return_to::ReturnTo;
use crate::accounts::signin::{SignInAttempt, SignedIn};
use crate::accounts::user::User;
use crate::accounts::Accounts;
use crate::accounts::CeremonyKind;
use crate::clock::unix_now;
use crate::config::Config;
use crate::error::Result;
use crate::i18n::Tr;
use crate::recovery::Recovery;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(sign_up_page))
        .route("/signup/begin", post(sign_up_begin))
        .route("/signup/finish", post(sign_up_finish))
        .route("/signin", get(sign_in_page))
        .route("/signin/begin", post(sign_in_begin))
        .route("/signin/finish", post(sign_in_finish))
        .route("/signout", post(sign_out_now))
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn sign_up_page(
    State(accounts): State<Accounts>,
    State(config): State<Arc<Config>>,
    session: Session,
    Query(q): Query<NextQuery>,
) -> Result<Response> {
    let page = |layout, next| SignUpPage { layout, next };
    entry_page(&accounts, &config, &session, q, "signup-page-title", page).await
}

/// The sign-up or sign-in page (`page` builds it from its layout and return address); a
/// shopper already signed in goes straight to the return address instead.
async fn entry_page<P: Template>(
    accounts: &Accounts,
    config: &Config,
    session: &Session,
    q: NextQuery,
    title_id: &str,
    page: impl FnOnce(Layout, String) -> P,
) -> Result<Response> {
    let next = ReturnTo::parse(q.next.as_deref());
    if current_user(session, accounts, config.session_absolute_secs as i64)
        .await?
        .is_some()
    {
        return Ok(Redirect::to(next.as_str()).into_response());
    }
    let layout = Layout::new(Tr::current().t(title_id), csrf_token(session).await?, None);
    render(&page(layout, next.as_str().to_string()))
}

#[derive(Deserialize)]
struct SignUpBegin {
    display_name: String,
    email: String,
    next: Option<String>,
}

async fn sign_up_begin(
    State(accounts): State<Accounts>,
    session: Session,
    Json(body): Json<SignUpBegin>,
) -> Result<Response> {
    let display_name = DisplayName::parse(&body.display_name)?;
    let email = Email::parse(&body.email)?;
    let (id, options) = accounts
        .begin_sign_up(email, display_name, unix_now())
        .await?;
    remember_ceremony(&session, CeremonyKind::SignUp, &id).await?;
    remember_return_to(&session, &ReturnTo::parse(body.next.as_deref())).await?;
    Ok(axum::Json(options).into_response())
}

async fn sign_up_finish(
    State(accounts): State<Accounts>,
    session: Session,
    Json(credential): Json<RegisterPublicKeyCredential>,
) -> Result<axum::Json<Value>> {
    let ceremony = take_ceremony(&session, CeremonyKind::SignUp).await?;
    let user = accounts
        .finish_sign_up(&ceremony, &credential, unix_now())
        .await?;
    let next = take_return_to(&session).await?;
    establish(&session, &user).await?;
    super::account_recovery::codes_due(&session).await?;
    tracing::info!(user_id = %user.id, "account created");
    Ok(axum::Json(json!({ "redirect": next.as_str() })))
}

async fn sign_in_page(
    State(accounts): State<Accounts>,
    State(config): State<Arc<Config>>,
    session: Session,
    Query(q): Query<NextQuery>,
) -> Result<Response> {
    let page = |layout, next| SignInPage { layout, next };
    entry_page(&accounts, &config, &session, q, "signin-page-title", page).await
}

#[derive(Deserialize)]
struct SignInBegin {
    next: Option<String>,
}

async fn sign_in_begin(
    State(accounts): State<Accounts>,
    session: Session,
    Json(body): Json<SignInBegin>,
) -> Result<Response> {
    let ceremony = session_ceremony_id(&session, CeremonyKind::SignIn)?;
    let next = ReturnTo::parse(body.next.as_deref());
    let options = accounts.begin_sign_in(&ceremony, &next, unix_now()).await?;
    Ok(axum::Json(options).into_response())
}

async fn sign_in_finish(
    State(accounts): State<Accounts>,
    State(recovery): State<Recovery>,
    session: Session,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(credential): Json<PublicKeyCredential>,
) -> Result<axum::Json<Value>> {
    // The ceremony is used up in the database whatever the outcome, so a refused attempt
    // does not write the session; a successful one writes the signed-in session in its own
    // transaction.
    let ceremony = session_ceremony_id(&session, CeremonyKind::SignIn)?;
    let establishing = Establishing::new()?;
    let new_session = |user: &User| establishing.change(&session, user);
    let SignedIn {
        user,
        recovery_pending,
        next,
    } = accounts
        .finish_sign_in(SignInAttempt {
            ceremony_id: &ceremony,
            credential: &credential,
            client_ip: peer.ip(),
            replaced_session: session.id(),
            new_session: &new_session,
            now: unix_now(),
        })
        .await?;
    // Holding a passkey cancels a recovery still waiting out its cool-down.
    if recovery_pending {
        recovery.passkey_signed_in(user.id, unix_now()).await?;
    }
    // The sign-in's own return path replaces any an unfinished sign-up left.
    take_return_to(&session).await?;
    establishing.establish(&session, &user).await?;
    tracing::info!(user_id = %user.id, "signed in");
    Ok(axum::Json(json!({ "redirect": next.as_str() })))
}

async fn sign_out_now(session: Session) -> Result<Redirect> {
    sign_out(&session).await?;
    Ok(Redirect::to("/"))
}
