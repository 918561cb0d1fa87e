//! The console's Shoppers section (support): find a shopper by email, see their account,
//! payments and points, and freeze or unfreeze them with a reason. Cards appear by brand and
//! last four only.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::super::activity;
use super::super::pages::{format_time, render, PaymentView, PointsEntryView};
use super::super::points::what;
use super::console::{AdminLayout, Console};
use super::shopper_recovery::{pending, RecoveryView};
use crate::accounts::account::Email;
use crate::accounts::freeze::FreezeReason;
use crate::accounts::user::User;
use crate::accounts::Accounts;
use crate::admin::Permission;
use crate::clock::unix_now;
use crate::error::{Error, Result};
use crate::payments::Payments;
use crate::points::PointsService;
use crate::recovery::Recovery;
use crate::AppState;

/// Shoppers listed when nothing is searched.
const NEWEST: i64 = 20;

/// Points history entries the shopper page shows.
const RECENT_POINTS: usize = 20;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/shoppers", get(search))
        .route("/admin/shoppers/{id}", get(shopper))
        .route("/admin/shoppers/{id}/freeze", post(freeze))
        .route("/admin/shoppers/{id}/unfreeze", post(unfreeze))
}

struct ShopperRow {
    id: String,
    name: String,
    email: String,
    created: String,
    frozen: bool,
}

impl ShopperRow {
    fn of(user: User) -> Self {
        Self {
            id: user.id.to_string(),
            frozen: user.is_frozen(),
            name: user.display_name,
            email: user.email,
            created: format_time(user.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/shoppers.html")]
struct ShoppersPage {
    layout: AdminLayout,
    /// The address searched for, as typed; empty when nothing was searched.
    email: String,
    /// Why the address can't be searched for.
    email_error: Option<String>,
    shoppers: Vec<ShopperRow>,
}

struct FrozenView {
    since: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "admin/shopper.html")]
struct ShopperPage {
    layout: AdminLayout,
    shopper: ShopperRow,
    frozen: Option<FrozenView>,
    payments: Vec<PaymentView>,
    points_available: i64,
    points_held: i64,
    points_expiring_soon: i64,
    points_history: Vec<PointsEntryView>,
    can_freeze: bool,
    can_recover: bool,
    recovery: Option<RecoveryView>,
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    email: String,
}

async fn search(
    State(accounts): State<Accounts>,
    console: Console,
    Query(query): Query<SearchQuery>,
) -> Result<Response> {
    console.require(Permission::ReadShoppers)?;
    let typed = query.email.trim().to_string();
    let (shoppers, email_error) = if typed.is_empty() {
        (accounts.newest(NEWEST).await?, None)
    } else {
        match Email::parse(&typed) {
            Ok(email) => (
                accounts.find_by_email(&email).await?.into_iter().collect(),
                None,
            ),
            Err(err) => (Vec::new(), Some(err.public_message().into_owned())),
        }
    };
    render(&ShoppersPage {
        layout: console.layout("Shoppers"),
        email: typed,
        email_error,
        shoppers: shoppers.into_iter().map(ShopperRow::of).collect(),
    })
}

fn parse_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::not_found())
}

async fn shopper(
    State(accounts): State<Accounts>,
    State(payments): State<Payments>,
    State(points): State<PointsService>,
    State(recovery): State<Recovery>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response> {
    console.require(Permission::ReadShoppers)?;
    let user = accounts
        .user(parse_id(&id)?)
        .await?
        .ok_or_else(Error::not_found)?;
    let payments = payments
        .activity(user.id)
        .await?
        .into_iter()
        .map(activity::view)
        .collect();
    let points = points.view(&user.id.to_string(), unix_now()).await?;
    let points_history = points
        .history
        .into_iter()
        .take(RECENT_POINTS)
        .map(|e| PointsEntryView {
            what: what(e.kind).to_string(),
            amount: e.amount,
            merchant: e.merchant,
            order_reference: e.order_reference,
            payment_id: e.payment_id,
            when: format_time(e.created_at),
        })
        .collect();
    let frozen = user.frozen.clone().map(|f| FrozenView {
        since: format_time(f.at),
        reason: f.reason,
    });
    render(&ShopperPage {
        layout: console.layout(format!("Shopper {}", user.email)),
        can_freeze: console.admin.role.may(Permission::FreezeShoppers),
        can_recover: console.admin.role.may(Permission::RecoverShoppers),
        recovery: pending(&recovery, user.id).await?,
        shopper: ShopperRow::of(user),
        frozen,
        payments,
        points_available: points.summary.available,
        points_held: points.summary.held,
        points_expiring_soon: points.summary.expiring_soon,
        points_history,
    })
}

#[derive(Deserialize)]
struct ReasonForm {
    #[serde(default)]
    reason: String,
}

fn back_to(id: Uuid) -> Redirect {
    Redirect::to(&format!("/admin/shoppers/{id}"))
}

async fn freeze(
    State(accounts): State<Accounts>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Redirect> {
    console.require(Permission::FreezeShoppers)?;
    let id = parse_id(&id)?;
    let reason = FreezeReason::parse(&form.reason)?;
    accounts
        .freeze(id, &reason, &console.admin.actor(), unix_now())
        .await?;
    Ok(back_to(id))
}

async fn unfreeze(
    State(accounts): State<Accounts>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Redirect> {
    console.require(Permission::FreezeShoppers)?;
    let id = parse_id(&id)?;
    let reason = match form.reason.trim() {
        "" => None,
        given => Some(FreezeReason::parse(given)?),
    };
    accounts
        .unfreeze(id, reason.as_ref(), &console.admin.actor(), unix_now())
        .await?;
    Ok(back_to(id))
}
