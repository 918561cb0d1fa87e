//! The console's audit log: the chain's state (the same walk as `saifu audit verify`) and the
//! entries, filtered by actor, action, target and time.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::console::{AdminLayout, Console};
use crate::admin::Permission;
use crate::audit::{Audit, Query as AuditFilter, Verdict};
use crate::error::{Error, Result};
use crate::http::pages::{format_time, render};
use crate::AppState;

/// Entries one page shows.
const LIMIT: i64 = 200;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin/audit", get(log))
}

struct EntryRow {
    sequence: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    details: String,
}

/// The chain's state as the dashboard and the audit page say it.
pub struct ChainState {
    pub whole: bool,
    pub text: String,
}

impl ChainState {
    pub fn of(verdict: &Verdict) -> Self {
        match verdict {
            Verdict::Whole { head } => ChainState {
                whole: true,
                text: format!(
                    "Whole: {} entries, head {}:{}",
                    head.sequence, head.sequence, head.hash
                ),
            },
            Verdict::Broken(broken) => ChainState {
                whole: false,
                text: format!("Broken: {broken} ({})", broken.reason.code()),
            },
        }
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: AdminLayout,
    chain: ChainState,
    entries: Vec<EntryRow>,
    actor: String,
    action: String,
    target: String,
    since: String,
    until: String,
    limit: i64,
}

#[derive(Deserialize, Default)]
struct Filter {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    /// A day, `YYYY-MM-DD` (UTC), from its start.
    since: Option<String>,
    /// A day, `YYYY-MM-DD` (UTC), to its end.
    until: Option<String>,
}

fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The start of a `YYYY-MM-DD` day in Unix seconds (UTC).
fn day_start(raw: &str, field: &'static str) -> Result<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw, &format)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .map_err(|_| {
            Error::invalid(
                "invalid_date",
                "Enter dates as YYYY-MM-DD, for example 2026-11-29.",
            )
            .on_field(field)
        })
}

async fn log(
    State(audit): State<Audit>,
    console: Console,
    Query(q): Query<Filter>,
) -> Result<Response> {
    console.require(Permission::ReadConsole)?;
    let since = given(&q.since);
    let until = given(&q.until);
    let filter = AuditFilter {
        actor: given(&q.actor),
        action: given(&q.action),
        target: given(&q.target),
        since: since
            .as_deref()
            .map(|d| day_start(d, "since"))
            .transpose()?,
        until: until
            .as_deref()
            .map(|d| day_start(d, "until").map(|t| t + 24 * 60 * 60))
            .transpose()?,
    };
    let chain = ChainState::of(&audit.verify(None).await?);
    let mut entries: Vec<EntryRow> = audit
        .list(&filter, LIMIT)
        .await?
        .into_iter()
        .map(|e| EntryRow {
            sequence: e.sequence,
            at: format_time(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target,
            details: e.details,
        })
        .collect();
    entries.reverse();
    render(&AuditPage {
        layout: console.layout("Audit log"),
        chain,
        entries,
        actor: filter.actor.unwrap_or_default(),
        action: filter.action.unwrap_or_default(),
        target: filter.target.unwrap_or_default(),
        since: since.unwrap_or_default(),
        until: until.unwrap_or_default(),
        limit: LIMIT,
    })
}
