//! The console's Merchants section: the list with search, registering a merchant (its
//! secrets shown once, on the answer page, never in a URL), and one merchant's page with its
//! edit, vetting status (with a reason; the trust mark follows), secret rotations and a link to
//! its points campaigns; the switch for shops registering themselves, and the merchants
//! flagged for review (a name resembling a verified merchant's). Reading needs `ReadConsole`;
//! every change needs `ManageMerchants`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::super::pages::{format_time, render};
use super::console::{AdminLayout, Console};
use crate::admin::Permission;
use crate::audit::{Audit, Query as AuditQuery};
use crate::clock::unix_now;
use crate::error::{Error, Result};
use crate::merchants::{
    Merchant, MerchantEdit, MerchantStatus, Merchants, NewMerchant, StatusReason,
};
use crate::registration::Registrations;
use crate::webhooks::Webhooks;
use crate::AppState;

/// Merchants the list shows at most.
const LIMIT: i64 = 200;
/// Audit entries a merchant's page shows.
const HISTORY: i64 = 10;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/merchants", get(list).post(create))
        .route("/admin/merchants/new", get(new_page))
        .route("/admin/registration", post(switch_registration))
        .route("/admin/merchants/{client_id}", get(show).post(edit))
        .route("/admin/merchants/{client_id}/status", post(set_status))
        .route(
            "/admin/merchants/{client_id}/rotate-secret",
            post(rotate_secret),
        )
        .route(
            "/admin/merchants/{client_id}/rotate-webhook-secret",
            post(rotate_webhook_secret),
        )
}

fn page_of(client_id: &str) -> String {
    format!(
        "/admin/merchants/{}",
        url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect::<String>()
    )
}

struct MerchantRow {
    client_id: String,
    name: String,
    domain: String,
    status: &'static str,
    since: String,
    /// The verified merchant's name this one's resembles: review it.
    review: Option<String>,
    registered: bool,
    deleted: bool,
}

#[derive(Template)]
#[template(path = "admin/merchants.html")]
struct ListPage {
    layout: AdminLayout,
    q: String,
    merchants: Vec<MerchantRow>,
    limit: i64,
    can_manage: bool,
    /// Whether shops may register themselves.
    registration_open: bool,
}

#[derive(Deserialize, Default)]
struct Search {
    q: Option<String>,
}

async fn list(
    State(merchants): State<Merchants>,
    State(registrations): State<Registrations>,
    console: Console,
    Query(search): Query<Search>,
) -> Result<Response> {
    console.require(Permission::ReadConsole)?;
    let q = search.q.unwrap_or_default();
    let rows = merchants
        .search(Some(&q), LIMIT)
        .await?
        .into_iter()
        .map(|m| MerchantRow {
            status: m.status.as_str(),
            since: format_time(m.created_at),
            review: m.review_resembles,
            registered: m.registration.is_some(),
            deleted: m.deleted_at.is_some(),
            client_id: m.client_id,
            name: m.name,
            domain: m.domain,
        })
        .collect();
    render(&ListPage {
        layout: console.layout("Merchants"),
        q,
        merchants: rows,
        limit: LIMIT,
        can_manage: console.admin.role.may(Permission::ManageMerchants),
        registration_open: registrations.is_open().await?,
    })
}

#[derive(Deserialize)]
struct SwitchForm {
    /// `open` or `closed`.
    registration: String,
}

/// Opens or closes registration for every node, audited.
async fn switch_registration(
    State(registrations): State<Registrations>,
    console: Console,
    Form(form): Form<SwitchForm>,
) -> Result<Redirect> {
    console.require(Permission::ManageMerchants)?;
    let open = match form.registration.as_str() {
        "open" => true,
        "closed" => false,
        _ => {
            return Err(Error::invalid(
                "invalid_registration_switch",
                "Choose open or closed.",
            ))
        }
    };
    registrations
        .set_open(open, &console.admin.actor(), unix_now())
        .await?;
    Ok(Redirect::to("/admin/merchants"))
}

#[derive(Template)]
#[template(path = "admin/merchant_new.html")]
struct NewPage {
    layout: AdminLayout,
}

async fn new_page(console: Console) -> Result<Response> {
    console.require(Permission::ManageMerchants)?;
    render(&NewPage {
        layout: console.layout("Register a merchant"),
    })
}

/// The secrets of a merchant, shown on this one page only.
#[derive(Template)]
#[template(path = "admin/merchant_secrets.html")]
struct SecretsPage {
    layout: AdminLayout,
    heading: &'static str,
    client_id: String,
    name: String,
    client_secret: Option<String>,
    webhook_secret: Option<String>,
    note: String,
}

#[derive(Deserialize)]
struct MerchantForm {
    name: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    webhook_url: String,
}

impl MerchantForm {
    fn parse(&self) -> Result<MerchantEdit> {
        MerchantEdit::parse(
            &self.name,
            &self.domain,
            &self.redirect_uris,
            &self.webhook_url,
        )
    }
}

async fn create(
    State(merchants): State<Merchants>,
    console: Console,
    Form(form): Form<MerchantForm>,
) -> Result<Response> {
    console.require(Permission::ManageMerchants)?;
    let edit = form.parse()?;
    let created = merchants
        .create(
            NewMerchant {
                name: edit.name.clone(),
                redirect_uris: edit.redirect_uris,
                webhook_url: edit.webhook_url,
                domain: Some(edit.domain),
                verified: false,
            },
            unix_now(),
            &console.admin.actor(),
        )
        .await?;
    render(&SecretsPage {
        layout: console.layout("Merchant registered"),
        heading: "Merchant registered",
        client_id: created.client_id,
        name: edit.name,
        client_secret: Some(created.client_secret),
        webhook_secret: Some(created.webhook_secret),
        note: "The merchant is pending: set its vetting status on its page once it is vetted."
            .into(),
    })
}

struct AuditRow {
    sequence: i64,
    at: String,
    actor: String,
    action: String,
    details: String,
}

struct EventRow {
    id: String,
    event_type: String,
    state: String,
    attempts: i64,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/merchant.html")]
struct MerchantPage {
    layout: AdminLayout,
    m: Merchant,
    status: &'static str,
    statuses: Vec<&'static str>,
    created: String,
    deleted: String,
    status_changed: String,
    redirect_uris: String,
    webhook_url: String,
    webhook_disabled: Option<(String, String)>,
    events: Vec<EventRow>,
    history: Vec<AuditRow>,
    can_manage: bool,
}

async fn show(
    State(merchants): State<Merchants>,
    State(webhooks): State<Webhooks>,
    State(audit): State<Audit>,
    console: Console,
    Path(client_id): Path<String>,
) -> Result<Response> {
    console.require(Permission::ReadConsole)?;
    let m = merchants
        .on_record(&client_id)
        .await?
        .ok_or_else(Error::not_found)?;
    let endpoint = webhooks.overview(&client_id, 5).await?;
    let about = AuditQuery {
        target: Some(client_id.clone()),
        ..AuditQuery::default()
    };
    let mut history: Vec<AuditRow> = audit
        .list(&about, HISTORY)
        .await?
        .into_iter()
        .map(|e| AuditRow {
            sequence: e.sequence,
            at: format_time(e.at),
            actor: e.actor,
            action: e.action,
            details: e.details,
        })
        .collect();
    history.reverse();
    render(&MerchantPage {
        layout: console.layout(m.name.clone()),
        status: m.status.as_str(),
        statuses: ["pending", "verified", "suspended"].to_vec(),
        created: format_time(m.created_at),
        deleted: m.deleted_at.map(format_time).unwrap_or_default(),
        status_changed: m.status_changed_at.map(format_time).unwrap_or_default(),
        redirect_uris: m.redirect_uris.join("\n"),
        webhook_url: m.webhook_url.clone().unwrap_or_default(),
        webhook_disabled: endpoint.disabled_at.map(|at| {
            (
                format_time(at),
                endpoint.disabled_reason.unwrap_or_default(),
            )
        }),
        events: endpoint
            .events
            .into_iter()
            .map(|e| EventRow {
                id: e.id,
                event_type: e.event_type,
                state: e.state,
                attempts: e.attempts,
                created: format_time(e.created_at),
            })
            .collect(),
        history,
        can_manage: console.admin.role.may(Permission::ManageMerchants),
        m,
    })
}

async fn edit(
    State(merchants): State<Merchants>,
    console: Console,
    Path(client_id): Path<String>,
    Form(form): Form<MerchantForm>,
) -> Result<Redirect> {
    console.require(Permission::ManageMerchants)?;
    merchants
        .update(
            &client_id,
            form.parse()?,
            &console.admin.actor(),
            unix_now(),
        )
        .await?;
    Ok(Redirect::to(&page_of(&client_id)))
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
    #[serde(default)]
    reason: String,
}

async fn set_status(
    State(merchants): State<Merchants>,
    console: Console,
    Path(client_id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Redirect> {
    console.require(Permission::ManageMerchants)?;
    let status = MerchantStatus::parse(form.status.trim()).ok_or_else(|| {
        Error::invalid(
            "invalid_status",
            "Choose a status: pending, verified or suspended.",
        )
        .on_field("status")
    })?;
    let reason = StatusReason::parse_optional(Some(&form.reason))?;
    merchants
        .set_status(
            &client_id,
            status,
            reason,
            &console.admin.actor(),
            unix_now(),
        )
        .await?;
    Ok(Redirect::to(&page_of(&client_id)))
}

async fn rotate_secret(
    State(merchants): State<Merchants>,
    console: Console,
    Path(client_id): Path<String>,
) -> Result<Response> {
    console.require(Permission::ManageMerchants)?;
    let m = merchants
        .find(&client_id)
        .await?
        .ok_or_else(Error::not_found)?;
    let secret = merchants
        .rotate_secret(&client_id, &console.admin.actor())
        .await?;
    render(&SecretsPage {
        layout: console.layout("Client secret rotated"),
        heading: "New client secret",
        client_id,
        name: m.name,
        client_secret: Some(secret),
        webhook_secret: None,
        note: "The previous client secret stopped working now.".into(),
    })
}

async fn rotate_webhook_secret(
    State(merchants): State<Merchants>,
    State(webhooks): State<Webhooks>,
    console: Console,
    Path(client_id): Path<String>,
) -> Result<Response> {
    console.require(Permission::ManageMerchants)?;
    let m = merchants
        .find(&client_id)
        .await?
        .ok_or_else(Error::not_found)?;
    let overlap = webhooks.settings().secret_overlap;
    let secret = webhooks
        .rotate_secret(&client_id, overlap, unix_now(), &console.admin.actor())
        .await?;
    render(&SecretsPage {
        layout: console.layout("Webhook secret rotated"),
        heading: "New webhook secret",
        client_id,
        name: m.name,
        client_secret: None,
        webhook_secret: Some(secret),
        note: format!(
            "The previous webhook secret keeps signing next to the new one for {} hours, so the merchant can switch without losing events.",
            overlap.as_secs() / 3600
        ),
    })
}
