//! The console's Points section: the programme in force with its history of versions, and a
//! form that makes the next version (a change applies to new payments only). Every role reads
//! it; a change needs `ManagePoints`. The merchants' campaigns are in `campaigns`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::admin::{Admin, Admins, Permission};
use crate::clock::unix_now;
use crate::error::{Error, Result};
use crate::http::admin::console::{AdminLayout, Console};
use crate::http::error::status_of;
use crate::http::pages::{format_time, render};
use crate::money::{Currency, Money};
use crate::points::programme::parse_programme;
use crate::points::{Programme, ProgrammeForm, ProgrammeRules, Programmes};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin/points", get(show).post(change))
}

/// One version in words, as the page's summary and history show it.
struct VersionView {
    version: i64,
    since: String,
    by: String,
    earning: String,
    value: String,
    expiry: String,
    redemption: String,
}

fn yen(minor: i64) -> String {
    Money::new(Currency::Jpy, minor).format_display()
}

fn dollars(minor: i64) -> String {
    Money::new(Currency::Usd, minor).format_display()
}

/// The rules in plain words: (earning, value of a point, expiry, redemption per payment).
fn in_words(rules: &ProgrammeRules) -> (String, String, String, String) {
    let earning = format!(
        "1 point per {} or {} the card pays",
        yen(rules.rates.earn_jpy),
        dollars(rules.rates.earn_usd)
    );
    let value = format!(
        "{} or {}",
        yen(rules.rates.value_jpy),
        dollars(rules.rates.value_usd)
    );
    let months = rules.expiry.months;
    let unit = if months == 1 { "month" } else { "months" };
    let expiry = if rules.expiry.rolling {
        format!("{months} {unit} after the shopper's latest earn (rolling)")
    } else {
        format!("{months} {unit} after they were earned (fixed)")
    };
    let r = &rules.redemption;
    let most = match r.max_points {
        Some(max) => format!("at most {max} points and "),
        None => String::new(),
    };
    let least = match r.min_points {
        0 => "no minimum".to_string(),
        min => format!("at least {min} points"),
    };
    let redemption = format!("{least}; {most}at most {} % of the amount", r.max_percent);
    (earning, value, expiry, redemption)
}

/// Who made a version: an admin by email (by id once removed), the CLI, or the settings at
/// the first start.
fn who(admins: &[Admin], created_by: &str) -> String {
    match created_by {
        "cli" => "the command line".to_string(),
        "system" => "the settings, at the first start".to_string(),
        other => admins
            .iter()
            .find(|a| a.actor().to_string() == other)
            .map_or_else(|| other.to_string(), |a| a.email.clone()),
    }
}

impl VersionView {
    fn of(p: &Programme, admins: &[Admin]) -> Self {
        let (earning, value, expiry, redemption) = in_words(&p.rules);
        Self {
            version: p.version,
            since: format_time(p.created_at),
            by: who(admins, &p.created_by),
            earning,
            value,
            expiry,
            redemption,
        }
    }
}

/// A text field of the form: its value as typed (or in force), and its refusal.
struct FieldView {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    inputmode: &'static str,
    value: String,
    error: Option<String>,
}

/// The form's fields under one legend; the expiry group also holds the fixed/rolling choice.
struct FieldGroup {
    legend: &'static str,
    fields: Vec<FieldView>,
    expiry_choice: bool,
}

#[derive(Template)]
#[template(path = "admin/points.html")]
struct ProgrammePage {
    layout: AdminLayout,
    current: VersionView,
    saved: bool,
    can_manage: bool,
    groups: Vec<FieldGroup>,
    rolling: bool,
    expiry_error: Option<String>,
    form_error: Option<String>,
    history: Vec<VersionView>,
}

fn groups(form: &ProgrammeForm, refused: Option<&Error>) -> Vec<FieldGroup> {
    let field = |name, value: &String, label, hint, inputmode| FieldView {
        name,
        label,
        hint,
        inputmode,
        value: value.clone(),
        error: refused
            .filter(|e| e.field() == Some(name))
            .map(|e| e.public_message().into_owned()),
    };
    vec![
        FieldGroup {
            legend: "Earning and the value of a point",
            fields: vec![
                field(
                    "earn_jpy",
                    &form.earn_jpy,
                    "Yen the card pays for 1 point",
                    "Like 100: 1 point per ¥100.",
                    "numeric",
                ),
                field(
                    "earn_usd",
                    &form.earn_usd,
                    "Dollars the card pays for 1 point",
                    "Like 1.00: 1 point per $1.00.",
                    "decimal",
                ),
                field(
                    "value_jpy",
                    &form.value_jpy,
                    "Value of 1 point in yen",
                    "What a point takes off a yen payment, like 1.",
                    "numeric",
                ),
                field(
                    "value_usd",
                    &form.value_usd,
                    "Value of 1 point in dollars",
                    "What a point takes off a dollar payment, like 0.01.",
                    "decimal",
                ),
            ],
            expiry_choice: false,
        },
        FieldGroup {
            legend: "Expiry",
            fields: vec![field(
                "expiry_months",
                &form.expiry_months,
                "Months until points expire",
                "1 to 120.",
                "numeric",
            )],
            expiry_choice: true,
        },
        FieldGroup {
            legend: "Redemption per payment",
            fields: vec![
                field(
                    "min_redeem_points",
                    &form.min_redeem_points,
                    "Fewest points a payment may use",
                    "0 for no minimum. A shopper may always use none.",
                    "numeric",
                ),
                field(
                    "max_redeem_points",
                    &form.max_redeem_points,
                    "Most points a payment may use",
                    "Blank for no maximum.",
                    "numeric",
                ),
                field(
                    "max_redeem_percent",
                    &form.max_redeem_percent,
                    "Most of a payment points may pay, in percent",
                    "1 to 100.",
                    "numeric",
                ),
            ],
            expiry_choice: false,
        },
    ]
}

async fn page(
    programmes: &Programmes,
    admins: &Admins,
    console: &Console,
    saved: bool,
    refused: Option<(Error, ProgrammeForm)>,
) -> Result<Response> {
    let current = programmes.current().await?;
    let admins = admins.list().await?;
    let history = programmes
        .history()
        .await?
        .iter()
        .map(|p| VersionView::of(p, &admins))
        .collect();
    let (status, form, err) = match refused {
        Some((err, form)) => (status_of(err.kind()), form, Some(err)),
        None => (
            StatusCode::OK,
            ProgrammeForm::from_rules(&current.rules),
            None,
        ),
    };
    let err = err.as_ref();
    let on = |field: &str| err.filter(|e| e.field() == Some(field));
    let known = [
        "earn_jpy",
        "earn_usd",
        "value_jpy",
        "value_usd",
        "expiry_months",
        "expiry",
        "min_redeem_points",
        "max_redeem_points",
        "max_redeem_percent",
    ];
    let page = ProgrammePage {
        layout: console.layout("Points programme"),
        current: VersionView::of(&current, &admins),
        saved: saved && err.is_none(),
        can_manage: console.admin.role.may(Permission::ManagePoints),
        groups: groups(&form, err),
        rolling: form.expiry.trim() == "rolling",
        expiry_error: on("expiry").map(|e| e.public_message().into_owned()),
        form_error: err
            .filter(|e| !e.field().is_some_and(|f| known.contains(&f)))
            .map(|e| e.public_message().into_owned()),
        history,
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize)]
struct ShowQuery {
    #[serde(default)]
    saved: String,
}

async fn show(
    State(programmes): State<Programmes>,
    State(admins): State<Admins>,
    console: Console,
    Query(query): Query<ShowQuery>,
) -> Result<Response> {
    console.require(Permission::ReadConsole)?;
    page(&programmes, &admins, &console, query.saved == "1", None).await
}

async fn change(
    State(programmes): State<Programmes>,
    State(admins): State<Admins>,
    console: Console,
    Form(form): Form<ProgrammeForm>,
) -> Result<Response> {
    console.require(Permission::ManagePoints)?;
    let changed = match parse_programme(&form) {
        Ok(rules) => {
            programmes
                .change(&rules, &console.admin.actor(), unix_now())
                .await
        }
        Err(err) => Err(err),
    };
    match changed {
        Ok(_) => Ok(Redirect::to("/admin/points?saved=1").into_response()),
        Err(err @ Error::Client { .. }) => {
            page(&programmes, &admins, &console, false, Some((err, form))).await
        }
        Err(err) => Err(err),
    }
}
