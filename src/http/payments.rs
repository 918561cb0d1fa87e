//! The payments API (`/v1/payments`), authenticated with the merchant's client credentials.
//! Every POST carries an `Idempotency-Key`: scoped to the merchant and the endpoint, kept 24 h,
//! replayed byte for byte; other parameters get `422`, a key still running gets `409`.

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use saifu_sdk::payments::{
    CapturePayment, CreatePayment, CreateRefund, Payment, IDEMPOTENCY_KEY_HEADER,
};
use serde::Deserialize;

use super::extract::Json;
use super::oauth::parse_basic;
use crate::clock::unix_now;
use crate::error::{Error, Kind, Result};
use crate::merchants::Merchant;
use crate::secrets::sha256_hex;
use crate::store::idempotency::{Claim, KeyScope};
use crate::AppState;

/// How long a key's first request may run before a retry may take the key over.
const IDEMPOTENCY_LEASE_SECS: i64 = 120;
const IDEMPOTENCY_KEEP_SECS: i64 = 24 * 60 * 60;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/payments", post(create).get(by_order))
        .route("/v1/payments/{id}", get(show))
        .route("/v1/payments/{id}/capture", post(capture))
        .route("/v1/payments/{id}/void", post(void))
        .route("/v1/payments/{id}/refunds", post(refund))
        .route_layer(middleware::from_fn_with_state(state.clone(), idempotency))
        .route_layer(middleware::from_fn_with_state(state, authenticate))
}

fn unauthorized() -> Response {
    let mut response = Error::new(
        Kind::Unauthenticated,
        "invalid_client",
        "Authenticate with your client id and secret (HTTP Basic).",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"saifu\""),
    );
    response
}

/// HTTP Basic with the merchant's client id and secret.
async fn authenticate(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some((id, secret)) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(parse_basic)
    else {
        return unauthorized();
    };
    match app.checkout.merchants.authenticate(&id, &secret).await {
        Ok(Some(merchant)) => {
            request.extensions_mut().insert(merchant);
            next.run(request).await
        }
        Ok(None) => unauthorized(),
        Err(err) => err.into_response(),
    }
}

async fn idempotency(
    State(app): State<AppState>,
    Extension(merchant): Extension<Merchant>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    match run_once(&app, &merchant, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run_once(
    app: &AppState,
    merchant: &Merchant,
    request: Request,
    next: Next,
) -> Result<Response, Response> {
    let key = request
        .headers()
        .get(IDEMPOTENCY_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            Error::invalid(
                "idempotency_key_required",
                "Send an Idempotency-Key header (1 to 255 characters) with every POST.",
            )
            .into_response()
        })?;
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, app.config.body_limit_bytes)
        .await
        .map_err(|_| {
            Error::new(
                Kind::PayloadTooLarge,
                "payload_too_large",
                "The request body is too large.",
            )
            .into_response()
        })?;
    let endpoint = format!("POST {}", parts.uri.path());
    let store = &app.store;
    let scope = KeyScope {
        client_id: &merchant.client_id,
        endpoint: &endpoint,
        key: &key,
    };
    let claim = store
        .claim_idempotency_key(
            &scope,
            &sha256_hex(&bytes),
            unix_now(),
            IDEMPOTENCY_LEASE_SECS,
            IDEMPOTENCY_KEEP_SECS,
        )
        .await
        .map_err(IntoResponse::into_response)?;
    match claim {
        Claim::Mismatch => Err(Error::new(
            Kind::Unprocessable,
            "idempotency_key_reused",
            "This Idempotency-Key was used with other parameters.",
        )
        .into_response()),
        Claim::InProgress => Err(Error::conflict(
            "idempotency_key_in_use",
            "A request with this Idempotency-Key is still running. Retry shortly.",
        )
        .into_response()),
        Claim::Replay {
            status,
            body,
            content_type,
        } => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                response.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        Claim::Run => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let outcome = if parts.status.is_server_error() {
                // Our side (or the processor) failed: the key is freed so a retry runs again.
                store.release_idempotency_key(&scope).await
            } else {
                let ct = parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                store
                    .complete_idempotency_key(&scope, parts.status.as_u16(), &body, ct)
                    .await
            };
            if let Err(err) = outcome {
                tracing::error!(error = %err, "recording an idempotent response failed");
            }
            Ok(Response::from_parts(parts, Body::from(body)))
        }
    }
}

async fn create(
    State(app): State<AppState>,
    Extension(merchant): Extension<Merchant>,
    Json(body): Json<CreatePayment>,
) -> Result<Response> {
    let payment = app.payments.create(&merchant, body, unix_now()).await?;
    Ok((StatusCode::CREATED, axum::Json(payment)).into_response())
}

#[derive(Deserialize)]
struct OrderQuery {
    order_reference: Option<String>,
}

async fn by_order(
    State(app): State<AppState>,
    Extension(merchant): Extension<Merchant>,
    Query(q): Query<OrderQuery>,
) -> Result<axum::Json<Payment>> {
    let reference = q.order_reference.ok_or_else(|| {
        Error::invalid(
            "order_reference_required",
            "Look payments up with ?order_reference=…",
        )
    })?;
    Ok(axum::Json(
        app.payments
            .by_order_reference(&merchant, &reference)
            .await?,
    ))
}

async fn show(
    State(app): State<AppState>,
    Extension(merchant): Extension<Merchant>,
    Path(id): Path<String>,
) -> Result<axum::Json<Payment>> {
    Ok(axum::Json(app.payments.get(&merchant, &id).await?))
}

async fn capture(
    State(app): State<AppState>,
    Extension(merchant): Extension<Merchant>,
    Path(id): Path<String>,
    Json(body): Json<CapturePayment>,
) -> Result<axum::Json<Payment>> {
    Ok(axum::Json(
        app.payments
            .capture(&merchant, &id, body.amount.as_deref(), unix_now())
            .await?,
    ))
}

async fn void(
    State(app): State<AppState>,
    Extension(merchant): Extension<Merchant>,
    Path(id): Path<String>,
) -> Result<axum::Json<Payment>> {
    Ok(axum::Json(
        app.payments.void(&merchant, &id, unix_now()).await?,
    ))
}

async fn refund(
    State(app): State<AppState>,
    Extension(merchant): Extension<Merchant>,
    Path(id): Path<String>,
    Json(body): Json<CreateRefund>,
) -> Result<Response> {
    let payment = app
        .payments
        .refund(&merchant, &id, &body.amount, unix_now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(payment)).into_response())
}
