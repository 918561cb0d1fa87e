//! The console's Disputes section: the queue of disputes that need a decision, every dispute
//! by status, and one dispute's page with the decision forms (for the shopper, which refunds
//! or pays from the guarantee; for the merchant, with a reason the shopper reads). Reading
//! needs `ReadShoppers`; deciding needs `ManageDisputes`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::admin::Permission;
use crate::clock::unix_now;
use crate::disputes::{Decision, Dispute, Disputes, Status};
use crate::error::{Error, Result};
use crate::http::admin::console::{AdminLayout, Console};
use crate::http::dispute_pages::view::{amount_of, money, reason_label, status_label};
use crate::http::error::status_of;
use crate::http::pages::{format_time, render};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/disputes", get(list))
        .route("/admin/disputes/{id}", get(show))
        .route("/admin/disputes/{id}/decide", post(decide))
}

const STATUSES: [Status; 4] = [
    Status::Open,
    Status::EvidenceReceived,
    Status::Resolving,
    Status::Resolved,
];

/// A dispute as the console's tables and page show it.
struct DisputeRow {
    id: String,
    payment_id: String,
    user_id: String,
    merchant: String,
    client_id: String,
    amount: String,
    reason: &'static str,
    description: String,
    status: &'static str,
    status_code: &'static str,
    opened: String,
    respond_by: String,
    /// Why it is in the queue: "Evidence received", "No answer by …".
    waiting: String,
    evidence: Option<EvidenceView>,
    responded: Option<String>,
    decision: Option<&'static str>,
    decision_reason: Option<String>,
    /// Where the money went, in a sentence each.
    outcome: Vec<String>,
    refund_id: Option<String>,
    resolved: Option<String>,
    /// Still open to a decision.
    decidable: bool,
    /// The merchant accepted the claim (no evidence, no issuer step).
    accepted: bool,
}

struct EvidenceView {
    text: String,
    carrier: Option<String>,
    tracking_number: Option<String>,
}

impl DisputeRow {
    fn of(d: Dispute) -> Self {
        let (minor, currency) = amount_of(&d);
        let amount = money(minor, &currency);
        let mut outcome = Vec::new();
        match d.outcome.as_deref() {
            Some("refunded") => outcome.push(format!("Refunded {amount} through the processor.")),
            Some("guarantee_paid") => outcome.push(format!(
                "The refund failed; the guarantee fund paid {}.",
                money(d.guarantee_paid_minor.unwrap_or(0), &currency)
            )),
            Some("rejected") => outcome.push("Nothing refunded.".to_string()),
            Some(other) => outcome.push(other.to_string()),
            None => {}
        }
        if let Some(unpaid) = d.unpaid_minor.filter(|u| *u > 0) {
            outcome.push(format!(
                "{} over the guarantee's cap, not paid.",
                money(unpaid, &currency)
            ));
        }
        let waiting = match d.status {
            Status::EvidenceReceived => "Evidence received".to_string(),
            Status::Open => format!("No answer by {}", format_time(d.respond_by)),
            _ => String::new(),
        };
        DisputeRow {
            decidable: matches!(d.status, Status::Open | Status::EvidenceReceived),
            accepted: d.decision.as_deref() == Some("merchant_accepted"),
            id: d.id,
            payment_id: d.payment_id,
            user_id: d.user_id.to_string(),
            merchant: d.merchant_name,
            client_id: d.client_id,
            amount,
            reason: reason_label(d.reason),
            description: d.description,
            status: status_label(d.status),
            status_code: d.status.as_str(),
            opened: format_time(d.opened_at),
            respond_by: format_time(d.respond_by),
            waiting,
            evidence: d.evidence.map(|e| EvidenceView {
                text: e.text,
                carrier: e.carrier,
                tracking_number: e.tracking_number,
            }),
            responded: d.responded_at.map(format_time),
            decision: d.decision.as_deref().map(|x| match x {
                "merchant_accepted" => "The merchant accepted",
                "for_shopper" => "For the shopper",
                "for_merchant" => "For the merchant",
                _ => "Other",
            }),
            decision_reason: d.decision_reason,
            outcome,
            refund_id: d.refund_id,
            resolved: d.resolved_at.map(format_time),
        }
    }
}

struct StatusOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "admin/disputes.html")]
struct DisputesPage {
    layout: AdminLayout,
    queue: Vec<DisputeRow>,
    statuses: Vec<StatusOption>,
    /// The status the list is filtered by, in words; `None` for all.
    filtered: Option<&'static str>,
    disputes: Vec<DisputeRow>,
}

#[derive(Template)]
#[template(path = "admin/dispute.html")]
struct DisputePage {
    layout: AdminLayout,
    d: DisputeRow,
    can_decide: bool,
    /// A refused decision, and the reason as typed.
    decide_error: Option<String>,
    reason: String,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
}

async fn list(
    State(disputes): State<Disputes>,
    console: Console,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    console.require(Permission::ReadShoppers)?;
    let status = Status::parse(query.status.trim());
    let queue = disputes.queue(unix_now()).await?;
    let all = disputes.list(status).await?;
    render(&DisputesPage {
        layout: console.layout("Disputes"),
        queue: queue.into_iter().map(DisputeRow::of).collect(),
        statuses: STATUSES
            .iter()
            .map(|s| StatusOption {
                value: s.as_str(),
                label: status_label(*s),
                selected: Some(*s) == status,
            })
            .collect(),
        filtered: status.map(status_label),
        disputes: all.into_iter().map(DisputeRow::of).collect(),
    })
}

async fn page(
    disputes: &Disputes,
    console: &Console,
    id: &str,
    refused: Option<(Error, String)>,
) -> Result<Response> {
    let d = DisputeRow::of(disputes.get(id).await?);
    let (status, decide_error, reason) = match refused {
        Some((err, reason)) => (
            status_of(err.kind()),
            Some(err.public_message().into_owned()),
            reason,
        ),
        None => (StatusCode::OK, None, String::new()),
    };
    let page = DisputePage {
        layout: console.layout(format!("Dispute {}", d.id)),
        can_decide: console.admin.role.may(Permission::ManageDisputes),
        d,
        decide_error,
        reason,
    };
    Ok((status, render(&page)?).into_response())
}

async fn show(
    State(disputes): State<Disputes>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response> {
    console.require(Permission::ReadShoppers)?;
    page(&disputes, &console, &id, None).await
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(disputes): State<Disputes>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> Result<Response> {
    console.require(Permission::ManageDisputes)?;
    let decision = match form.decision.as_str() {
        "for_shopper" => Decision::ForShopper,
        "for_merchant" => Decision::ForMerchant {
            reason: form.reason.clone(),
        },
        _ => {
            return Err(Error::invalid(
                "invalid_decision",
                "Decide for the shopper or for the merchant.",
            ))
        }
    };
    match disputes
        .decide(&id, decision, &console.admin.actor(), unix_now())
        .await
    {
        Ok(d) => Ok(Redirect::to(&format!("/admin/disputes/{}", d.id)).into_response()),
        Err(err @ Error::Client { .. }) if err.kind() != crate::error::Kind::NotFound => {
            page(&disputes, &console, &id, Some((err, form.reason))).await
        }
        Err(err) => Err(err),
    }
}
