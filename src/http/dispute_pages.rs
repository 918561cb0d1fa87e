//! The shopper's disputes: "Report a problem" on a payment (the form and its refusals, shown
//! next to the field with what was typed kept), the list of their disputes and each one's page.
//! The rules (what can be disputed, up to how much, until when) are the disputes service's.

pub mod view;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tower_sessions::Session;

use self::view::{reason_shown, DisputeView, REASONS};
use crate::accounts::user::User;
use crate::clock::unix_now;
use crate::disputes::{Disputable, Disputes, Reason};
use crate::error::{Error, Result};
use crate::http::error::status_of;
use crate::http::extract::Form;
use crate::http::pages::{render, FieldError, Layout};
use crate::http::session::{csrf_token, CurrentUser};
use crate::i18n::Tr;
use crate::money::{Currency, Money};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/activity/{payment_id}/dispute",
            get(report_page).post(report),
        )
        .route("/disputes", get(list))
        .route("/disputes/{id}", get(dispute))
}

pub struct ReasonChoice {
    pub value: &'static str,
    pub label: String,
}

#[derive(Default)]
pub struct ReportErrors {
    pub reason: Option<FieldError>,
    pub description: Option<FieldError>,
    pub amount: Option<FieldError>,
}

#[derive(Template)]
#[template(path = "dispute_new.html")]
struct ReportPage {
    layout: Layout,
    payment_id: String,
    merchant: String,
    order_reference: String,
    currency: String,
    /// The most that can be disputed, as shown ("¥12,800").
    max_amount: String,
    reasons: Vec<ReasonChoice>,
    /// What the form holds: the maximum at first, what was typed after a refusal.
    reason: String,
    description: String,
    amount: String,
    errors: ReportErrors,
    form_error: Option<String>,
}

#[derive(Template)]
#[template(path = "disputes.html")]
struct DisputesPage {
    layout: Layout,
    disputes: Vec<DisputeView>,
}

#[derive(Template)]
#[template(path = "dispute.html")]
struct DisputePage {
    layout: Layout,
    d: DisputeView,
}

/// What the shopper typed, kept for the form.
#[derive(Deserialize, Default)]
struct ReportForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    amount: String,
}

/// The largest amount, as a decimal the form's field holds ("12800", "12.50").
fn major(minor: i64, currency: &str) -> String {
    Currency::parse(currency).map_or_else(
        || minor.to_string(),
        |c| Money::new(c, minor).to_major_string(),
    )
}

/// The form as it is shown: what it holds and what was refused.
#[derive(Default)]
struct Filled {
    typed: ReportForm,
    errors: ReportErrors,
    form_error: Option<String>,
}

async fn form_page(
    session: &Session,
    user: &User,
    payment_id: String,
    of: Disputable,
    filled: Filled,
    status: StatusCode,
) -> Result<Response> {
    let Filled {
        typed,
        errors,
        form_error,
    } = filled;
    let tr = Tr::current();
    let max_amount = Currency::parse(&of.currency).map_or_else(
        || view::money(of.max_amount_minor, &of.currency),
        |c| tr.money(Money::new(c, of.max_amount_minor)),
    );
    let page = ReportPage {
        layout: Layout::new(
            tr.t("activity-report"),
            csrf_token(session).await?,
            Some(user),
        ),
        payment_id,
        merchant: of.merchant_name,
        order_reference: of.order_reference,
        max_amount,
        currency: of.currency,
        reasons: REASONS
            .iter()
            .map(|r| ReasonChoice {
                value: r.as_str(),
                label: reason_shown(*r),
            })
            .collect(),
        reason: typed.reason,
        description: typed.description,
        amount: typed.amount,
        errors,
        form_error,
    };
    Ok((status, render(&page)?).into_response())
}

async fn report_page(
    State(disputes): State<Disputes>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(payment_id): Path<String>,
) -> Result<Response> {
    let of = disputes
        .disputable(user.id, &payment_id, unix_now())
        .await?;
    let filled = Filled {
        typed: ReportForm {
            amount: major(of.max_amount_minor, &of.currency),
            ..ReportForm::default()
        },
        ..Filled::default()
    };
    form_page(&session, &user, payment_id, of, filled, StatusCode::OK).await
}

/// A refusal in the shopper's words: English as written (it may name a limit), else the
/// catalogue's `error-<code>` text when it has one.
fn shoppers_words(err: &Error) -> String {
    let tr = Tr::current();
    let message = err.public_message().into_owned();
    match tr.locale() {
        crate::i18n::Locale::En => message,
        _ => tr.t_or(&format!("error-{}", err.code()), &message),
    }
}

fn field_error(err: &Error) -> FieldError {
    FieldError {
        message: shoppers_words(err),
        code: err.code().to_string(),
    }
}

async fn report(
    State(disputes): State<Disputes>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(payment_id): Path<String>,
    Form(typed): Form<ReportForm>,
) -> Result<Response> {
    let now = unix_now();
    let opened = match Reason::parse(typed.reason.trim()) {
        Ok(reason) => {
            let amount = Some(typed.amount.trim()).filter(|a| !a.is_empty());
            disputes
                .open(&user, &payment_id, reason, &typed.description, amount, now)
                .await
        }
        Err(err) => Err(err),
    };
    // A refusal of what was typed shows the form again; one of the payment itself (not
    // theirs, not disputable, already disputed) is an error page.
    let err = match opened {
        Ok(d) => return Ok(Redirect::to(&format!("/disputes/{}", d.id)).into_response()),
        Err(err) if err.field().is_none() => return Err(err),
        Err(err) => err,
    };
    let of = disputes.disputable(user.id, &payment_id, now).await?;
    let mut errors = ReportErrors::default();
    let mut form_error = None;
    let shown = Some(field_error(&err));
    match err.field() {
        Some("reason") => errors.reason = shown,
        Some("description") => errors.description = shown,
        Some("amount") => errors.amount = shown,
        _ => form_error = Some(shoppers_words(&err)),
    }
    let status = status_of(err.kind());
    let filled = Filled {
        typed,
        errors,
        form_error,
    };
    form_page(&session, &user, payment_id, of, filled, status).await
}

async fn list(
    State(disputes): State<Disputes>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let disputes = disputes
        .of_shopper(user.id)
        .await?
        .into_iter()
        .map(DisputeView::of)
        .collect();
    let layout = Layout::new(
        Tr::current().t("disputes-title"),
        csrf_token(&session).await?,
        Some(&user),
    );
    render(&DisputesPage { layout, disputes })
}

async fn dispute(
    State(disputes): State<Disputes>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let d = DisputeView::of(disputes.shopper_dispute(user.id, &id).await?);
    let layout = Layout::new(
        Tr::current().args("dispute-title", [("shop", d.merchant.as_str())]),
        csrf_token(&session).await?,
        Some(&user),
    );
    render(&DisputePage { layout, d })
}
