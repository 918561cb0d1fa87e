//! The merchant-facing OAuth endpoints: discovery (RFC 8414), JWKS, pushed authorization
//! requests (RFC 9126) and the token endpoint. Client authentication is `client_secret_basic`
//! or `client_secret_post`; errors are RFC 6749 JSON.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use saifu_sdk::checkout::{
    AuthorizationServerMetadata, JwkSet, OAuthErrorBody, ParResponse, TokenResponse,
};
use saifu_sdk::problem::Problem;
use serde::Deserialize;

use crate::checkout::failure::OAuthFailure;
use crate::checkout::pushed::PushedRequest;
use crate::checkout::token::TokenRequest;
use crate::checkout::Checkout;
use crate::clock::unix_now;
use crate::error::Result;
use crate::merchants::Merchant;
use crate::money::AmountLimits;
use crate::registration::Registrations;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/oauth/jwks", get(jwks))
        .route("/oauth/par", post(par))
        .route("/oauth/token", post(token))
}

impl IntoResponse for OAuthFailure {
    fn into_response(self) -> Response {
        let status = match self.error {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = OAuthErrorBody {
            error: self.error.to_string(),
            error_description: Some(self.description),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"saifu\""),
            );
        }
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "oauth",
    summary = "Authorization server metadata (RFC 8414)",
    responses((status = 200, description = "The wallet's OAuth metadata", body = AuthorizationServerMetadata)),
)]
async fn metadata(
    State(checkout): State<Checkout>,
    State(registrations): State<Registrations>,
) -> Result<Json<AuthorizationServerMetadata>> {
    let base = checkout.issuer_url();
    let at = |path: &str| base.join(path).map(|u| u.to_string()).unwrap_or_default();
    let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let registration_endpoint = registrations
        .is_open()
        .await?
        .then(|| at("/oauth/register"));
    Ok(Json(AuthorizationServerMetadata {
        issuer: checkout.issuer().to_string(),
        authorization_endpoint: at("/oauth/authorize"),
        token_endpoint: at("/oauth/token"),
        pushed_authorization_request_endpoint: at("/oauth/par"),
        jwks_uri: at("/oauth/jwks"),
        require_pushed_authorization_requests: true,
        response_types_supported: list(&["code"]),
        response_modes_supported: list(&["query"]),
        grant_types_supported: list(&["authorization_code"]),
        code_challenge_methods_supported: list(&["S256"]),
        token_endpoint_auth_methods_supported: list(&["client_secret_basic", "client_secret_post"]),
        authorization_details_types_supported: list(&["payment"]),
        authorization_response_iss_parameter_supported: true,
        registration_endpoint,
    }))
}

#[utoipa::path(
    get,
    path = "/oauth/jwks",
    tag = "oauth",
    summary = "The ES256 keys that sign payment grants",
    responses((status = 200, description = "A JWK set (RFC 7517)", body = JwkSet)),
)]
async fn jwks(State(checkout): State<Checkout>) -> Result<Response> {
    let keys = checkout.signer.jwks(unix_now()).await?;
    Ok((
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        )],
        Json(keys),
    )
        .into_response())
}

/// Form parameters common to both endpoints' client authentication.
#[derive(Deserialize, Default)]
struct ClientCredentials {
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn form<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, OAuthFailure> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthFailure::new(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    // Repeated parameters are refused (RFC 6749 §3.1): serde reports a duplicate field.
    serde_urlencoded::from_bytes(body)
        .map_err(|e| OAuthFailure::new("invalid_request", format!("malformed parameters: {e}")))
}

/// `client_secret_basic` or `client_secret_post`, not both.
async fn authenticate(
    checkout: &Checkout,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Merchant, OAuthFailure> {
    let unauthorized = || OAuthFailure::new("invalid_client", "client authentication failed");
    let posted: ClientCredentials = form(headers, body)?;
    let basic = match headers.get(header::AUTHORIZATION) {
        Some(value) => Some(parse_basic(value).ok_or_else(unauthorized)?),
        None => None,
    };
    let (client_id, secret) = match (basic, posted.client_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthFailure::new(
                "invalid_request",
                "use one client authentication method, not two",
            ))
        }
        (Some((id, secret)), None) => {
            if posted.client_id.as_ref().is_some_and(|p| p != &id) {
                return Err(OAuthFailure::new(
                    "invalid_request",
                    "client_id does not match the authenticated client",
                ));
            }
            (id, secret)
        }
        (None, Some(secret)) => (posted.client_id.ok_or_else(unauthorized)?, secret),
        (None, None) => return Err(unauthorized()),
    };
    checkout
        .merchants
        .authenticate(&client_id, &secret)
        .await?
        .ok_or_else(unauthorized)
}

/// `Authorization: Basic` with form-urlencoded id and secret (RFC 6749 §2.3.1).
pub fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let encoded = value.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

#[utoipa::path(
    post,
    path = "/oauth/par",
    tag = "oauth",
    summary = "Pushed authorization request (RFC 9126)",
    description = "Client authentication is `client_secret_basic` (HTTP Basic) or `client_secret_post` (`client_id` and `client_secret` in the form), not both.",
    security(("merchant" = []), ()),
    request_body(content = super::openapi::forms::ParForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "The request, to send the shopper to with `GET /oauth/authorize`", body = ParResponse),
        (status = 400, description = "RFC 6749 error: `invalid_request`, `invalid_authorization_details`, `unsupported_response_type`, `unauthorized_client`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`, with `WWW-Authenticate`", body = OAuthErrorBody),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`server_error`", body = OAuthErrorBody),
    ),
)]
async fn par(
    State(checkout): State<Checkout>,
    State(limits): State<AmountLimits>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let merchant = authenticate(&checkout, &headers, &body).await?;
        let request = PushedRequest::parse(&merchant, form(&headers, &body)?, &limits)?;
        checkout.push(request, unix_now()).await
    }
    .await;
    match result {
        Ok(created) => (StatusCode::CREATED, Json(created)).into_response(),
        Err(failure) => failure.into_response(),
    }
}

#[utoipa::path(
    post,
    path = "/oauth/token",
    tag = "oauth",
    summary = "Exchange an authorization code for the payment grant",
    description = "Client authentication as for the pushed request. A code works once; presenting it again fails and revokes the grant it gave.",
    security(("merchant" = []), ()),
    request_body(content = super::openapi::forms::TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The payment grant as `access_token` (a JWT, RFC 9068)", body = TokenResponse),
        (status = 400, description = "RFC 6749 error: `invalid_request`, `invalid_grant`, `unsupported_grant_type`, `unauthorized_client`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`, with `WWW-Authenticate`", body = OAuthErrorBody),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`server_error`", body = OAuthErrorBody),
    ),
)]
async fn token(State(checkout): State<Checkout>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let merchant = authenticate(&checkout, &headers, &body).await?;
        let request = TokenRequest::parse(&merchant, form(&headers, &body)?)?;
        checkout.redeem_code(&merchant, request, unix_now()).await
    }
    .await;
    match result {
        // A token is never cached (RFC 6749 §5.1); `Pragma` for HTTP/1.0 caches.
        Ok(granted) => (
            [
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::PRAGMA, HeaderValue::from_static("no-cache")),
            ],
            Json(granted),
        )
            .into_response(),
        Err(failure) => failure.into_response(),
    }
}
