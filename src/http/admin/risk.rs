//! The console's Risk limits section: each currency's limits, and a form per currency to change
//! them (blank for no limit). Reading needs `ReadConsole`; a change needs `ManageRisk`.

use askama::Template;
use axum::extract::State;
use axum::response::{Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};

use crate::admin::Permission;
use crate::clock::unix_now;
use crate::error::Result;
use crate::http::admin::console::{AdminLayout, Console};
use crate::http::pages::render;
use crate::money::Money;
use crate::risk::{parse_limits, Limits, LimitsForm, Risk};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin/risk", get(show).post(change))
}

/// One currency's limits, as shown and as the form's values (blank for none).
struct LimitsView {
    currency: &'static str,
    per_payment: String,
    per_payment_unverified: String,
    daily_total: String,
    hourly_count: String,
    example: String,
}

impl LimitsView {
    fn of(l: &Limits) -> Self {
        let form = l.to_form();
        Self {
            currency: l.currency.code(),
            per_payment: form.per_payment,
            per_payment_unverified: form.per_payment_unverified,
            daily_total: form.daily_total,
            hourly_count: form.hourly_count,
            example: Money::new(l.currency, 5_000_000).to_major_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/risk.html")]
struct RiskPage {
    layout: AdminLayout,
    limits: Vec<LimitsView>,
    can_manage: bool,
}

async fn show(State(risk): State<Risk>, console: Console) -> Result<Response> {
    console.require(Permission::ReadConsole)?;
    let limits = risk.all().await?;
    render(&RiskPage {
        layout: console.layout("Risk limits"),
        limits: limits.iter().map(LimitsView::of).collect(),
        can_manage: console.admin.role.may(Permission::ManageRisk),
    })
}

async fn change(
    State(risk): State<Risk>,
    console: Console,
    Form(form): Form<LimitsForm>,
) -> Result<Redirect> {
    console.require(Permission::ManageRisk)?;
    let limits = parse_limits(&form)?;
    risk.set(&limits, &console.admin.actor(), unix_now())
        .await?;
    Ok(Redirect::to("/admin/risk"))
}
