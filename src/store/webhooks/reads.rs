//! Reading the outbox for people: a merchant's recent events and their attempts, the events
//! about one payment, and the endpoints deliveries stopped at.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::store::error::Result;
use crate::store::Store;

/// An outbox row as `saifu webhooks list` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EventSummary {
    pub id: String,
    pub event_type: String,
    pub subject_id: String,
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub next_attempt_ms: i64,
    pub delivered_at: Option<i64>,
}

/// A merchant's endpoint that deliveries stopped at, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DisabledEndpoint {
    pub client_id: String,
    pub merchant_name: String,
    pub url: Option<String>,
    pub disabled_at: i64,
    pub reason: Option<String>,
}

/// One logged attempt.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AttemptSummary {
    pub attempt: i64,
    pub at_ms: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

const SUMMARY: &str =
    "id, event_type, subject_id, state, attempts, last_status, last_error, created_at, \
     next_attempt_ms, delivered_at";

fn summary_row(r: &AnyRow) -> Result<EventSummary> {
    Ok(EventSummary {
        id: r.try_get("id")?,
        event_type: r.try_get("event_type")?,
        subject_id: r.try_get("subject_id")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        last_status: r.try_get("last_status")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        next_attempt_ms: r.try_get("next_attempt_ms")?,
        delivered_at: r.try_get("delivered_at")?,
    })
}

impl Store {
    /// The endpoints deliveries stopped at (a 410, or the last attempt of an event failing),
    /// most recently disabled first.
    pub async fn disabled_webhook_endpoints(&self) -> Result<Vec<DisabledEndpoint>> {
        let rows = sqlx::query(
            "SELECT client_id, name, webhook_url, webhook_disabled_at, webhook_disabled_reason
             FROM merchants WHERE webhook_disabled_at IS NOT NULL
             ORDER BY webhook_disabled_at DESC, client_id",
        )
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DisabledEndpoint {
                    client_id: r.try_get("client_id")?,
                    merchant_name: r.try_get("name")?,
                    url: r.try_get("webhook_url")?,
                    disabled_at: r.try_get("webhook_disabled_at")?,
                    reason: r.try_get("webhook_disabled_reason")?,
                })
            })
            .collect()
    }

    /// The merchant's most recent events, newest first.
    pub async fn recent_webhook_events(
        &self,
        client_id: &str,
        limit: i64,
    ) -> Result<Vec<EventSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY} FROM webhook_events WHERE client_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(client_id)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(summary_row).collect()
    }

    /// Events about one subject (a payment), oldest first.
    pub async fn webhook_events_about(&self, subject_id: &str) -> Result<Vec<EventSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY} FROM webhook_events WHERE subject_id = $1 ORDER BY id"
        ))
        .bind(subject_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(summary_row).collect()
    }

    /// The logged attempts of an event, in order.
    pub async fn webhook_attempts(&self, event_id: &str) -> Result<Vec<AttemptSummary>> {
        let rows = sqlx::query(
            "SELECT attempt, at_ms, status, error, duration_ms FROM webhook_attempts
             WHERE event_id = $1 ORDER BY attempt",
        )
        .bind(event_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttemptSummary {
                    attempt: r.try_get("attempt")?,
                    at_ms: r.try_get("at_ms")?,
                    status: r.try_get("status")?,
                    error: r.try_get("error")?,
                    duration_ms: r.try_get("duration_ms")?,
                })
            })
            .collect()
    }
}
