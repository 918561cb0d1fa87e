//! The shopper's browser session: who is signed in, since when, the CSRF token, the return
//! path and the ids of running passkey ceremonies. Also the CSRF check for every
//! state-changing request made from wallet pages.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::{header, request::Parts, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use tower_sessions::session::Id;
use tower_sessions::Session;
use uuid::Uuid;

use crate::accounts::ceremony::ceremony_not_found;
use crate::accounts::return_to::ReturnTo;
use crate::accounts::signin::SessionChange;
use crate::accounts::user::User;
use crate::accounts::{Accounts, CeremonyKind};
use crate::clock::random_token;
use crate::clock::unix_now;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::secrets::constant_time_eq;

const USER_ID: &str = crate::accounts::user::SESSION_USER_KEY;
const AUTH_AT: &str = "auth_at";
/// The account's session epoch at sign-in: a recovery raises it, ending the session.
const EPOCH: &str = "epoch";
const CSRF: &str = "csrf";
const RETURN_TO: &str = "return_to";
/// The browser's random key, kept from the session's first page on (and across the new id a
/// sign-in gives the session): the consents it opens carry its hash.
const BROWSER_KEY: &str = "browser_key";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf";

fn ceremony_slot(kind: CeremonyKind) -> String {
    format!("ceremony.{}", kind.as_str())
}

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String> {
    if let Some(token) = session.get::<String>(CSRF).await? {
        return Ok(token);
    }
    let token = random_token()?;
    session.insert(CSRF, &token).await?;
    // Written with the token, so that opening a consent later need not write the session.
    browser_key(session).await?;
    Ok(token)
}

/// The browser's key, created (once) on first use.
pub async fn browser_key(session: &Session) -> Result<String> {
    if let Some(key) = session.get::<String>(BROWSER_KEY).await? {
        return Ok(key);
    }
    let key = random_token()?;
    session.insert(BROWSER_KEY, &key).await?;
    Ok(key)
}

/// The browser's key if it has one yet, never creating it (for steps that only check it).
pub async fn known_browser_key(session: &Session) -> Result<Option<String>> {
    Ok(session.get::<String>(BROWSER_KEY).await?)
}

pub async fn remember_ceremony(session: &Session, kind: CeremonyKind, id: &str) -> Result<()> {
    session.insert(&ceremony_slot(kind), id).await?;
    Ok(())
}

/// The id of the session's ceremony of `kind`, derived from the session's id rather than kept
/// in it, so that starting the ceremony writes no session (the sign-in's). A session that was
/// never stored has none. The id changes with the session's, so a ceremony never outlives the
/// session that started it.
pub fn session_ceremony_id(session: &Session, kind: CeremonyKind) -> Result<String> {
    let id = session.id().ok_or_else(ceremony_not_found)?;
    let mut input = Vec::with_capacity(64);
    input.extend_from_slice(b"saifu.ceremony.");
    input.extend_from_slice(kind.as_str().as_bytes());
    input.push(0);
    input.extend_from_slice(&id.0.to_le_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    Ok(URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// The id of the session's ceremony of `kind` for one consent, derived from the session's id
/// and the consent's rather than kept in the session (the payment approval's, signed in or
/// one touch): starting it writes no session, a second start for the same consent replaces
/// the first, and two consents open in two tabs each have their own. A session that was never
/// stored has none (nor any consent).
pub fn consent_ceremony_id(
    session: &Session,
    kind: CeremonyKind,
    consent_id: &str,
) -> Option<String> {
    let id = session.id()?;
    let mut input = Vec::with_capacity(96 + consent_id.len());
    input.extend_from_slice(b"saifu.ceremony.");
    input.extend_from_slice(kind.as_str().as_bytes());
    input.push(0);
    input.extend_from_slice(&id.0.to_le_bytes());
    input.push(0);
    input.extend_from_slice(consent_id.as_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    Some(URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// Takes the ceremony id out of the session: a second attempt finds nothing.
pub async fn take_ceremony(session: &Session, kind: CeremonyKind) -> Result<String> {
    session
        .remove::<String>(&ceremony_slot(kind))
        .await?
        .ok_or_else(ceremony_not_found)
}

pub async fn remember_return_to(session: &Session, to: &ReturnTo) -> Result<()> {
    session.insert(RETURN_TO, to.as_str()).await?;
    Ok(())
}

pub async fn take_return_to(session: &Session) -> Result<ReturnTo> {
    let stored = session.remove::<String>(RETURN_TO).await?;
    Ok(ReturnTo::parse(stored.as_deref()))
}

/// Signs the shopper in: a new session id (so a planted id is worthless), a new CSRF token,
/// and the time of sign-in for the absolute expiry.
pub async fn establish(session: &Session, user: &User) -> Result<()> {
    Establishing::new()?.establish(session, user).await
}

/// A sign-in's session, prepared before the sign-in is written: its new id, CSRF token and
/// time of sign-in, so that the sign-in's transaction can write the signed-in session
/// ([`Establishing::change`]) and [`Establishing::establish`] then leaves the same session in
/// the session layer, whose save finds it written.
pub struct Establishing {
    id: Id,
    csrf: String,
    auth_at: i64,
}

impl Establishing {
    pub fn new() -> Result<Self> {
        Ok(Self {
            id: Id::default(),
            csrf: random_token()?,
            auth_at: unix_now(),
        })
    }

    /// What the sign-in changes in `session` for `user`: the return path taken, the keys
    /// [`Establishing::establish`] sets, under the new id.
    pub fn change(&self, session: &Session, user: &User) -> Option<SessionChange> {
        Some(SessionChange {
            id: self.id,
            expires_at: session.expiry_date().unix_timestamp(),
            remove: vec![RETURN_TO],
            set: vec![
                (USER_ID, serde_json::to_value(user.id).ok()?),
                (AUTH_AT, self.auth_at.into()),
                (EPOCH, user.session_epoch.into()),
                (CSRF, self.csrf.clone().into()),
            ],
        })
    }

    /// Signs the shopper in on `session` with the prepared CSRF token and time of sign-in.
    pub async fn establish(self, session: &Session, user: &User) -> Result<()> {
        session.cycle_id().await?;
        // The browser stays the same one: consents it opened before signing in remain usable.
        browser_key(session).await?;
        session.insert(USER_ID, user.id).await?;
        session.insert(AUTH_AT, self.auth_at).await?;
        session.insert(EPOCH, user.session_epoch).await?;
        session.insert(CSRF, self.csrf).await?;
        Ok(())
    }
}

pub async fn sign_out(session: &Session) -> Result<()> {
    session.flush().await?;
    Ok(())
}

/// The signed-in shopper, if any. A session past its absolute lifetime, of a shopper who is
/// gone or frozen, or signed in before the account was recovered, is ended here.
pub async fn current_user(
    session: &Session,
    accounts: &Accounts,
    absolute_secs: i64,
) -> Result<Option<User>> {
    let Some(user_id) = session.get::<Uuid>(USER_ID).await? else {
        return Ok(None);
    };
    let auth_at = session.get::<i64>(AUTH_AT).await?.unwrap_or(0);
    if unix_now() - auth_at >= absolute_secs {
        session.flush().await?;
        return Ok(None);
    }
    let epoch = session.get::<i64>(EPOCH).await?.unwrap_or(0);
    match accounts.user(user_id).await? {
        Some(user) if !user.is_frozen() && user.session_epoch == epoch => Ok(Some(user)),
        _ => {
            session.flush().await?;
            Ok(None)
        }
    }
}

/// Extracts the signed-in shopper; without one the request is refused with 401 (which the
/// page layer turns into a redirect to the sign-in page).
pub struct CurrentUser(pub User);

impl<S> FromRequestParts<S> for CurrentUser
where
    Accounts: FromRef<S>,
    Arc<Config>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| Error::internal(anyhow::anyhow!("session layer missing: {msg}")))?;
        let absolute = Arc::<Config>::from_ref(state).session_absolute_secs as i64;
        current_user(&session, &Accounts::from_ref(state), absolute)
            .await?
            .map(CurrentUser)
            .ok_or_else(Error::unauthenticated)
    }
}

/// Refuses state-changing requests that don't prove they come from a wallet page: the
/// `Origin` must be ours when sent, and the session's CSRF token must come back in the
/// `X-CSRF-Token` header (scripts) or the `csrf` form field (forms).
pub async fn csrf_guard(
    State(config): State<Arc<Config>>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    match check_csrf(&config, &session, request).await {
        Ok(request) => next.run(request).await,
        Err(err) => err.into_response(),
    }
}

async fn check_csrf(config: &Config, session: &Session, request: Request) -> Result<Request> {
    let refused = || {
        Error::forbidden(
            "csrf_failed",
            "This form has expired or did not come from Saifu. Reload the page and try again.",
        )
    };
    let headers = request.headers();
    // Browsers send `Origin: null` for plain form posts from pages with
    // `Referrer-Policy: no-referrer`, ours included; such requests still need the token.
    if let Some(origin) = headers
        .get(header::ORIGIN)
        .filter(|o| o.as_bytes() != b"null")
    {
        if origin.to_str().ok() != Some(config.origin().as_str()) {
            return Err(refused());
        }
    }
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err(refused());
    }
    let expected = session.get::<String>(CSRF).await?.ok_or_else(refused)?;
    if let Some(sent) = headers.get(CSRF_HEADER) {
        return if constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
            Ok(request)
        } else {
            Err(refused())
        };
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refused());
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, config.body_limit_bytes)
        .await
        .map_err(|_| {
            Error::new(
                crate::error::Kind::PayloadTooLarge,
                "payload_too_large",
                "The request body is too large.",
            )
        })?;
    let sent = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    match sent {
        Some(sent) if constant_time_eq(sent.as_bytes(), expected.as_bytes()) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(refused()),
    }
}
