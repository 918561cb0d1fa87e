//! The idempotency middleware of the payments API: reads the key and the body, asks
//! `crate::idempotency` what to do, and runs, replays or refuses. The rules live there.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use saifu_sdk::payments::IDEMPOTENCY_KEY_HEADER;

use super::error::ErrorInfo;
use crate::clock::unix_now;
use crate::config::Config;
use crate::error::{Error, Kind};
use crate::idempotency::{Answered, Decision, Idempotency, IdempotencyKey, Saved, Scope};
use crate::merchants::Merchant;

/// Runs each POST once per key; other methods pass through.
pub async fn idempotent(
    State(idempotency): State<Idempotency>,
    State(config): State<Arc<Config>>,
    Extension(merchant): Extension<Merchant>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    match run_once(
        &idempotency,
        config.body_limit_bytes,
        &merchant,
        request,
        next,
    )
    .await
    {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn run_once(
    idempotency: &Idempotency,
    body_limit: usize,
    merchant: &Merchant,
    request: Request,
    next: Next,
) -> Result<Response, Error> {
    let key = IdempotencyKey::parse(
        request
            .headers()
            .get(IDEMPOTENCY_KEY_HEADER)
            .and_then(|v| v.to_str().ok()),
    )?;
    let (mut parts, body) = request.into_parts();
    // The handler hands the key to the service, which records it with the money operation it
    // starts, so that a retry after a crash resumes that operation.
    parts.extensions.insert(key.clone());
    let bytes = axum::body::to_bytes(body, body_limit).await.map_err(|_| {
        Error::new(
            Kind::PayloadTooLarge,
            "payload_too_large",
            "The request body is too large.",
        )
    })?;
    let scope = Scope {
        client_id: merchant.client_id.clone(),
        endpoint: format!("POST {}", parts.uri.path()),
        key,
    };
    match idempotency.claim(&scope, &bytes, unix_now()).await? {
        Decision::Replay(saved) => Ok(replay(saved)),
        Decision::Run => {
            // A handler whose operation keeps its answer itself finds the key's scope here.
            parts.extensions.insert(scope.clone());
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let answer = Saved {
                status: parts.status.as_u16(),
                body: body.to_vec(),
                content_type: parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            };
            if parts.extensions.get::<Answered>().is_some() {
                // Kept with the operation's own change.
                return Ok(Response::from_parts(parts, Body::from(body)));
            }
            let code = parts.extensions.get::<ErrorInfo>().map(|info| info.code);
            if let Err(err) = idempotency.finish(&scope, &answer, code).await {
                tracing::error!(error = %err, "recording an idempotent response failed");
            }
            Ok(Response::from_parts(parts, Body::from(body)))
        }
    }
}

fn replay(saved: Saved) -> Response {
    let mut response = Response::new(Body::from(saved.body));
    *response.status_mut() = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK);
    if let Some(ct) = saved
        .content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
