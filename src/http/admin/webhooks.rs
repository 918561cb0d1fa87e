//! The console's Webhooks section: the endpoints deliveries stopped at and why, one
//! merchant's recent events with every attempt, and (with `ManageWebhooks`) enabling an
//! endpoint again and retrying one event now.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::super::pages::{format_time, render};
use super::console::{AdminLayout, Console};
use crate::admin::Permission;
use crate::error::{Error, Result};
use crate::merchants::Merchants;
use crate::webhooks::Webhooks;
use crate::AppState;

/// Events one endpoint page shows.
const EVENTS: i64 = 25;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/webhooks", get(disabled))
        .route("/admin/webhooks/{client_id}", get(endpoint))
        .route("/admin/webhooks/{client_id}/enable", post(enable))
        .route("/admin/webhooks/events/{event_id}/retry", post(retry))
}

fn page_of(client_id: &str) -> String {
    format!(
        "/admin/webhooks/{}",
        url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect::<String>()
    )
}

struct DisabledRow {
    client_id: String,
    name: String,
    url: String,
    since: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct DisabledPage {
    layout: AdminLayout,
    endpoints: Vec<DisabledRow>,
}

async fn disabled(State(webhooks): State<Webhooks>, console: Console) -> Result<Response> {
    console.require(Permission::ReadConsole)?;
    let endpoints = webhooks
        .disabled_endpoints()
        .await?
        .into_iter()
        .map(|e| DisabledRow {
            client_id: e.client_id,
            name: e.merchant_name,
            url: e.url.unwrap_or_default(),
            since: format_time(e.disabled_at),
            reason: e.reason.unwrap_or_default(),
        })
        .collect();
    render(&DisabledPage {
        layout: console.layout("Webhook endpoints"),
        endpoints,
    })
}

struct AttemptRow {
    number: i64,
    at: String,
    outcome: String,
    duration_ms: i64,
}

struct EventRow {
    id: String,
    event_type: String,
    subject_id: String,
    state: String,
    created: String,
    next_attempt: String,
    attempts: Vec<AttemptRow>,
}

#[derive(Template)]
#[template(path = "admin/webhook_endpoint.html")]
struct EndpointPage {
    layout: AdminLayout,
    client_id: String,
    name: String,
    url: String,
    disabled: Option<(String, String)>,
    events: Vec<EventRow>,
    can_manage: bool,
}

async fn endpoint(
    State(webhooks): State<Webhooks>,
    State(merchants): State<Merchants>,
    console: Console,
    Path(client_id): Path<String>,
) -> Result<Response> {
    console.require(Permission::ReadConsole)?;
    let merchant = merchants
        .find(&client_id)
        .await?
        .ok_or_else(Error::not_found)?;
    let overview = webhooks.overview(&client_id, EVENTS).await?;
    let mut events = Vec::with_capacity(overview.events.len());
    for e in overview.events {
        let attempts = webhooks
            .attempts(&e.id)
            .await?
            .into_iter()
            .map(|a| AttemptRow {
                number: a.attempt,
                at: format_time(a.at_ms / 1000),
                outcome: match (a.status, a.error) {
                    (Some(status), _) => format!("HTTP {status}"),
                    (None, Some(error)) => error,
                    (None, None) => "no answer".into(),
                },
                duration_ms: a.duration_ms,
            })
            .collect();
        events.push(EventRow {
            next_attempt: if e.state == "pending" {
                format_time(e.next_attempt_ms / 1000)
            } else {
                String::new()
            },
            id: e.id,
            event_type: e.event_type,
            subject_id: e.subject_id,
            state: e.state,
            created: format_time(e.created_at),
            attempts,
        });
    }
    render(&EndpointPage {
        layout: console.layout(format!("Webhooks of {}", merchant.name)),
        name: merchant.name,
        url: overview.url.unwrap_or_default(),
        disabled: overview.disabled_at.map(|at| {
            (
                format_time(at),
                overview.disabled_reason.unwrap_or_default(),
            )
        }),
        events,
        can_manage: console.admin.role.may(Permission::ManageWebhooks),
        client_id,
    })
}

async fn enable(
    State(webhooks): State<Webhooks>,
    console: Console,
    Path(client_id): Path<String>,
) -> Result<Redirect> {
    console.require(Permission::ManageWebhooks)?;
    webhooks.enable(&client_id, &console.admin.actor()).await?;
    Ok(Redirect::to(&page_of(&client_id)))
}

#[derive(Deserialize, Default)]
struct RetryForm {
    /// The merchant's page to come back to.
    #[serde(default)]
    client_id: String,
}

async fn retry(
    State(webhooks): State<Webhooks>,
    console: Console,
    Path(event_id): Path<String>,
    Form(form): Form<RetryForm>,
) -> Result<Redirect> {
    console.require(Permission::ManageWebhooks)?;
    webhooks
        .retry_now(&event_id, &console.admin.actor())
        .await?;
    Ok(Redirect::to(&match form.client_id.trim() {
        "" => "/admin/webhooks".to_string(),
        id => page_of(id),
    }))
}
