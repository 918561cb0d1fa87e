//! The console's points campaigns: every merchant's (or one merchant's) campaigns with their
//! state, a form to schedule one and an "End now" button for those not ended. Every role reads
//! them; a change needs `ManagePoints`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::admin::Permission;
use crate::clock::unix_now;
use crate::error::{Error, Result};
use crate::http::admin::console::{AdminLayout, Console};
use crate::http::error::status_of;
use crate::http::pages::{format_time, render};
use crate::merchants::{Merchant, Merchants};
use crate::points::campaign::parse_campaign;
use crate::points::{Campaign, CampaignForm, CampaignState, Programmes};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/points/campaigns", get(list).post(add))
        .route("/admin/points/campaigns/{id}/end", post(end))
}

fn list_of(client_id: &str, notice: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("client_id", client_id);
    query.append_pair(notice, "1");
    format!("/admin/points/campaigns?{}", query.finish())
}

/// A multiplier as the admin reads it: `150 % (1.5× points)`.
fn multiplier(percent: i64) -> String {
    let (whole, part) = (percent / 100, percent % 100);
    let times = if part == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{part:02}").trim_end_matches('0'))
    };
    format!("{percent} % ({times}× points)")
}

struct CampaignRow {
    id: String,
    merchant: String,
    client_id: String,
    multiplier: String,
    starts: String,
    ends: String,
    state: &'static str,
    state_label: &'static str,
    /// Scheduled or active: it can still be ended.
    endable: bool,
}

impl CampaignRow {
    fn of(c: Campaign, now: i64) -> Self {
        let state = c.state(now);
        Self {
            multiplier: multiplier(c.multiplier_percent),
            starts: format_time(c.starts_at),
            ends: format_time(c.ends_at),
            state: state.as_str(),
            state_label: match state {
                CampaignState::Scheduled => "Scheduled",
                CampaignState::Active => "Active",
                CampaignState::Ended => "Ended",
            },
            endable: state != CampaignState::Ended,
            id: c.id,
            merchant: c.merchant_name,
            client_id: c.client_id,
        }
    }
}

struct MerchantOption {
    client_id: String,
    name: String,
    selected: bool,
}

fn options(merchants: &[Merchant], selected: &str) -> Vec<MerchantOption> {
    merchants
        .iter()
        .map(|m| MerchantOption {
            client_id: m.client_id.clone(),
            name: m.name.clone(),
            selected: m.client_id == selected,
        })
        .collect()
}

/// The add form's refusals, next to their fields.
#[derive(Default)]
struct FormErrors {
    client_id: Option<String>,
    multiplier_percent: Option<String>,
    starts: Option<String>,
    ends: Option<String>,
    /// One about the whole campaign (it overlaps another), and its code.
    form: Option<String>,
    form_code: &'static str,
}

impl FormErrors {
    fn of(err: &Error) -> Self {
        let message = Some(err.public_message().into_owned());
        let mut errors = Self::default();
        let field = match err.code() {
            "merchant_not_found" => Some("client_id"),
            _ => err.field(),
        };
        match field {
            Some("client_id") => errors.client_id = message,
            Some("multiplier_percent") => errors.multiplier_percent = message,
            Some("starts") => errors.starts = message,
            Some("ends") => errors.ends = message,
            _ => {
                errors.form = message;
                errors.form_code = err.code();
            }
        }
        errors
    }
}

#[derive(Template)]
#[template(path = "admin/campaigns.html")]
struct CampaignsPage {
    layout: AdminLayout,
    notice: Option<&'static str>,
    /// Why "End now" was refused, and its code.
    end_error: Option<(String, &'static str)>,
    can_manage: bool,
    /// The merchant the list is filtered by, by name; `None` for every merchant.
    filtered: Option<String>,
    filter_options: Vec<MerchantOption>,
    campaigns: Vec<CampaignRow>,
    form: CampaignForm,
    add_options: Vec<MerchantOption>,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    added: String,
    #[serde(default)]
    ended: String,
}

/// What the page shows besides the list: a notice, a refused form or a refused "End now".
#[derive(Default)]
struct Shown {
    notice: Option<&'static str>,
    form: Option<(CampaignForm, Error)>,
    end_error: Option<Error>,
}

async fn page(
    programmes: &Programmes,
    merchants: &Merchants,
    console: &Console,
    client_id: &str,
    shown: Shown,
) -> Result<Response> {
    let client_id = client_id.trim();
    let filter = Some(client_id).filter(|c| !c.is_empty());
    let now = unix_now();
    let all_merchants = merchants.list().await?;
    let campaigns = programmes.campaigns(filter).await?;
    let status = match (&shown.form, &shown.end_error) {
        (Some((_, err)), _) | (None, Some(err)) => status_of(err.kind()),
        (None, None) => StatusCode::OK,
    };
    let (form, errors) = match shown.form {
        Some((form, err)) => (form, FormErrors::of(&err)),
        None => (
            CampaignForm {
                client_id: client_id.to_string(),
                ..CampaignForm::default()
            },
            FormErrors::default(),
        ),
    };
    let page = CampaignsPage {
        layout: console.layout("Points campaigns"),
        notice: shown.notice,
        end_error: shown
            .end_error
            .map(|e| (e.public_message().into_owned(), e.code())),
        can_manage: console.admin.role.may(Permission::ManagePoints),
        filtered: filter.map(|c| {
            all_merchants
                .iter()
                .find(|m| m.client_id == c)
                .map_or_else(|| c.to_string(), |m| m.name.clone())
        }),
        filter_options: options(&all_merchants, client_id),
        campaigns: campaigns
            .into_iter()
            .map(|c| CampaignRow::of(c, now))
            .collect(),
        add_options: options(&all_merchants, form.client_id.trim()),
        form,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

async fn list(
    State(programmes): State<Programmes>,
    State(merchants): State<Merchants>,
    console: Console,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    console.require(Permission::ReadConsole)?;
    let notice = if query.added == "1" {
        Some("Campaign added.")
    } else if query.ended == "1" {
        Some("Campaign ended.")
    } else {
        None
    };
    let shown = Shown {
        notice,
        ..Shown::default()
    };
    page(&programmes, &merchants, &console, &query.client_id, shown).await
}

async fn add(
    State(programmes): State<Programmes>,
    State(merchants): State<Merchants>,
    console: Console,
    Form(form): Form<CampaignForm>,
) -> Result<Response> {
    console.require(Permission::ManagePoints)?;
    let now = unix_now();
    let added = match parse_campaign(&form, now) {
        Ok(new) => {
            programmes
                .add_campaign(&new, &console.admin.actor(), now)
                .await
        }
        Err(err) => Err(err),
    };
    match added {
        Ok(c) => Ok(Redirect::to(&list_of(&c.client_id, "added")).into_response()),
        Err(err @ Error::Client { .. }) => {
            let client_id = form.client_id.clone();
            let shown = Shown {
                form: Some((form, err)),
                ..Shown::default()
            };
            page(&programmes, &merchants, &console, &client_id, shown).await
        }
        Err(err) => Err(err),
    }
}

async fn end(
    State(programmes): State<Programmes>,
    State(merchants): State<Merchants>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response> {
    console.require(Permission::ManagePoints)?;
    match programmes
        .end_campaign(&id, &console.admin.actor(), unix_now())
        .await
    {
        Ok(c) => Ok(Redirect::to(&list_of(&c.client_id, "ended")).into_response()),
        Err(err @ Error::Client { .. }) => {
            let shown = Shown {
                end_error: Some(err),
                ..Shown::default()
            };
            page(&programmes, &merchants, &console, "", shown).await
        }
        Err(err) => Err(err),
    }
}
