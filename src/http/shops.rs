//! Connected shops: the shops the shopper has paid, with this month's spending at each, a
//! monthly limit per shop and currency, and blocking (or unblocking) a shop.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tower_sessions::Session;

use super::extract::Form;
use super::pages::{format_time, render, FieldError, Layout};
use super::session::{csrf_token, CurrentUser};
use crate::accounts::user::User;
use crate::clock::unix_now;
use crate::error::{Error, Result};
use crate::money::Money;
use crate::shops::{parse_cap, ConnectedShop, Shops};
use crate::AppState;

/// The shops' service lives in the checkout, which checks its blocks and caps.
impl axum::extract::FromRef<AppState> for Shops {
    fn from_ref(state: &AppState) -> Self {
        state.checkout.shops.clone()
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/shops", get(shops_page))
        .route("/shops/{client_id}/cap", post(set_cap))
        .route("/shops/{client_id}/block", post(block))
        .route("/shops/{client_id}/unblock", post(unblock))
}

/// One currency at a shop, as the page shows it, with its limit form.
struct MonthView {
    currency: String,
    /// The form field's id, unique on the page.
    field: String,
    total: String,
    cap: Option<String>,
    /// What the limit field holds: the limit in major units, or what was typed.
    value: String,
    error: Option<FieldError>,
}

struct ShopView {
    client_id: String,
    name: String,
    domain: String,
    first_paid: String,
    last_paid: String,
    blocked: bool,
    months: Vec<MonthView>,
}

#[derive(Template)]
#[template(path = "shops.html")]
struct ShopsPage {
    layout: Layout,
    shops: Vec<ShopView>,
}

/// A limit form that was turned down: its shop and currency, what was typed, and why.
struct Refused<'a> {
    client_id: &'a str,
    currency: &'a str,
    typed: &'a str,
    error: &'a Error,
}

fn shop_view(index: usize, shop: ConnectedShop, refused: Option<&Refused<'_>>) -> ShopView {
    let months = shop
        .months
        .into_iter()
        .map(|m| {
            let code = m.currency.code();
            let here = refused.filter(|r| r.client_id == shop.client_id && r.currency == code);
            MonthView {
                currency: code.to_string(),
                field: format!("cap-{index}-{}", code.to_ascii_lowercase()),
                total: m.total.format_display(),
                cap: m.cap.map(Money::format_display),
                value: match here {
                    Some(r) => r.typed.chars().take(30).collect(),
                    None => m.cap.map(Money::to_major_string).unwrap_or_default(),
                },
                error: here.map(|r| FieldError {
                    message: r.error.public_message().into_owned(),
                    code: r.error.code().to_string(),
                }),
            }
        })
        .collect();
    ShopView {
        client_id: shop.client_id,
        name: shop.name,
        domain: shop.domain,
        first_paid: format_time(shop.first_paid_at),
        last_paid: format_time(shop.last_paid_at),
        blocked: shop.blocked,
        months,
    }
}

async fn page(
    shops: &Shops,
    session: &Session,
    user: &User,
    refused: Option<Refused<'_>>,
) -> Result<Response> {
    let list = shops.list(&user.id.to_string(), unix_now()).await?;
    let status = match refused {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    let layout = Layout::new(
        crate::i18n::Tr::current().t("shops-title"),
        csrf_token(session).await?,
        Some(user),
    );
    let page = ShopsPage {
        layout,
        shops: list
            .into_iter()
            .enumerate()
            .map(|(i, s)| shop_view(i, s, refused.as_ref()))
            .collect(),
    };
    Ok((status, render(&page)?).into_response())
}

async fn shops_page(
    State(shops): State<Shops>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    page(&shops, &session, &user, None).await
}

#[derive(Deserialize)]
struct CapForm {
    currency: String,
    #[serde(default)]
    cap: String,
}

async fn set_cap(
    State(shops): State<Shops>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(client_id): Path<String>,
    Form(form): Form<CapForm>,
) -> Result<Response> {
    let (currency, cap) = match parse_cap(&form.currency, &form.cap) {
        Ok(parsed) => parsed,
        Err(error) => {
            let refused = Refused {
                client_id: &client_id,
                currency: form.currency.trim(),
                typed: &form.cap,
                error: &error,
            };
            return page(&shops, &session, &user, Some(refused)).await;
        }
    };
    shops
        .set_cap(&user.id.to_string(), &client_id, currency, cap, unix_now())
        .await?;
    Ok(Redirect::to("/shops").into_response())
}

async fn block(
    State(shops): State<Shops>,
    CurrentUser(user): CurrentUser,
    Path(client_id): Path<String>,
) -> Result<Redirect> {
    shops
        .block(&user.id.to_string(), &client_id, unix_now())
        .await?;
    Ok(Redirect::to("/shops"))
}

async fn unblock(
    State(shops): State<Shops>,
    CurrentUser(user): CurrentUser,
    Path(client_id): Path<String>,
) -> Result<Redirect> {
    shops
        .unblock(&user.id.to_string(), &client_id, unix_now())
        .await?;
    Ok(Redirect::to("/shops"))
}
