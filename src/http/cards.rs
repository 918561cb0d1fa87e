//! The cards pages: the shopper's cards, the add-card form (also a step inside checkout, via a
//! same-origin `return_to`), removing a card and choosing the default.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::assets::asset;
use super::error::{shoppers_words, status_of};
use super::extract::Form;
use super::pages::{render, AddCardPage, CardView, CardsPage, FieldError, FieldErrors, Layout};
use super::session::{csrf_token, CurrentUser};
use crate::accounts::return_to::ReturnTo;
use crate::accounts::user::User;
use crate::card::{CardNumber, Cvc, Expiry, HolderName};
use crate::clock::unix_now;
use crate::error::{Error, Result};
use crate::i18n::{Locale, Tr};
use crate::vault::NewCard;
use crate::vault::Vault;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cards", get(cards_page).post(add_card))
        .route("/cards/new", get(add_card_page))
        .route("/cards/{id}/delete", post(remove_card))
        .route("/cards/{id}/default", post(make_default))
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

async fn cards_page(
    State(vault): State<Vault>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let today = today();
    let cards = vault
        .cards(user.id)
        .await?
        .iter()
        .map(|c| CardView::of(c, today))
        .collect();
    let layout = Layout::new(
        Tr::current().t("cards-title"),
        csrf_token(&session).await?,
        Some(&user),
    );
    render(&CardsPage {
        layout,
        cards,
        test_mode: vault.processor().test_mode(),
    })
}

#[derive(Deserialize)]
struct ReturnQuery {
    return_to: Option<String>,
}

/// Where to go after adding a card: a same-origin path, else the cards page.
fn return_path(raw: Option<&str>) -> ReturnTo {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => ReturnTo::parse(Some(raw)),
        None => ReturnTo::parse(Some("/cards")),
    }
}

async fn add_card_page(
    State(vault): State<Vault>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Query(q): Query<ReturnQuery>,
) -> Result<Response> {
    let form = FormState {
        return_to: return_path(q.return_to.as_deref()),
        ..FormState::default()
    };
    form_page(&vault, &session, &user, form, StatusCode::OK).await
}

/// The add-card form. Number and security code are zeroized when the request is done; they
/// are never written back into the page.
#[derive(Deserialize)]
struct AddCardForm {
    number: Zeroizing<String>,
    expiry: String,
    cvc: Zeroizing<String>,
    holder: String,
    return_to: Option<String>,
}

#[derive(Default)]
struct FormState {
    return_to: ReturnTo,
    expiry: String,
    holder: String,
    last4: Option<String>,
    errors: FieldErrors,
    form_error: Option<String>,
    /// The stable code of `form_error`.
    form_code: String,
}

async fn form_page(
    vault: &Vault,
    session: &Session,
    user: &User,
    form: FormState,
    status: StatusCode,
) -> Result<Response> {
    let layout = Layout::new(
        Tr::current().t("cards-new-title"),
        csrf_token(session).await?,
        Some(user),
    );
    let page = AddCardPage {
        layout,
        return_to: form.return_to.as_str().to_string(),
        expiry: form.expiry,
        holder: form.holder,
        last4: form.last4,
        errors: form.errors,
        form_error: form.form_error,
        test_mode: vault.processor().test_mode(),
        form_js_href: asset("card-form.js").href.clone(),
        form_js_integrity: asset("card-form.js").integrity.clone(),
    };
    Ok((status, render(&page)?).into_response())
}

/// A field's error in the shopper's language, as precise as the English: the catalogue's
/// wording of this very refusal, else the text of the card's decline code.
fn field_error(err: &Error) -> FieldError {
    let code = err.decline_code().unwrap_or(err.code()).to_string();
    let message = match err.wording() {
        Some(_) => shoppers_words(err),
        None => translated(&code, &err.public_message()),
    };
    FieldError { message, code }
}

/// English keeps the wallet's own message, which can be more precise than the catalogue's
/// (it names the card's network).
fn translated(code: &str, english: &str) -> String {
    let tr = Tr::current();
    match tr.locale() {
        Locale::En => english.to_string(),
        _ => tr.t_or(&format!("error-{code}"), english),
    }
}

/// Where to go once the card is added: the return path, with `card=<id>` in its query when it
/// leads back to a checkout, so the consent selects the new card.
fn after_adding(return_to: &ReturnTo, card_id: Uuid) -> String {
    let path = return_to.as_str();
    if !path.starts_with("/checkout/") && !path.starts_with("/oauth/authorize") {
        return path.to_string();
    }
    let (base, fragment) = match path.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (path, None),
    };
    let (base, query) = match base.split_once('?') {
        Some((b, q)) => (b, q),
        None => (base, ""),
    };
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, _)| k != "card")
        .collect();
    pairs.push(("card".into(), card_id.to_string()));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    match fragment {
        Some(f) => format!("{base}?{query}#{f}"),
        None => format!("{base}?{query}"),
    }
}

/// Whether the form was sent by the page's script, which reads JSON and keeps the form.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// A field's error in the JSON answer.
#[derive(Serialize)]
struct FieldProblem {
    field: &'static str,
    code: String,
    message: String,
}

/// The JSON answer to a refused card: a problem (RFC 9457) whose `code` and `field` are the
/// first error's, with every field's error in `errors`. Nothing the shopper typed is in it.
fn json_refusal(status: StatusCode, state: FormState) -> Response {
    let FieldErrors {
        number,
        expiry,
        cvc,
        holder,
    } = state.errors;
    let errors: Vec<FieldProblem> = [
        ("number", number),
        ("expiry", expiry),
        ("cvc", cvc),
        ("holder", holder),
    ]
    .into_iter()
    .filter_map(|(field, e)| {
        e.map(|e| FieldProblem {
            field,
            code: e.code,
            message: e.message,
        })
    })
    .collect();
    let first = errors.first();
    let body = serde_json::json!({
        "type": saifu_sdk::problem::Problem::type_for(first.map_or(state.form_code.as_str(), |e| e.code.as_str())),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "code": first.map_or(state.form_code.as_str(), |e| e.code.as_str()),
        "field": first.map(|e| e.field),
        "detail": state.form_error.as_deref().or(first.map(|e| e.message.as_str())),
        "errors": errors,
    });
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body.to_string(),
    )
        .into_response()
}

/// The card as parsed from the form, or `None` with the errors in `state`.
fn parse_card(input: &AddCardForm, state: &mut FormState) -> Option<NewCard> {
    let today = today();
    let number = CardNumber::parse(&input.number)
        .map_err(|e| state.errors.number = Some(field_error(&e)))
        .ok();
    let expiry = Expiry::parse(&input.expiry, today)
        .map_err(|e| state.errors.expiry = Some(field_error(&e)))
        .ok();
    let holder = HolderName::parse(&input.holder)
        .map_err(|e| state.errors.holder = Some(field_error(&e)))
        .ok();
    let cvc = number.as_ref().and_then(|n| {
        Cvc::parse(&input.cvc, n.brand())
            .map_err(|e| state.errors.cvc = Some(field_error(&e)))
            .ok()
    });
    state.last4 = number.as_ref().map(|n| n.last4().to_string());
    let (Some(number), Some(expiry), Some(holder), Some(cvc)) = (number, expiry, holder, cvc)
    else {
        return None;
    };
    Some(NewCard {
        number,
        expiry,
        cvc,
        holder,
    })
}

/// Adds a card. A plain form post answers with a redirect or the form again (the number never
/// written back); the page's script (`Accept: application/json`) gets `{card_id, redirect}` or
/// a problem listing each field's error, and keeps what the shopper typed in the page.
async fn add_card(
    State(vault): State<Vault>,
    session: Session,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    Form(input): Form<AddCardForm>,
) -> Result<Response> {
    let json = wants_json(&headers);
    let mut state = FormState {
        return_to: return_path(input.return_to.as_deref()),
        expiry: input.expiry.trim().chars().take(10).collect(),
        holder: input.holder.trim().chars().take(100).collect(),
        ..FormState::default()
    };
    let status = match parse_card(&input, &mut state) {
        None => StatusCode::BAD_REQUEST,
        Some(card) => match vault.add_card(user.id, card, unix_now()).await {
            Ok(stored) => {
                let to = after_adding(&state.return_to, stored.id);
                if json {
                    return Ok(axum::Json(serde_json::json!({
                        "card_id": stored.id.to_string(),
                        "redirect": to,
                    }))
                    .into_response());
                }
                return Ok(Redirect::to(&to).into_response());
            }
            Err(Error::Internal(cause)) => return Err(Error::Internal(cause)),
            Err(err) => {
                let shown = Some(field_error(&err));
                match err.field() {
                    Some("number") => state.errors.number = shown,
                    Some("expiry") => state.errors.expiry = shown,
                    Some("cvc") => state.errors.cvc = shown,
                    Some("holder") => state.errors.holder = shown,
                    _ => {
                        state.form_code = err.code().to_string();
                        state.form_error = Some(translated(err.code(), &err.public_message()));
                    }
                }
                status_of(err.kind())
            }
        },
    };
    if json {
        return Ok(json_refusal(status, state));
    }
    form_page(&vault, &session, &user, state, status).await
}

fn parse_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::not_found())
}

async fn remove_card(
    State(vault): State<Vault>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Redirect> {
    vault
        .remove_card(user.id, parse_id(&id)?, unix_now())
        .await?;
    Ok(Redirect::to("/cards"))
}

async fn make_default(
    State(vault): State<Vault>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Redirect> {
    vault.set_default(user.id, parse_id(&id)?).await?;
    Ok(Redirect::to("/cards"))
}
