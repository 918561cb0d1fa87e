//! The shopper's side of a checkout: `/oauth/authorize` opens a consent bound to this browser
//! session, the consent page shows the merchant and the payment, and the shopper approves with
//! a passkey (or cancels). Both end in a `303` back to the merchant.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;
use webauthn_rs::prelude::PublicKeyCredential;

use super::extract::{Form, Json};
use super::pages::{render, CardView, ConsentPage, ItemView, Layout};
use super::session::{ceremony_id, csrf_token, current_user, remember_ceremony, CurrentUser};
use crate::accounts::CeremonyKind;
use crate::clock::unix_now;
use crate::error::{Error, Result};
use crate::merchants::MerchantStatus;
use crate::money::Money;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/checkout/{id}", get(consent_page))
        .route("/checkout/{id}/begin", post(begin))
        .route("/checkout/{id}/approve", post(approve))
        .route("/checkout/{id}/cancel", post(cancel))
}

const CONSENTS: &str = "consents";
/// A session keeps the last few checkouts it opened.
const MAX_CONSENTS: usize = 8;

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: Option<String>,
    request_uri: Option<String>,
}

/// Only pushed requests are accepted; anything wrong ends on a wallet error page, never in a
/// redirect to an address that was not checked.
async fn authorize(
    State(app): State<AppState>,
    session: Session,
    Query(q): Query<AuthorizeQuery>,
) -> Result<Redirect> {
    let consent = app
        .checkout
        .start_consent(q.client_id.as_deref(), q.request_uri.as_deref(), unix_now())
        .await?;
    let mut open: Vec<String> = session.get(CONSENTS).await?.unwrap_or_default();
    open.push(consent.id.clone());
    let skip = open.len().saturating_sub(MAX_CONSENTS);
    session.insert(CONSENTS, &open[skip..]).await?;
    Ok(Redirect::to(&format!("/checkout/{}", consent.id)))
}

/// A consent can only be used from the browser session that opened it.
async fn bound(session: &Session, id: &str) -> Result<()> {
    let open: Vec<String> = session.get(CONSENTS).await?.unwrap_or_default();
    if open.iter().any(|c| c == id) {
        Ok(())
    } else {
        Err(Error::not_found())
    }
}

fn money_display(currency: crate::money::Currency, major: &str) -> String {
    Money::parse_major(currency, major)
        .map(Money::format_display)
        .unwrap_or_else(|| major.to_string())
}

async fn consent_page(
    State(app): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response> {
    bound(&session, &id).await?;
    let now = unix_now();
    let view = app.checkout.consent(&id, now).await?;
    let user = current_user(
        &session,
        &app.accounts,
        app.config.session_absolute_secs as i64,
    )
    .await?;
    let today = time::OffsetDateTime::now_utc().date();
    let cards = match &user {
        Some(u) => app
            .vault
            .cards(u.id)
            .await?
            .iter()
            .map(|c| CardView::of(c, today))
            .collect(),
        None => Vec::new(),
    };
    let currency = view.payment.amount.currency;
    let items = view
        .payment
        .details
        .line_items
        .iter()
        .map(|i| ItemView {
            name: i.name.clone(),
            quantity: i.quantity,
            unit: money_display(currency, &i.unit_amount),
            total: Money::parse_major(currency, &i.unit_amount)
                .map(|u| {
                    Money {
                        currency,
                        minor: u.minor * i64::from(i.quantity),
                    }
                    .format_display()
                })
                .unwrap_or_default(),
        })
        .collect();
    let (points_available, points_max) = match &user {
        Some(u) => app.checkout.redeemable_points(u, &view).await?,
        None => (0, 0),
    };
    let point_value = app.points.policy().point_value(currency);
    let earn_preview = app
        .points
        .earn_preview(view.payment.amount, view.points_multiplier_percent);
    let here = format!("/checkout/{id}");
    let layout = Layout::new(
        format!("Pay {}", view.merchant.name),
        csrf_token(&session).await?,
        user.as_ref(),
    );
    render(&ConsentPage {
        layout,
        consent_id: id.clone(),
        merchant_name: view.merchant.name.clone(),
        merchant_domain: view.merchant.domain.clone(),
        verified: view.merchant.status == MerchantStatus::Verified,
        order_reference: view.payment.order_reference.clone(),
        items,
        total: view.payment.amount.format_display(),
        signed_in: user.is_some(),
        cards,
        next: url::form_urlencoded::byte_serialize(here.as_bytes()).collect(),
        test_mode: app.vault.processor().test_mode(),
        points_available,
        points_max,
        point_value,
        earn_preview,
        amount_minor: view.payment.amount.minor,
        currency_symbol: if currency == crate::money::Currency::Jpy {
            "¥".into()
        } else {
            "$".into()
        },
        minor_digits: currency.minor_digits(),
    })
}

#[derive(Deserialize)]
struct BeginApproval {
    card_id: String,
    #[serde(default)]
    points: i64,
}

fn card_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| {
        Error::invalid("unknown_card", "Choose one of your cards.").on_field("card_id")
    })
}

async fn begin(
    State(app): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Json(body): Json<BeginApproval>,
) -> Result<Response> {
    bound(&session, &id).await?;
    let (ceremony, options) = app
        .checkout
        .begin_approval(&id, &user, card_id(&body.card_id)?, body.points, unix_now())
        .await?;
    remember_ceremony(&session, CeremonyKind::PaymentApproval, &ceremony).await?;
    Ok(axum::Json(options).into_response())
}

/// The consent form: the chosen card, points, and the passkey's signed answer.
#[derive(Deserialize)]
struct ApproveForm {
    card_id: String,
    #[serde(default)]
    points: i64,
    credential: String,
}

async fn approve(
    State(app): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<ApproveForm>,
) -> Result<Redirect> {
    bound(&session, &id).await?;
    // Left in the session: `approve` uses the ceremony up in the database either way, so a
    // second attempt finds nothing, and the session needs no write.
    let ceremony = ceremony_id(&session, CeremonyKind::PaymentApproval).await?;
    let credential: PublicKeyCredential = serde_json::from_str(&form.credential).map_err(|_| {
        Error::invalid(
            "invalid_credential",
            "The passkey answer could not be read. Please try again.",
        )
    })?;
    let redirect = app
        .checkout
        .approve(
            &id,
            &ceremony,
            &user,
            card_id(&form.card_id)?,
            form.points,
            &credential,
            unix_now(),
        )
        .await?;
    Ok(Redirect::to(redirect.as_str()))
}

async fn cancel(
    State(app): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Redirect> {
    bound(&session, &id).await?;
    let redirect = app.checkout.deny(&id).await?;
    Ok(Redirect::to(redirect.as_str()))
}
