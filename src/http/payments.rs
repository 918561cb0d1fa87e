//! The payments API (`/v1/payments`), authenticated with the merchant's client credentials.
//! Every POST carries an `Idempotency-Key` and runs once per key (`http/idempotency.rs`, with
//! the rules in `crate::idempotency`).

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use saifu_sdk::payments::{CapturePayment, CreatePayment, CreateRefund, Payment};
use serde::Deserialize;

use super::extract::Json;
use super::idempotency::idempotent;
use super::oauth::parse_basic;
use crate::checkout::Checkout;
use crate::clock::unix_now;
use crate::error::{Error, Kind, Result};
use crate::idempotency::IdempotencyKey;
use crate::merchants::Merchant;
use crate::payments::Payments;
use crate::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/payments", post(create).get(by_order))
        .route("/v1/payments/{id}", get(show))
        .route("/v1/payments/{id}/capture", post(capture))
        .route("/v1/payments/{id}/void", post(void))
        .route("/v1/payments/{id}/refunds", post(refund))
        .route_layer(middleware::from_fn_with_state(state.clone(), idempotent))
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
async fn authenticate(
    State(checkout): State<Checkout>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some((id, secret)) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(parse_basic)
    else {
        return unauthorized();
    };
    match checkout.merchants.authenticate(&id, &secret).await {
        Ok(Some(merchant)) => {
            request.extensions_mut().insert(merchant);
            next.run(request).await
        }
        Ok(None) => unauthorized(),
        Err(err) => err.into_response(),
    }
}

/// The request's Idempotency-Key, as the idempotency middleware parsed it.
fn request_key(key: &Option<Extension<IdempotencyKey>>) -> Option<&str> {
    key.as_ref().map(|Extension(key)| key.as_str())
}

async fn create(
    State(payments): State<Payments>,
    Extension(merchant): Extension<Merchant>,
    key: Option<Extension<IdempotencyKey>>,
    Json(body): Json<CreatePayment>,
) -> Result<Response> {
    let payment = payments
        .create(&merchant, body, request_key(&key), unix_now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(payment)).into_response())
}

#[derive(Deserialize)]
struct OrderQuery {
    order_reference: Option<String>,
}

async fn by_order(
    State(payments): State<Payments>,
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
        payments.by_order_reference(&merchant, &reference).await?,
    ))
}

async fn show(
    State(payments): State<Payments>,
    Extension(merchant): Extension<Merchant>,
    Path(id): Path<String>,
) -> Result<axum::Json<Payment>> {
    Ok(axum::Json(payments.get(&merchant, &id).await?))
}

async fn capture(
    State(payments): State<Payments>,
    Extension(merchant): Extension<Merchant>,
    key: Option<Extension<IdempotencyKey>>,
    Path(id): Path<String>,
    Json(body): Json<CapturePayment>,
) -> Result<axum::Json<Payment>> {
    let amount = body.amount.as_deref();
    Ok(axum::Json(
        payments
            .capture(&merchant, &id, amount, request_key(&key), unix_now())
            .await?,
    ))
}

async fn void(
    State(payments): State<Payments>,
    Extension(merchant): Extension<Merchant>,
    key: Option<Extension<IdempotencyKey>>,
    Path(id): Path<String>,
) -> Result<axum::Json<Payment>> {
    Ok(axum::Json(
        payments
            .void(&merchant, &id, request_key(&key), unix_now())
            .await?,
    ))
}

async fn refund(
    State(payments): State<Payments>,
    Extension(merchant): Extension<Merchant>,
    key: Option<Extension<IdempotencyKey>>,
    Path(id): Path<String>,
    Json(body): Json<CreateRefund>,
) -> Result<Response> {
    let payment = payments
        .refund(&merchant, &id, &body.amount, request_key(&key), unix_now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(payment)).into_response())
}
