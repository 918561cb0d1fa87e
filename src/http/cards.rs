//! The cards pages: the shopper's cards, the add-card form (also a step inside checkout, via a
//! same-origin `return_to`), removing a card and choosing the default.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::error::status_of;
use super::extract::Form;
use super::pages::{render, AddCardPage, CardView, CardsPage, FieldError, FieldErrors, Layout};
use super::session::{csrf_token, CurrentUser};
use crate::accounts::return_to::ReturnTo;
use crate::accounts::user::User;
use crate::card::{CardNumber, Cvc, Expiry, HolderName};
use crate::clock::unix_now;
use crate::error::{Error, Result};
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
    let layout = Layout::new("Cards", csrf_token(&session).await?, Some(&user));
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
}

async fn form_page(
    vault: &Vault,
    session: &Session,
    user: &User,
    form: FormState,
    status: StatusCode,
) -> Result<Response> {
    let layout = Layout::new("Add a card", csrf_token(session).await?, Some(user));
    let page = AddCardPage {
        layout,
        return_to: form.return_to.as_str().to_string(),
        expiry: form.expiry,
        holder: form.holder,
        last4: form.last4,
        errors: form.errors,
        form_error: form.form_error,
        test_mode: vault.processor().test_mode(),
    };
    Ok((status, render(&page)?).into_response())
}

fn field_error(err: &Error) -> FieldError {
    FieldError {
        message: err.public_message().into_owned(),
        code: err.decline_code().unwrap_or(err.code()).to_string(),
    }
}

async fn add_card(
    State(vault): State<Vault>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Form(input): Form<AddCardForm>,
) -> Result<Response> {
    let today = today();
    let mut state = FormState {
        return_to: return_path(input.return_to.as_deref()),
        expiry: input.expiry.trim().chars().take(10).collect(),
        holder: input.holder.trim().chars().take(100).collect(),
        ..FormState::default()
    };
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
        return form_page(&vault, &session, &user, state, StatusCode::BAD_REQUEST).await;
    };
    match vault
        .add_card(
            user.id,
            NewCard {
                number,
                expiry,
                cvc,
                holder,
            },
            unix_now(),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(state.return_to.as_str()).into_response()),
        Err(Error::Internal(cause)) => Err(Error::Internal(cause)),
        Err(err) => {
            let status = status_of(err.kind());
            let shown = Some(field_error(&err));
            match err.field() {
                Some("number") => state.errors.number = shown,
                Some("expiry") => state.errors.expiry = shown,
                Some("cvc") => state.errors.cvc = shown,
                Some("holder") => state.errors.holder = shown,
                _ => state.form_error = Some(err.public_message().into_owned()),
            }
            form_page(&vault, &session, &user, state, status).await
        }
    }
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
