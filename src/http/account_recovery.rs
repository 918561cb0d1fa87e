//! Account recovery pages: signing in with a recovery code (`/recover`) or a recovery link
//! (`/recover/link`), then making a new passkey (`/recover/passkey`), which is all such a
//! session may do; the recovery codes page (`/recovery-codes`); and the recovery part of the
//! wallet home (codes shown once after sign-up, notices of cancelled recoveries).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_sessions::Session;
use uuid::Uuid;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use crate::accounts::user::User;
use crate::accounts::{Accounts, CeremonyKind};
use crate::clock::{random_token, unix_now};
use crate::error::{Error, Result};
use crate::http::error::status_of;
use crate::http::extract::{Form, Json};
use crate::http::pages::{format_time, render, Layout};
pub use crate::http::recovery_views::{HomeRecovery, SecurityLine};
use crate::http::session::{csrf_token, establish, remember_ceremony, take_ceremony, CurrentUser};
use crate::recovery::{event, LinkState, Recovery};
use crate::AppState;

/// Session keys of a recovery sign-in: the shopper, the account's epoch then, and until when
/// the session may make the new passkey.
const RECOVERING: &str = "recovering.user_id";
const RECOVERING_EPOCH: &str = "recovering.epoch";
const RECOVERING_UNTIL: &str = "recovering.until";
/// Set by sign-up: the wallet home shows the first recovery codes.
const CODES_DUE: &str = "recovery_codes_due";
/// How long a recovery sign-in may take to make its passkey.
const RECOVERING_SECS: i64 = 15 * 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/recover", get(code_page).post(code_sign_in))
        .route("/recover/link", get(link_page).post(link_sign_in))
        .route("/recover/passkey", get(passkey_page))
        .route("/recover/passkey/begin", post(passkey_begin))
        .route("/recover/passkey/finish", post(passkey_finish))
        .route("/recovery-codes", get(codes_page).post(new_codes))
        .route("/recovery/notices/dismiss", post(dismiss_notices))
}

/// A field's error as the page shows it.
struct FieldError {
    code: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "recover.html")]
struct RecoverPage {
    layout: Layout,
    email: String,
    email_error: Option<FieldError>,
    code_error: Option<FieldError>,
    form_error: Option<FieldError>,
}

#[derive(Template)]
#[template(path = "recover_link.html")]
struct LinkPage {
    layout: Layout,
    token: String,
    /// When the link starts working, while it waits.
    waiting_until: Option<String>,
    /// Until when it works, once ready.
    ready_until: Option<String>,
    error: Option<FieldError>,
}

#[derive(Template)]
#[template(path = "recover_passkey.html")]
struct PasskeyPage {
    layout: Layout,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct CodesPage {
    layout: Layout,
    /// The new codes, shown this once.
    codes: Vec<String>,
    has_codes: bool,
    left: usize,
}

/// The refusal in the shopper's words: English as written, else the catalogue's
/// `error-<code>` text when it has one.
fn shown(err: &Error) -> FieldError {
    let tr = crate::i18n::Tr::current();
    let message = err.public_message().into_owned();
    FieldError {
        code: err.code(),
        message: match tr.locale() {
            crate::i18n::Locale::En => message,
            _ => tr.t_or(&format!("error-{}", err.code()), &message),
        },
    }
}

/// Starts a recovery session for `user`: a new session id and CSRF token, no one signed in.
async fn begin_recovering(session: &Session, user: &User) -> Result<()> {
    session.clear().await;
    session.cycle_id().await?;
    session.insert(RECOVERING, user.id).await?;
    session.insert(RECOVERING_EPOCH, user.session_epoch).await?;
    session
        .insert(RECOVERING_UNTIL, unix_now() + RECOVERING_SECS)
        .await?;
    session.insert("csrf", random_token()?).await?;
    Ok(())
}

/// The shopper a recovery sign-in let in, while they make a new passkey. Nobody else: it
/// refuses (401) a session without one, expired, or of an account recovered again since.
struct Recovering(User);

impl<S> FromRequestParts<S> for Recovering
where
    Accounts: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| Error::internal(anyhow::anyhow!("session layer missing: {msg}")))?;
        let id = session.get::<Uuid>(RECOVERING).await?;
        let epoch = session.get::<i64>(RECOVERING_EPOCH).await?;
        let until = session.get::<i64>(RECOVERING_UNTIL).await?.unwrap_or(0);
        let (Some(id), Some(epoch)) = (id, epoch) else {
            return Err(Error::unauthenticated());
        };
        match Accounts::from_ref(state).user(id).await? {
            Some(user)
                if until > unix_now() && !user.is_frozen() && user.session_epoch == epoch =>
            {
                Ok(Recovering(user))
            }
            _ => Err(Error::unauthenticated()),
        }
    }
}

async fn code_page(session: Session) -> Result<Response> {
    render(&RecoverPage {
        layout: Layout::new(
            crate::i18n::Tr::current().t("recovery-lost-title"),
            csrf_token(&session).await?,
            None,
        ),
        email: String::new(),
        email_error: None,
        code_error: None,
        form_error: None,
    })
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
}

async fn code_sign_in(
    State(recovery): State<Recovery>,
    session: Session,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<CodeForm>,
) -> Result<Response> {
    match recovery
        .sign_in_with_code(&form.email, &form.code, peer.ip(), unix_now())
        .await
    {
        Ok(user) => {
            begin_recovering(&session, &user).await?;
            Ok(Redirect::to("/recover/passkey").into_response())
        }
        Err(err) if err.kind() == crate::error::Kind::Internal => Err(err),
        Err(err) => {
            let mut page = RecoverPage {
                layout: Layout::new(
                    crate::i18n::Tr::current().t("recovery-lost-title"),
                    csrf_token(&session).await?,
                    None,
                ),
                email: form.email.trim().to_string(),
                email_error: None,
                code_error: None,
                form_error: None,
            };
            match err.field() {
                Some("email") => page.email_error = Some(shown(&err)),
                Some("code") => page.code_error = Some(shown(&err)),
                _ => page.form_error = Some(shown(&err)),
            }
            let mut response = render(&page)?;
            *response.status_mut() = status_of(err.kind());
            Ok(response)
        }
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn link_page(
    State(recovery): State<Recovery>,
    session: Session,
    Query(q): Query<TokenQuery>,
) -> Result<Response> {
    let state = recovery.link(&q.token, unix_now()).await;
    link_response(&session, q.token, state, None).await
}

async fn link_response(
    session: &Session,
    token: String,
    state: Result<LinkState>,
    refused: Option<&Error>,
) -> Result<Response> {
    let mut page = LinkPage {
        layout: Layout::new(
            crate::i18n::Tr::current().t("recovery-link-title"),
            csrf_token(session).await?,
            None,
        ),
        token,
        waiting_until: None,
        ready_until: None,
        error: refused.map(shown),
    };
    let status = match state {
        Ok(LinkState::Waiting { usable_at }) => {
            page.waiting_until = Some(format_time(usable_at));
            None
        }
        Ok(LinkState::Ready { expires_at }) => {
            page.ready_until = Some(format_time(expires_at));
            None
        }
        Err(err) if err.kind() == crate::error::Kind::Internal => return Err(err),
        Err(err) => {
            page.error = Some(shown(&err));
            Some(status_of(err.kind()))
        }
    };
    let mut response = render(&page)?;
    if let Some(status) = status {
        *response.status_mut() = status;
    }
    Ok(response)
}

async fn link_sign_in(
    State(recovery): State<Recovery>,
    session: Session,
    Form(form): Form<TokenQuery>,
) -> Result<Response> {
    let now = unix_now();
    match recovery.sign_in_with_link(&form.token, now).await {
        Ok(user) => {
            begin_recovering(&session, &user).await?;
            Ok(Redirect::to("/recover/passkey").into_response())
        }
        Err(err) if err.code() == "recovery_not_ready" => {
            let state = recovery.link(&form.token, now).await;
            let mut response = link_response(&session, form.token, state, Some(&err)).await?;
            *response.status_mut() = status_of(err.kind());
            Ok(response)
        }
        Err(err) => link_response(&session, form.token, Err(err), None).await,
    }
}

async fn passkey_page(
    session: Session,
    recovering: std::result::Result<Recovering, Error>,
) -> Result<Response> {
    if recovering.is_err() {
        return Ok(Redirect::to("/recover").into_response());
    }
    render(&PasskeyPage {
        layout: Layout::new(
            crate::i18n::Tr::current().t("recovery-passkey-title"),
            csrf_token(&session).await?,
            None,
        ),
    })
}

async fn passkey_begin(
    State(accounts): State<Accounts>,
    session: Session,
    Recovering(user): Recovering,
) -> Result<Response> {
    let (id, options) = accounts.begin_add_passkey(&user, None, unix_now()).await?;
    remember_ceremony(&session, CeremonyKind::AddPasskey, &id).await?;
    Ok(axum::Json(options).into_response())
}

/// The new passkey made, the shopper is signed in for good, on the passkeys page (where the
/// lost passkey can be removed).
async fn passkey_finish(
    State(accounts): State<Accounts>,
    session: Session,
    Recovering(user): Recovering,
    Json(credential): Json<RegisterPublicKeyCredential>,
) -> Result<axum::Json<Value>> {
    let ceremony = take_ceremony(&session, CeremonyKind::AddPasskey).await?;
    accounts
        .finish_add_passkey(&user, &ceremony, &credential, unix_now())
        .await?;
    session.remove::<Uuid>(RECOVERING).await?;
    session.remove::<i64>(RECOVERING_EPOCH).await?;
    session.remove::<i64>(RECOVERING_UNTIL).await?;
    establish(&session, &user).await?;
    tracing::info!(user_id = %user.id, "passkey made after a recovery");
    Ok(axum::Json(json!({ "redirect": "/passkeys" })))
}

async fn codes_page(
    State(recovery): State<Recovery>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    render(&CodesPage {
        has_codes: recovery.has_codes(user.id).await?,
        left: recovery.codes_left(user.id).await?,
        layout: Layout::new(
            crate::i18n::Tr::current().t("recovery-codes-title"),
            csrf_token(&session).await?,
            Some(&user),
        ),
        codes: Vec::new(),
    })
}

/// Makes a new set (the old one stops working) and shows it, this once.
async fn new_codes(
    State(recovery): State<Recovery>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let codes = recovery.new_codes(user.id, unix_now()).await?;
    render(&CodesPage {
        has_codes: true,
        left: codes.len(),
        layout: Layout::new(
            crate::i18n::Tr::current().t("recovery-codes-title"),
            csrf_token(&session).await?,
            Some(&user),
        ),
        codes,
    })
}

async fn dismiss_notices(
    State(recovery): State<Recovery>,
    CurrentUser(user): CurrentUser,
) -> Result<Redirect> {
    recovery.dismiss_notices(user.id).await?;
    Ok(Redirect::to("/"))
}

/// After sign-up: the wallet home shows the first recovery codes.
pub async fn codes_due(session: &Session) -> Result<()> {
    session.insert(CODES_DUE, true).await?;
    Ok(())
}

/// The recovery part of the signed-in shopper's home: the first codes (made now, once, when
/// sign-up left them due), or a reminder when there are none, and notices of cancellations.
pub async fn home(session: &Session, recovery: &Recovery, user: &User) -> Result<HomeRecovery> {
    let due = session.remove::<bool>(CODES_DUE).await?.unwrap_or(false);
    let has = recovery.has_codes(user.id).await?;
    let codes = if due && !has {
        recovery.new_codes(user.id, unix_now()).await?
    } else {
        Vec::new()
    };
    Ok(HomeRecovery {
        missing: !has && codes.is_empty(),
        codes,
        cancelled: recovery
            .notices(user.id)
            .await?
            .into_iter()
            .map(format_time)
            .collect(),
    })
}

/// The shopper's latest account-security events, worded for the Activity page.
pub async fn security(recovery: &Recovery, user: &User) -> Result<Vec<SecurityLine>> {
    let tr = crate::i18n::Tr::current();
    Ok(recovery
        .events(user.id)
        .await?
        .into_iter()
        .map(|e| SecurityLine {
            what: tr.t(match e.kind.as_str() {
                event::CODES_CREATED => "recovery-event-codes-created",
                event::CODES_REPLACED => "recovery-event-codes-replaced",
                event::CODE_USED => "recovery-event-code-used",
                event::STARTED => "recovery-event-started",
                event::CANCELLED => "recovery-event-cancelled",
                event::CANCELLED_BY_SUPPORT => "recovery-event-cancelled-by-support",
                event::COMPLETED => "recovery-event-completed",
                _ => "recovery-event-other",
            }),
            when: format_time(e.at),
        })
        .collect())
}
