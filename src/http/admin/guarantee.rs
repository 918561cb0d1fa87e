//! The console's guarantee fund: its balance in each currency (below zero when payouts outran
//! the issuer's contributions, which the page says) and its ledger, every payout naming its
//! dispute. Every role reads it; only an owner adds money to it.

use askama::Template;
use axum::extract::State;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::admin::Permission;
use crate::clock::unix_now;
use crate::disputes::Disputes;
use crate::error::{Error, Result};
use crate::http::admin::console::{AdminLayout, Console};
use crate::http::dispute_pages::view::money;
use crate::http::pages::{format_time, render};
use crate::money::{Currency, Money};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/guarantee", get(show))
        .route("/admin/guarantee/fund", post(fund))
}

struct BalanceView {
    currency: String,
    balance: String,
    /// What the issuer owes the fund, when it is below zero.
    owed: Option<String>,
}

struct EntryView {
    at: String,
    account: String,
    amount: String,
    dispute_id: Option<String>,
    memo: String,
}

#[derive(Template)]
#[template(path = "admin/guarantee.html")]
struct GuaranteePage {
    layout: AdminLayout,
    balances: Vec<BalanceView>,
    entries: Vec<EntryView>,
    can_fund: bool,
    currencies: Vec<&'static str>,
}

async fn show(State(disputes): State<Disputes>, console: Console) -> Result<Response> {
    console.require(Permission::ReadConsole)?;
    let g = disputes.guarantee().await?;
    render(&GuaranteePage {
        layout: console.layout("Guarantee fund"),
        balances: g
            .balances
            .into_iter()
            .map(|(currency, minor)| BalanceView {
                balance: money(minor, &currency),
                owed: (minor < 0).then(|| money(-minor, &currency)),
                currency,
            })
            .collect(),
        entries: g
            .entries
            .into_iter()
            .map(|e| EntryView {
                at: format_time(e.at),
                account: e.account,
                amount: money(e.amount_minor, &e.currency),
                dispute_id: e.dispute_id,
                memo: e.memo,
            })
            .collect(),
        can_fund: console.admin.role.may(Permission::ManageAdmins),
        currencies: vec![Currency::Jpy.code(), Currency::Usd.code()],
    })
}

#[derive(Deserialize)]
struct FundForm {
    #[serde(default)]
    currency: String,
    #[serde(default)]
    amount: String,
}

async fn fund(
    State(disputes): State<Disputes>,
    console: Console,
    Form(form): Form<FundForm>,
) -> Result<Redirect> {
    // Money into the fund is the owner's call alone.
    console.require(Permission::ManageAdmins)?;
    let currency = Currency::parse(form.currency.trim())
        .ok_or_else(|| Error::invalid("invalid_amount", "Choose JPY or USD."))?;
    let amount = Money::parse_major_exact(currency, form.amount.trim())
        .ok()
        .filter(|m| m.minor > 0)
        .ok_or_else(|| {
            Error::invalid(
                "invalid_amount",
                format!(
                    "Give a positive amount in {}, like {}.",
                    currency.code(),
                    Money::new(currency, 100_000).to_major_string()
                ),
            )
        })?;
    disputes
        .fund_guarantee(
            currency.code(),
            amount.minor,
            &console.admin.actor(),
            unix_now(),
        )
        .await?;
    Ok(Redirect::to("/admin/guarantee"))
}
