//! The outbox's event envelope: time-ordered event ids and the Standard Webhooks body
//! `{"id","type","timestamp","data"}`. Events arrive with their data already rendered by the
//! service that announces them; this room only wraps them.

use saifu_sdk::webhooks::Event;

use crate::clock::{random_token, unix_now_ms};
use crate::error::{Error, Result};

/// A new event id: time-ordered, so that listing by id lists in the order events were written.
pub fn new_event_id() -> Result<String> {
    Ok(format!(
        "evt_{:012x}{}",
        unix_now_ms(),
        &random_token()?[..16]
    ))
}

/// The webhook body of an event: `{"id","type","timestamp","data"}`.
pub fn render_event(
    id: &str,
    event_type: &str,
    now: i64,
    data: serde_json::Value,
) -> Result<String> {
    let event = Event {
        id: id.to_string(),
        event_type: event_type.to_string(),
        timestamp: rfc3339(now),
        data,
    };
    serde_json::to_string(&event).map_err(Error::internal)
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
