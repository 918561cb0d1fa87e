//! The console's dashboard: payments and their volume today and this month (UTC), merchants
//! by vetting status, the webhook endpoints deliveries stopped at, and the audit chain's
//! state (the same walk as `saifu audit verify`).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::super::pages::{format_time, render};
use super::audit::ChainState;
use super::console::{AdminLayout, Console};
use crate::admin::dashboard::{Dashboard, PaymentFigures};
use crate::admin::Permission;
use crate::audit::Audit;
use crate::clock::unix_now;
use crate::error::Result;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin", get(dashboard))
}

struct Figures {
    label: &'static str,
    from: String,
    count: i64,
    volume: Vec<String>,
}

impl Figures {
    fn of(label: &'static str, figures: &PaymentFigures) -> Self {
        Self {
            label,
            from: format_time(figures.period.from),
            count: figures.count,
            volume: figures.volume.iter().map(|m| m.format_display()).collect(),
        }
    }
}

struct StatusCount {
    status: &'static str,
    count: i64,
}

struct DisabledRow {
    client_id: String,
    name: String,
    since: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    layout: AdminLayout,
    payments: Vec<Figures>,
    merchants: Vec<StatusCount>,
    merchant_total: i64,
    disabled: Vec<DisabledRow>,
    chain: ChainState,
}

async fn dashboard(
    State(dashboard): State<Dashboard>,
    State(audit): State<Audit>,
    console: Console,
) -> Result<Response> {
    console.require(Permission::ReadConsole)?;
    let summary = dashboard.summary(unix_now()).await?;
    let chain = ChainState::of(&audit.verify(None).await?);
    render(&DashboardPage {
        layout: console.layout("Dashboard"),
        payments: vec![
            Figures::of("Today", &summary.today),
            Figures::of("This month", &summary.this_month),
        ],
        merchant_total: summary.merchant_count(),
        merchants: summary
            .merchants
            .iter()
            .map(|(status, count)| StatusCount {
                status: status.as_str(),
                count: *count,
            })
            .collect(),
        disabled: summary
            .disabled_endpoints
            .into_iter()
            .map(|e| DisabledRow {
                client_id: e.client_id,
                name: e.merchant_name,
                since: format_time(e.disabled_at),
                reason: e.reason.unwrap_or_default(),
            })
            .collect(),
        chain,
    })
}
