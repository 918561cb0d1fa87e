//! The shopper's side of a checkout: `/oauth/authorize` opens a consent bound to this browser
//! session, the consent page shows the merchant and the payment, and the shopper approves with
//! a passkey (or cancels). Both end in a `303` back to the merchant.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use saifu_sdk::problem::Problem;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;
use webauthn_rs::prelude::PublicKeyCredential;

use super::extract::{Form, Json};
use super::pages::{render, AddressView, CardView, ConsentPage, ItemView, Layout};
use super::session::{
    browser_key, consent_ceremony_id, csrf_token, current_user, establish, known_browser_key,
    CurrentUser,
};
use crate::accounts::{Accounts, CeremonyKind};
use crate::checkout::approval::{ApprovalRequest, ApprovalStart, PaymentChoice};
use crate::checkout::consent::Browser;
use crate::checkout::details::PaymentRequest;
use crate::checkout::Checkout;
use crate::clock::unix_now;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::i18n::Tr;
use crate::merchants::MerchantStatus;
use crate::money::{Currency, Money};
use crate::risk::LimitRefusal;
use crate::secrets::sha256_hex;
use crate::shops::ShopRefusal;
use crate::AppState;

mod decline;

use decline::{is_card_refusal, remember_decline, take_decline};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/checkout/{id}", get(consent_page))
        .route("/checkout/{id}/begin", post(begin))
        .route("/checkout/{id}/approve", post(approve))
        .route("/checkout/{id}/cancel", post(cancel))
        .route("/checkout/{id}/one-touch/begin", post(begin_one_touch))
        .route("/checkout/{id}/one-touch", post(one_touch))
}

/// The consents a session listed when a consent was bound by that list (before consents
/// carried the browser's key): still read, for consents opened then; no longer written.
const CONSENTS: &str = "consents";

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: Option<String>,
    request_uri: Option<String>,
}

/// Only pushed requests are accepted; anything wrong ends on a wallet error page, never in a
/// redirect to an address that was not checked.
#[utoipa::path(
    get,
    path = "/oauth/authorize",
    tag = "oauth",
    summary = "The shopper's browser starts the consent for a pushed request",
    params(
        ("client_id" = String, Query, description = "The merchant's client id"),
        ("request_uri" = String, Query, description = "The `request_uri` that `POST /oauth/par` answered"),
    ),
    responses(
        (status = 303, description = "To the wallet's consent page", headers(("Location" = String, description = "`/checkout/{id}`"))),
        (status = 400, description = "`invalid_request`, `invalid_request_uri` (unknown, used or expired): a wallet error page for browsers", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`merchant_suspended`", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn authorize(
    State(checkout): State<Checkout>,
    session: Session,
    Query(q): Query<AuthorizeQuery>,
) -> Result<Redirect> {
    // Written to the session only when the browser has no key yet: a shopper whose session
    // exists (a page seen, or signed in) opens the consent without a session write.
    let key = browser_key(&session).await?;
    let consent = checkout
        .start_consent(
            q.client_id.as_deref(),
            q.request_uri.as_deref(),
            &sha256_hex(key.as_bytes()),
            unix_now(),
        )
        .await?;
    Ok(Redirect::to(&format!("/checkout/{}", consent.id)))
}

/// The browser asking, as far as consents are concerned: a consent can only be used from the
/// browser that opened it (checked where the consent is read).
async fn browser(session: &Session) -> Result<Browser> {
    Ok(Browser {
        key_hash: known_browser_key(session)
            .await?
            .map(|key| sha256_hex(key.as_bytes())),
        listed: session.get(CONSENTS).await?.unwrap_or_default(),
    })
}

/// The id of the payment approval's ceremony for this consent, derived from the session's id.
/// A session that was never stored opened no consent.
fn approval_ceremony(session: &Session, consent_id: &str) -> Result<String> {
    consent_ceremony_id(session, CeremonyKind::PaymentApproval, consent_id)
        .ok_or_else(Error::not_found)
}

fn money_display(currency: Currency, major: &str) -> String {
    Money::parse_major(currency, major)
        .map(Money::format_display)
        .unwrap_or_else(|| major.to_string())
}

/// The payment's line items, as the consent page shows them.
fn items(payment: &PaymentRequest) -> Vec<ItemView> {
    let currency = payment.amount.currency;
    payment
        .details
        .line_items
        .iter()
        .map(|i| ItemView {
            name: i.name.clone(),
            quantity: i.quantity,
            unit: money_display(currency, &i.unit_amount),
            total: Money::parse_major(currency, &i.unit_amount)
                .and_then(|u| u.checked_mul(i64::from(i.quantity)))
                .map(Money::format_display)
                .unwrap_or_default(),
        })
        .collect()
}

/// The currency's sign as the shopper's language writes it ("¥", "$", "US$").
fn currency_symbol(tr: &Tr, currency: Currency) -> String {
    let shown = tr.money(Money { currency, minor: 0 });
    shown
        .split(|c: char| c.is_ascii_digit())
        .next()
        .unwrap_or_default()
        .to_string()
}

/// An order reference cut after each `-`, `_`, `/` or `.`, so that it wraps at those points
/// (and only there) on a narrow screen.
fn wrap_points(reference: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    for c in reference.chars() {
        parts.last_mut().expect("never empty").push(c);
        if matches!(c, '-' | '_' | '/' | '.') {
            parts.push(String::new());
        }
    }
    parts.retain(|p| !p.is_empty());
    parts
}

#[derive(Deserialize)]
struct ConsentQuery {
    /// A card just added on the way from this consent: selected when it is the shopper's.
    card: Option<String>,
}

async fn consent_page(
    State(checkout): State<Checkout>,
    State(accounts): State<Accounts>,
    State(config): State<Arc<Config>>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<ConsentQuery>,
) -> Result<Response> {
    let view = checkout
        .consent(&id, &browser(&session).await?, unix_now())
        .await?;
    let user = current_user(&session, &accounts, config.session_absolute_secs as i64).await?;
    let options = checkout
        .paying_options(user.as_ref(), &view, unix_now())
        .await?;
    let addresses = checkout.shipping_options(user.as_ref(), &view).await?;
    let limit_refusal = options.refused.as_ref().map(|refused| refused.message());
    let notice = match &user {
        Some(_) => take_decline(&session, &id).await?,
        None => None,
    };
    let today = time::OffsetDateTime::now_utc().date();
    let currency = view.payment.amount.currency;
    let rates = view.programme.rules.rates;
    let point_value = rates.point_value(currency);
    let earn_preview = rates.earn_preview(view.payment.amount, view.points_multiplier_percent);
    let here = format!("/checkout/{id}");
    let tr = Tr::current();
    let layout = Layout::new(
        tr.args("consent-title", [("merchant", view.merchant.name.as_str())]),
        csrf_token(&session).await?,
        user.as_ref(),
    );
    let cards: Vec<CardView> = options
        .cards
        .iter()
        .map(|c| CardView::of(c, today))
        .collect();
    let usable = |c: &&CardView| !c.expired;
    // A card just added on the way from here, if it is the shopper's; else the default.
    let added = q
        .card
        .as_deref()
        .and_then(|wanted| cards.iter().filter(usable).find(|c| c.id == wanted));
    // The card just declined (a one-touch payment used the default card), and another one
    // offered instead of it.
    let declined_card = notice.as_ref().and_then(|n| {
        let wanted = n.card_id.as_deref();
        cards
            .iter()
            .find(|c| wanted.map_or(c.is_default, |w| c.id == w))
    });
    let other_card = declined_card
        .and_then(|declined| cards.iter().filter(usable).find(|c| c.id != declined.id));
    let selected_card = added
        .or(other_card)
        .or_else(|| cards.iter().filter(usable).find(|c| c.is_default))
        .or_else(|| cards.iter().find(|c| !c.expired))
        .map(|c| c.id.clone())
        .unwrap_or_default();
    let declined = notice.map(|n| n.view(&tr, declined_card));
    let total = tr.money(view.payment.amount);
    let one_touch = user.is_none() && !view.payment.shipping_required;
    // The sentence around the number, which the script keeps up to date.
    let earn = tr.args("consent-earn", [("points", "\u{1}")]);
    let (earn_before, earn_after) = earn.split_once('\u{1}').unwrap_or((earn.as_str(), ""));
    let (earn_before, earn_after) = (earn_before.to_string(), earn_after.to_string());
    render(&ConsentPage {
        layout,
        consent_id: id.clone(),
        merchant_name: view.merchant.name.clone(),
        merchant_domain: view.merchant.domain.clone(),
        verified: view.merchant.status == MerchantStatus::Verified,
        order_reference: view.payment.order_reference.clone(),
        order_parts: wrap_points(&view.payment.order_reference),
        items: items(&view.payment),
        pay_label: tr.args("consent-pay", [("amount", total.as_str())]),
        one_touch_label: tr.args("consent-one-touch", [("amount", total.as_str())]),
        total,
        signed_in: user.is_some(),
        one_touch,
        card_added: added.is_some(),
        selected_card,
        cards,
        next: url::form_urlencoded::byte_serialize(here.as_bytes()).collect(),
        test_mode: checkout.test_mode(),
        points_available: options.points_available,
        points_max: options.points_max,
        points_min: view.programme.rules.redemption.min_points,
        point_value,
        earn_preview,
        earn_before,
        earn_after,
        amount_minor: view.payment.amount.minor,
        currency_symbol: currency_symbol(&tr, currency),
        minor_digits: currency.minor_digits(),
        limit_refusal,
        shipping_required: view.payment.shipping_required,
        addresses: addresses.iter().map(AddressView::of).collect(),
        declined,
    })
}

#[derive(Deserialize)]
struct BeginApproval {
    card_id: String,
    #[serde(default)]
    points: i64,
    #[serde(default)]
    address_id: Option<String>,
}

/// The card, points and shipping address the shopper chose, as posted (an empty address is
/// none).
fn choice(card_id: &str, points: i64, address_id: Option<&str>) -> Result<PaymentChoice> {
    let card_id = Uuid::parse_str(card_id).map_err(|_| {
        Error::invalid("unknown_card", "Choose one of your cards.").on_field("card_id")
    })?;
    let address_id = match address_id.map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(raw) => Some(Uuid::parse_str(raw).map_err(|_| crate::addresses::unknown_address())?),
    };
    Ok(PaymentChoice {
        card_id,
        points,
        address_id,
    })
}

async fn begin(
    State(checkout): State<Checkout>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Json(body): Json<BeginApproval>,
) -> Result<Response> {
    let browser = browser(&session).await?;
    let choice = choice(&body.card_id, body.points, body.address_id.as_deref())?;
    // Derived, not kept in the session: starting the approval writes no session.
    let ceremony = approval_ceremony(&session, &id)?;
    let start = ApprovalStart {
        consent_id: &id,
        browser: &browser,
        ceremony_id: &ceremony,
    };
    let options = checkout
        .begin_approval(start, &user, choice, unix_now())
        .await?;
    Ok(axum::Json(options).into_response())
}

/// The consent form: the chosen card, points, shipping address, and the passkey's signed
/// answer.
#[derive(Deserialize)]
struct ApproveForm {
    card_id: String,
    #[serde(default)]
    points: i64,
    #[serde(default)]
    address_id: Option<String>,
    credential: String,
}

async fn approve(
    State(checkout): State<Checkout>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<ApproveForm>,
) -> Result<Redirect> {
    let browser = browser(&session).await?;
    // `approve` uses the ceremony up in the database either way, so a second attempt finds
    // nothing, and the session needs no write.
    let ceremony = approval_ceremony(&session, &id)?;
    let credential: PublicKeyCredential = serde_json::from_str(&form.credential).map_err(|_| {
        Error::invalid(
            "invalid_credential",
            "The passkey answer could not be read. Please try again.",
        )
    })?;
    let request = ApprovalRequest {
        consent_id: id,
        ceremony_id: ceremony,
        choice: choice(&form.card_id, form.points, form.address_id.as_deref())?,
        credential,
    };
    let here = format!("/checkout/{}", request.consent_id);
    match checkout
        .approve(&user, &browser, &request, unix_now())
        .await
    {
        Ok(redirect) => Ok(Redirect::to(redirect.as_str())),
        // The consent page says which limit, and offers the way back to the shop.
        Err(e) if LimitRefusal::is_limit(&e) || ShopRefusal::is_refusal(&e) => {
            Ok(Redirect::to(&here))
        }
        // The consent page says the card was declined, and offers another.
        Err(e) if is_card_refusal(&e) => {
            remember_decline(&session, &request.consent_id, Some(&form.card_id), &e).await?;
            Ok(Redirect::to(&here))
        }
        Err(e) => Err(e),
    }
}

async fn cancel(
    State(checkout): State<Checkout>,
    State(accounts): State<Accounts>,
    State(config): State<Arc<Config>>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Redirect> {
    let browser = browser(&session).await?;
    let user = current_user(&session, &accounts, config.session_absolute_secs as i64).await?;
    let redirect = checkout
        .deny(&id, &browser, user.as_ref(), unix_now())
        .await?;
    Ok(Redirect::to(redirect.as_str()))
}

/// Starts a one-touch payment for a signed-out shopper: a discoverable passkey request whose
/// challenge binds this payment to the signer's default card (see `checkout::one_touch`).
async fn begin_one_touch(
    State(checkout): State<Checkout>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response> {
    let browser = browser(&session).await?;
    let ceremony = approval_ceremony(&session, &id)?;
    let start = ApprovalStart {
        consent_id: &id,
        browser: &browser,
        ceremony_id: &ceremony,
    };
    let options = checkout.begin_one_touch(start, unix_now()).await?;
    Ok(axum::Json(options).into_response())
}

#[derive(Deserialize)]
struct OneTouchForm {
    credential: String,
}

/// The one-touch form: the passkey's signed answer. The shopper it names is signed in, and
/// the consent approved with their default card; a refusal after they are known (a limit,
/// no usable card) brings them back to the consent, signed in, where it is explained.
async fn one_touch(
    State(checkout): State<Checkout>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<OneTouchForm>,
) -> Result<Redirect> {
    let browser = browser(&session).await?;
    let ceremony = approval_ceremony(&session, &id)?;
    let credential: PublicKeyCredential = serde_json::from_str(&form.credential).map_err(|_| {
        Error::invalid(
            "invalid_credential",
            "The passkey answer could not be read. Please try again.",
        )
    })?;
    match checkout
        .approve_one_touch(&id, &browser, &ceremony, credential, unix_now())
        .await
    {
        Ok(paid) => {
            establish(&session, &paid.user).await?;
            tracing::info!(user_id = %paid.user.id, "signed in and paid with one touch");
            Ok(Redirect::to(paid.redirect.as_str()))
        }
        Err(refused) => match refused.user {
            Some(user) => {
                establish(&session, &user).await?;
                if is_card_refusal(&refused.error) {
                    remember_decline(&session, &id, None, &refused.error).await?;
                }
                tracing::info!(user_id = %user.id, code = refused.error.code(), "one-touch payment refused after sign-in");
                Ok(Redirect::to(&format!("/checkout/{id}")))
            }
            None => Err(refused.error),
        },
    }
}
