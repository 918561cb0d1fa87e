//! The disputes API (`/v1/disputes`) for merchants, authenticated like the payments API: list
//! and read the disputes on their payments, and answer one. The answer runs once per
//! `Idempotency-Key`, through the payments API's idempotency middleware.

use axum::extract::{Path, Query, State};
use axum::middleware;
use axum::routing::{get, post};
use axum::{Extension, Router};
use saifu_sdk::disputes::{Dispute as ApiDispute, DisputeAnswer, DisputeList, RespondToDispute};
use saifu_sdk::problem::Problem;
use serde::Deserialize;

use super::extract::Json;
use super::idempotency::idempotent;
use super::payments::authenticate;
use crate::clock::unix_now;
use crate::disputes::{Answer, Disputes, Evidence, Status};
use crate::error::{Error, Result};
use crate::merchants::Merchant;
use crate::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/disputes", get(list))
        .route("/v1/disputes/{id}", get(show))
        .route("/v1/disputes/{id}/respond", post(respond))
        .route_layer(middleware::from_fn_with_state(state.clone(), idempotent))
        .route_layer(middleware::from_fn_with_state(state, authenticate))
}

#[derive(Deserialize)]
struct StatusQuery {
    status: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/disputes",
    tag = "disputes",
    summary = "List the disputes shoppers opened on your payments, newest first",
    security(("merchant" = [])),
    params(
        ("status" = Option<String>, Query, description = "`open`, `evidence_received`, `resolving` or `resolved`"),
    ),
    responses(
        (status = 200, description = "The disputes", body = DisputeList),
        (status = 400, description = "`bad_request`: an unknown status", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_client`", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn list(
    State(disputes): State<Disputes>,
    Extension(merchant): Extension<Merchant>,
    Query(q): Query<StatusQuery>,
) -> Result<axum::Json<DisputeList>> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(Status::parse(raw).ok_or_else(|| {
            Error::invalid(
                "bad_request",
                "status is one of open, evidence_received, resolving, resolved.",
            )
            .on_field("status")
        })?),
    };
    let found = disputes.of_merchant(&merchant.client_id, status).await?;
    Ok(axum::Json(DisputeList {
        disputes: found.iter().map(|d| d.to_api()).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/disputes/{id}",
    tag = "disputes",
    summary = "Read a dispute",
    security(("merchant" = [])),
    params(
        ("id" = String, Path, description = "The dispute id (`dsp_…`)"),
    ),
    responses(
        (status = 200, description = "The dispute", body = ApiDispute),
        (status = 401, description = "`invalid_client`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (also for another merchant's dispute)", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn show(
    State(disputes): State<Disputes>,
    Extension(merchant): Extension<Merchant>,
    Path(id): Path<String>,
) -> Result<axum::Json<ApiDispute>> {
    let dispute = disputes.merchant_dispute(&merchant.client_id, &id).await?;
    Ok(axum::Json(dispute.to_api()))
}

#[utoipa::path(
    post,
    path = "/v1/disputes/{id}/respond",
    tag = "disputes",
    summary = "Answer a dispute by its respond_by: accept (refunded at once) or contest it with evidence",
    security(("merchant" = [])),
    params(
        ("id" = String, Path, description = "The dispute id (`dsp_…`)"),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, description = "Scoped to the merchant and the endpoint, kept 24 h: a replay answers the first response byte for byte"),
    ),
    request_body(content = RespondToDispute, content_type = "application/json", description = "`{\"accept\": true}` or `{\"evidence\": {\"text\": …, \"carrier\": …, \"tracking_number\": …}}`"),
    responses(
        (status = 200, description = "The dispute: `evidence_received`, or (accepted) `resolved` with its refund, or `resolving` while the refund is retried", body = ApiDispute),
        (status = 400, description = "`invalid_json`, `invalid_evidence`, `idempotency_key_required`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_client`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`dispute_closed` (answered or decided already), `response_window_closed`, `idempotency_key_in_use`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: send `application/json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn respond(
    State(disputes): State<Disputes>,
    Extension(merchant): Extension<Merchant>,
    Path(id): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Result<axum::Json<ApiDispute>> {
    let answer = parse_answer(body)?;
    let dispute = disputes
        .respond(&merchant.client_id, &id, answer, unix_now())
        .await?;
    Ok(axum::Json(dispute.to_api()))
}

/// The answer, parsed once: `{"accept": true}`, or evidence that passes its rules.
fn parse_answer(body: serde_json::Value) -> Result<Answer> {
    let refused = |why: String| Error::invalid("invalid_evidence", why);
    let body: RespondToDispute = serde_json::from_value(body)
        .map_err(|e| Error::invalid("invalid_json", format!("The JSON body is not valid: {e}")))?;
    match DisputeAnswer::try_from(body).map_err(|why| refused(format!("Answer with {why}.")))? {
        DisputeAnswer::Accept => Ok(Answer::Accept),
        DisputeAnswer::Evidence(e) => Ok(Answer::Evidence(Evidence::parse(
            &e.text,
            e.carrier.as_deref(),
            e.tracking_number.as_deref(),
        )?)),
    }
}
