//! The points statements API (`/v1/points/statements`) for merchants, authenticated like the
//! payments API: the merchant's statement for one month.

use axum::extract::{Query, State};
use axum::middleware;
use axum::routing::get;
use axum::{Extension, Router};
use saifu_sdk::points::PointsStatement;
use saifu_sdk::problem::Problem;
use serde::Deserialize;

use super::payments::authenticate;
use crate::clock::unix_now;
use crate::error::Result;
use crate::merchants::Merchant;
use crate::points::{StatementMonth, Statements};
use crate::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/points/statements", get(statement))
        .route_layer(middleware::from_fn_with_state(state, authenticate))
}

#[derive(Deserialize)]
struct MonthQuery {
    month: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/points/statements",
    tag = "points",
    summary = "Your monthly points statement: points issued at your shop that you fund, points redeemed there that the programme reimburses, and the net amount",
    security(("merchant" = [])),
    params(
        ("month" = String, Query, pattern = r"^[0-9]{4}-[0-9]{2}$", example = "2026-11", description = "A UTC calendar month, `YYYY-MM`, from 2000-01 to next month"),
    ),
    responses(
        (status = 200, description = "The statement; `lines` is empty for a month without activity", body = PointsStatement),
        (status = 400, description = "`invalid_month`: no month, one not written `YYYY-MM`, before 2000-01 or after next month", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_client`", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn statement(
    State(statements): State<Statements>,
    Extension(merchant): Extension<Merchant>,
    Query(q): Query<MonthQuery>,
) -> Result<axum::Json<PointsStatement>> {
    let month = StatementMonth::parse(q.month.as_deref().unwrap_or_default(), unix_now())?;
    let statement = statements.of_merchant(&merchant.client_id, month).await?;
    Ok(axum::Json(statement.to_api()))
}
