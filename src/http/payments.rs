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
use saifu_sdk::problem::Problem;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::extract::Json;
use super::idempotency::idempotent;
use super::oauth::parse_basic;
use crate::checkout::Checkout;
use crate::clock::unix_now;
use crate::error::{Error, Kind, Result};
use crate::idempotency::{Answered, IdempotencyKey, InlineAnswer, Scope};
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
pub(super) async fn authenticate(
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

/// A payments body, read once. Every `amount` is `{"currency", "amount"}`; one sent in another
/// shape (a bare string, as captures and refunds once took) is refused with the shape to use.
fn parse_body<T: DeserializeOwned>(body: serde_json::Value) -> Result<T> {
    if body
        .get("amount")
        .is_some_and(|a| !(a.is_object() || a.is_null()))
    {
        return Err(Error::invalid(
            "invalid_amount",
            r#"The amount is an object with a currency and a decimal string: {"currency": "JPY", "amount": "12800"}."#,
        )
        .on_field("amount"));
    }
    serde_json::from_value(body)
        .map_err(|e| Error::invalid("invalid_json", format!("The JSON body is not valid: {e}")))
}

#[utoipa::path(
    post,
    path = "/v1/payments",
    tag = "payments",
    summary = "Redeem a payment grant (once) for at most the granted amount",
    security(("merchant" = [])),
    params(
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, description = "Scoped to the merchant and the endpoint, kept 24 h: a replay answers the first response byte for byte"),
    ),
    request_body(content = CreatePayment, content_type = "application/json"),
    responses(
        (status = 201, description = "The payment, authorized or captured", body = Payment),
        (status = 400, description = "`invalid_json`, `invalid_amount`, `invalid_grant`, `grant_expired`, `idempotency_key_required`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_client`: HTTP Basic with the merchant's client id and secret is missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "`card_declined`, with a `decline_code`; the grant is spent", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`merchant_suspended`, `shopper_frozen`; the risk limits current now: `limit_per_payment`, `limit_unverified_merchant`, `limit_daily_total`, `limit_hourly_count` (the grant is not spent)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`grant_already_used`, `grant_revoked`, `card_unavailable`, `payment_in_progress`, `idempotency_key_in_use`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`amount_exceeds_grant`, `amount_below_points`, `currency_mismatch`, `amount_too_large`, `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`processor_error`: the card network failed; retrying with the same key is safe", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn create(
    State(payments): State<Payments>,
    Extension(merchant): Extension<Merchant>,
    key: Option<Extension<IdempotencyKey>>,
    scope: Option<Extension<Scope>>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response> {
    let body: CreatePayment = parse_body(body)?;
    // A payment captured at once keeps this answer for its key in the capture's transaction.
    let answer = scope.map(|Extension(scope)| InlineAnswer {
        scope,
        status: StatusCode::CREATED.as_u16(),
        content_type: "application/json",
    });
    let created = payments
        .create(
            &merchant,
            body,
            request_key(&key),
            answer.as_ref(),
            unix_now(),
        )
        .await?;
    let mut response = (StatusCode::CREATED, axum::Json(created.payment)).into_response();
    if created.answered {
        response.extensions_mut().insert(Answered);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct OrderQuery {
    order_reference: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/payments",
    tag = "payments",
    summary = "Find the latest payment for an order reference",
    security(("merchant" = [])),
    params(
        ("order_reference" = String, Query, description = "The merchant's order reference"),
    ),
    responses(
        (status = 200, description = "The payment", body = Payment),
        (status = 400, description = "`order_reference_required`, `bad_request`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_client`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`payment_not_found`", body = Problem, content_type = "application/problem+json"),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/v1/payments/{id}",
    tag = "payments",
    summary = "Read a payment",
    security(("merchant" = [])),
    params(
        ("id" = String, Path, description = "The payment id (`pay_…`)"),
    ),
    responses(
        (status = 200, description = "The payment", body = Payment),
        (status = 401, description = "`invalid_client`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`payment_not_found` (also for another merchant's payment)", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn show(
    State(payments): State<Payments>,
    Extension(merchant): Extension<Merchant>,
    Path(id): Path<String>,
) -> Result<axum::Json<Payment>> {
    Ok(axum::Json(payments.get(&merchant, &id).await?))
}

#[utoipa::path(
    post,
    path = "/v1/payments/{id}/capture",
    tag = "payments",
    summary = "Capture an authorization, once, for all or part of it",
    security(("merchant" = [])),
    params(
        ("id" = String, Path, description = "The payment id (`pay_…`)"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, description = "Scoped to the merchant and the endpoint, kept 24 h: a replay answers the first response byte for byte"),
    ),
    request_body(content = CapturePayment, content_type = "application/json"),
    responses(
        (status = 200, description = "The captured payment", body = Payment),
        (status = 400, description = "`invalid_json`, `invalid_amount`, `idempotency_key_required`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_client`", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "`card_declined`, with a `decline_code`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`payment_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`payment_not_capturable`, `idempotency_key_in_use`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`amount_exceeds_authorization`, `amount_below_points`, `currency_mismatch`, `amount_too_large`, `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`processor_error`: retrying with the same key is safe", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn capture(
    State(payments): State<Payments>,
    Extension(merchant): Extension<Merchant>,
    key: Option<Extension<IdempotencyKey>>,
    Path(id): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Result<axum::Json<Payment>> {
    let body: CapturePayment = parse_body(body)?;
    Ok(axum::Json(
        payments
            .capture(
                &merchant,
                &id,
                body.amount.as_ref(),
                request_key(&key),
                unix_now(),
            )
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v1/payments/{id}/void",
    tag = "payments",
    summary = "Release an uncaptured authorization",
    security(("merchant" = [])),
    params(
        ("id" = String, Path, description = "The payment id (`pay_…`)"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, description = "Scoped to the merchant and the endpoint, kept 24 h: a replay answers the first response byte for byte"),
    ),
    responses(
        (status = 200, description = "The voided payment", body = Payment),
        (status = 400, description = "`idempotency_key_required`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_client`", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "`card_declined`, with a `decline_code`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`payment_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`payment_not_voidable`, `idempotency_key_in_use`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`processor_error`: retrying with the same key is safe", body = Problem, content_type = "application/problem+json"),
    ),
)]
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

#[utoipa::path(
    post,
    path = "/v1/payments/{id}/refunds",
    tag = "payments",
    summary = "Refund part or all of a captured payment",
    security(("merchant" = [])),
    params(
        ("id" = String, Path, description = "The payment id (`pay_…`)"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, description = "Scoped to the merchant and the endpoint, kept 24 h: a replay answers the first response byte for byte"),
    ),
    request_body(content = CreateRefund, content_type = "application/json"),
    responses(
        (status = 201, description = "The payment, with the refund counted in `refunded_amount`", body = Payment),
        (status = 400, description = "`invalid_json`, `invalid_amount`, `idempotency_key_required`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_client`", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "`card_declined`, with a `decline_code`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`payment_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`payment_not_refundable`, `payment_in_progress`, `idempotency_key_in_use`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`refund_exceeds_captured`, `currency_mismatch`, `amount_too_large`, `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`processor_error`: retrying with the same key is safe", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn refund(
    State(payments): State<Payments>,
    Extension(merchant): Extension<Merchant>,
    key: Option<Extension<IdempotencyKey>>,
    Path(id): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response> {
    let body: CreateRefund = parse_body(body)?;
    let payment = payments
        .refund(&merchant, &id, &body.amount, request_key(&key), unix_now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(payment)).into_response())
}
