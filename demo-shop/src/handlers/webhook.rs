//! `POST /webhooks/saifu`: the wallet's signed webhooks.

use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use saifu_sdk::{verify_webhook, WebhookSecret};

use crate::store::WebhookOutcome;
use crate::Shop;

/// The most a webhook body may be; a payment event is well under 2 KiB.
const WEBHOOK_BODY_LIMIT: usize = 64 * 1024;

/// The wallet's webhooks. The signature authenticates them, so there is no `Origin` check, and
/// every verified delivery is acknowledged (`204`), even one the shop has nothing to do with:
/// an error would only make the wallet send it again.
pub(super) async fn webhook(State(shop): State<Shop>, headers: HeaderMap, body: Body) -> Response {
    let Some(secret) = &shop.0.webhook_secret else {
        return shop.not_found(None);
    };
    receive(&shop, secret, headers, body).await
}

/// Verifies a delivery with `secret` and applies it (the default wallet's and, from
/// `wallets`, the other wallets').
pub(super) async fn receive(
    shop: &Shop,
    secret: &WebhookSecret,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(body) = axum::body::to_bytes(body, WEBHOOK_BODY_LIMIT).await else {
        tracing::warn!("refused a webhook whose body was too large or unreadable");
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let event = match verify_webhook(&headers, &body, std::slice::from_ref(secret)) {
        Ok(event) => event,
        Err(err) => {
            tracing::warn!(error = %err, "refused a webhook that did not verify");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    let outcome = shop.store().webhook(&event, Instant::now());
    match outcome {
        WebhookOutcome::Applied => {
            tracing::info!(event_id = %event.id, event_type = %event.event_type, "webhook applied");
        }
        outcome => {
            tracing::debug!(event_id = %event.id, event_type = %event.event_type, ?outcome, "webhook acknowledged and not applied");
        }
    }
    StatusCode::NO_CONTENT.into_response()
}
