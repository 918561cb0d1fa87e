//! Dynamic registration of merchants: `POST /oauth/register` (RFC 7591) and the management of
//! a registration at its `registration_client_uri` with its registration access token
//! (RFC 7592). Errors are RFC 7591 JSON; the client's address is the TCP peer.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use saifu_sdk::checkout::OAuthErrorBody;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::checkout::failure::OAuthFailure;
use crate::checkout::Checkout;
use crate::clock::unix_now;
use crate::merchants::Merchant;
use crate::registration::metadata::RequestedMetadata;
use crate::registration::{Refusal, Registered, Registrations};
use crate::AppState;

// One line per route, as the OpenAPI test reads the routes from the source.
#[rustfmt::skip]
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/register", post(register))
        .route("/oauth/register/{client_id}", get(read).put(update).delete(delete))
}

/// The client metadata a shop registers (RFC 7591 §2), with Saifu's `webhook_url`.
#[derive(Deserialize, ToSchema)]
pub(super) struct RegistrationRequest {
    /// Only in an update (RFC 7592): the registration's own client id.
    client_id: Option<String>,
    /// The shop's name, as the consent page shows it.
    client_name: Option<String>,
    /// At least one; `https` (plain `http` only on loopback hosts).
    #[serde(default)]
    redirect_uris: Vec<String>,
    /// `client_secret_basic` (the default) or `client_secret_post`.
    token_endpoint_auth_method: Option<String>,
    client_uri: Option<String>,
    logo_uri: Option<String>,
    /// Where signed webhooks go (Saifu's extension).
    webhook_url: Option<String>,
    /// Only `["authorization_code"]`.
    grant_types: Option<Vec<String>>,
    /// Only `["code"]`.
    response_types: Option<Vec<String>>,
    /// Not supported yet: refused with `invalid_client_metadata`.
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// Not supported yet: refused with `invalid_client_metadata`.
    #[schema(value_type = Option<String>)]
    jwks_uri: Option<serde_json::Value>,
}

impl RegistrationRequest {
    fn requested(self) -> (Option<String>, RequestedMetadata) {
        let keys_given = self.jwks.is_some() || self.jwks_uri.is_some();
        (
            self.client_id,
            RequestedMetadata {
                client_name: self.client_name,
                redirect_uris: self.redirect_uris,
                token_endpoint_auth_method: self.token_endpoint_auth_method,
                client_uri: self.client_uri,
                logo_uri: self.logo_uri,
                webhook_url: self.webhook_url,
                grant_types: self.grant_types,
                response_types: self.response_types,
                keys_given,
            },
        )
    }
}

/// A registration (RFC 7591 §3.2.1): the secrets only in the answer to the registration.
/// No `Debug`: it holds secrets in clear for the answer's body.
#[derive(Serialize, ToSchema)]
pub(super) struct RegistrationResponse {
    client_id: String,
    /// Given once, in the answer to the registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    client_id_issued_at: i64,
    /// `0`: the secret does not expire.
    client_secret_expires_at: i64,
    /// Given once, in the answer to the registration; only its digest is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_access_token: Option<String>,
    registration_client_uri: String,
    client_name: String,
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: String,
    grant_types: Vec<String>,
    response_types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<String>,
    /// Given once, in the answer to a registration with a `webhook_url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_secret: Option<String>,
    /// `pending` until the issuer vets the shop: `pending`, `verified` or `suspended`.
    saifu_status: String,
}

fn shown(secret: &Option<SecretString>) -> Option<String> {
    secret.as_ref().map(|s| s.expose_secret().to_string())
}

impl RegistrationResponse {
    fn of(checkout: &Checkout, m: Merchant, secrets: Option<&Registered>) -> Self {
        let uri = format!(
            "/oauth/register/{}",
            url::form_urlencoded::byte_serialize(m.client_id.as_bytes()).collect::<String>()
        );
        let registration = m
            .registration
            .unwrap_or_else(|| crate::merchants::RegisteredMetadata {
                token_endpoint_auth_method: "client_secret_basic".into(),
                client_uri: None,
                logo_uri: None,
            });
        Self {
            registration_client_uri: checkout
                .issuer_url()
                .join(&uri)
                .map(|u| u.to_string())
                .unwrap_or_default(),
            client_secret: secrets.and_then(|s| shown(&s.client_secret)),
            registration_access_token: secrets.and_then(|s| shown(&s.registration_access_token)),
            webhook_secret: secrets.and_then(|s| shown(&s.webhook_secret)),
            client_id: m.client_id,
            client_id_issued_at: m.created_at,
            client_secret_expires_at: 0,
            client_name: m.name,
            redirect_uris: m.redirect_uris,
            token_endpoint_auth_method: registration.token_endpoint_auth_method,
            grant_types: vec!["authorization_code".into()],
            response_types: vec!["code".into()],
            client_uri: registration.client_uri,
            logo_uri: registration.logo_uri,
            webhook_url: m.webhook_url,
            saifu_status: m.status.as_str().to_string(),
        }
    }
}

fn no_store(status: StatusCode, body: impl IntoResponse) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An RFC 7591 error body: `{"error", "error_description"}`, never cached.
fn error(status: StatusCode, failure: OAuthFailure) -> Response {
    let body = OAuthErrorBody {
        error: failure.error.to_string(),
        error_description: Some(failure.description),
    };
    no_store(status, Json(body))
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Metadata {
                error: code,
                description,
            } => error(
                StatusCode::BAD_REQUEST,
                OAuthFailure::new(code, description),
            ),
            Refusal::Disabled => error(
                StatusCode::FORBIDDEN,
                OAuthFailure::new(
                    "registration_disabled",
                    "This wallet does not take new shops now.",
                ),
            ),
            Refusal::TooMany { retry_after } => {
                let mut response = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    OAuthFailure::new(
                        "too_many_requests",
                        "Too many registrations from this address: try again later.",
                    ),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                response
            }
            Refusal::InvalidToken => {
                let mut response = error(
                    StatusCode::UNAUTHORIZED,
                    OAuthFailure::new(
                        "invalid_token",
                        "The registration access token is missing, wrong or no longer valid.",
                    ),
                );
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"saifu\", error=\"invalid_token\""),
                );
                response
            }
            Refusal::Server(err) => OAuthFailure::from(err).into_response(),
        }
    }
}

/// The body as metadata: JSON, of the shape RFC 7591 gives.
fn metadata(headers: &HeaderMap, body: &Bytes) -> Result<RegistrationRequest, Refusal> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(Refusal::metadata(
            "invalid_request",
            "the body must be application/json",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        Refusal::metadata(
            "invalid_client_metadata",
            format!("the metadata is not of the registration's shape: {e}"),
        )
    })
}

/// `Authorization: Bearer <registration access token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

#[utoipa::path(
    post,
    path = "/oauth/register",
    tag = "registration",
    summary = "Register a shop (RFC 7591)",
    description = "No authentication. The shop starts `pending` (not verified) until the issuer vets it. Limited per client address; absent from the metadata, and refused, while the issuer has switched registration off.",
    request_body(content = RegistrationRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered: `client_secret`, `registration_access_token` (and `webhook_secret`) are shown this once", body = RegistrationResponse),
        (status = 400, description = "RFC 7591 error: `invalid_client_metadata`, `invalid_redirect_uri`, `invalid_request`", body = OAuthErrorBody),
        (status = 403, description = "`registration_disabled`: the issuer has switched registration off", body = OAuthErrorBody),
        (status = 429, description = "`too_many_requests`, with `Retry-After`", body = OAuthErrorBody),
        (status = 500, description = "`server_error`", body = OAuthErrorBody),
    ),
)]
async fn register(
    State(registrations): State<Registrations>,
    State(checkout): State<Checkout>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let (_, requested) = metadata(&headers, &body)?.requested();
        registrations
            .register(&requested, peer.ip(), unix_now())
            .await
    }
    .await;
    match result {
        Ok(registered) => {
            let answer =
                RegistrationResponse::of(&checkout, registered.merchant.clone(), Some(&registered));
            no_store(StatusCode::CREATED, Json(answer))
        }
        Err(refusal) => refusal.into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/oauth/register/{client_id}",
    tag = "registration",
    summary = "Read a registration (RFC 7592)",
    params(("client_id" = String, Path, description = "The registration's client id")),
    security(("registration" = [])),
    responses(
        (status = 200, description = "The registration, without its secrets", body = RegistrationResponse),
        (status = 401, description = "`invalid_token`, with `WWW-Authenticate: Bearer`", body = OAuthErrorBody),
    ),
)]
async fn read(
    State(registrations): State<Registrations>,
    State(checkout): State<Checkout>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match registrations.read(&client_id, bearer(&headers)).await {
        Ok(m) => no_store(
            StatusCode::OK,
            Json(RegistrationResponse::of(&checkout, m, None)),
        ),
        Err(refusal) => refusal.into_response(),
    }
}

#[utoipa::path(
    put,
    path = "/oauth/register/{client_id}",
    tag = "registration",
    summary = "Replace a registration's metadata (RFC 7592)",
    description = "The full metadata, as registered, with `client_id`. The status and the secrets stay; a changed `webhook_url` keeps the webhook secret.",
    params(("client_id" = String, Path, description = "The registration's client id")),
    security(("registration" = [])),
    request_body(content = RegistrationRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated registration, without its secrets; a `webhook_url` given for the first time comes with its `webhook_secret`, shown this once", body = RegistrationResponse),
        (status = 400, description = "RFC 7591 error: `invalid_client_metadata`, `invalid_redirect_uri`, `invalid_request`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_token`, with `WWW-Authenticate: Bearer`", body = OAuthErrorBody),
    ),
)]
async fn update(
    State(registrations): State<Registrations>,
    State(checkout): State<Checkout>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let token = bearer(&headers);
        // The token first: a stranger learns nothing from the body's checks.
        registrations.read(&client_id, token).await?;
        let (sent_id, requested) = metadata(&headers, &body)?.requested();
        registrations
            .update(
                &client_id,
                token,
                sent_id.as_deref(),
                &requested,
                unix_now(),
            )
            .await
    }
    .await;
    match result {
        Ok(updated) => no_store(
            StatusCode::OK,
            Json(RegistrationResponse::of(
                &checkout,
                updated.merchant.clone(),
                Some(&updated),
            )),
        ),
        Err(refusal) => refusal.into_response(),
    }
}

#[utoipa::path(
    delete,
    path = "/oauth/register/{client_id}",
    tag = "registration",
    summary = "Delete a registration for good (RFC 7592)",
    description = "Its credentials stop working at once: pushed requests, token requests and payments API calls get `invalid_client`.",
    params(("client_id" = String, Path, description = "The registration's client id")),
    security(("registration" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`invalid_token`, with `WWW-Authenticate: Bearer`", body = OAuthErrorBody),
    ),
)]
async fn delete(
    State(registrations): State<Registrations>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match registrations
        .delete(&client_id, bearer(&headers), unix_now())
        .await
    {
        Ok(()) => no_store(StatusCode::NO_CONTENT, ()),
        Err(refusal) => refusal.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_token_is_taken() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer t0k"),
        );
        assert_eq!(bearer(&headers), Some("t0k"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&headers), None);
    }
}
