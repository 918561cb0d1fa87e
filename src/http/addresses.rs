//! The addresses pages: the shopper's shipping addresses, adding one (also a step inside a
//! checkout, via a same-origin `return_to`), editing, removing, and choosing the default.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use super::error::shoppers_words;
use super::extract::Form;
use super::pages::{render, AddressView, Layout};
use super::session::{csrf_token, CurrentUser};
use crate::accounts::return_to::ReturnTo;
use crate::accounts::user::User;
use crate::addresses::address::JAPAN;
use crate::addresses::{Address, AddressInput, Addresses, SavedAddress, PREFECTURES};
use crate::clock::unix_now;
use crate::error::{Error, Result};
use crate::i18n::Tr;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/addresses", get(addresses_page).post(add_address))
        .route("/addresses/new", get(new_address_page))
        .route("/addresses/{id}", post(update_address))
        .route("/addresses/{id}/edit", get(edit_address_page))
        .route("/addresses/{id}/delete", post(remove_address))
        .route("/addresses/{id}/default", post(make_default))
}

#[derive(Template)]
#[template(path = "addresses.html")]
struct AddressesPage {
    layout: Layout,
    addresses: Vec<AddressView>,
}

/// One input of the address form; a select when it has `options`.
struct FieldView {
    id: &'static str,
    label: &'static str,
    value: String,
    autocomplete: &'static str,
    hint: &'static str,
    required: bool,
    maxlength: usize,
    inputmode: &'static str,
    /// (value, shown) pairs of a select.
    options: Vec<(String, String)>,
    error: Option<String>,
    /// `label` and `hint` in the shopper's language.
    label_shown: String,
    hint_shown: String,
}

#[derive(Template)]
#[template(path = "addresses_form.html")]
struct AddressFormPage {
    layout: Layout,
    heading: String,
    /// Where the form posts: `/addresses` or `/addresses/{id}`.
    action: String,
    return_to: String,
    fields: Vec<FieldView>,
    /// The "make this the default" box (adding only).
    offer_default: bool,
    make_default: bool,
    submit: String,
}

async fn addresses_page(
    State(addresses): State<Addresses>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let list = addresses.list(user.id).await?;
    let layout = Layout::new(
        Tr::current().t("addresses-title"),
        csrf_token(&session).await?,
        Some(&user),
    );
    render(&AddressesPage {
        layout,
        addresses: list.iter().map(AddressView::of).collect(),
    })
}

#[derive(Deserialize)]
struct ReturnQuery {
    return_to: Option<String>,
}

/// Where to go after adding an address: a same-origin path, else the addresses page.
fn return_path(raw: Option<&str>) -> ReturnTo {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => ReturnTo::parse(Some(raw)),
        None => ReturnTo::parse(Some("/addresses")),
    }
}

/// The form's fields, filled with `input`, each with its error from `errors` in the shopper's
/// language (the field and the cause, as precise as the English).
fn fields(input: &AddressInput, errors: &[Error]) -> Vec<FieldView> {
    let error = |field: &str| {
        errors
            .iter()
            .find(|e| e.field() == Some(field))
            .map(shoppers_words)
    };
    let text = |label, id, value: &str, autocomplete, maxlength| FieldView {
        id,
        label,
        value: value.to_string(),
        autocomplete,
        hint: "",
        required: true,
        maxlength,
        inputmode: "text",
        options: Vec::new(),
        error: error(id),
        label_shown: String::new(),
        hint_shown: String::new(),
    };
    let tr = Tr::current();
    let mut prefectures = vec![(String::new(), tr.t("addresses-choose-prefecture"))];
    prefectures.extend(PREFECTURES.iter().map(|p| (p.to_string(), p.to_string())));
    let mut fields = vec![
        text("Full name", "name", &input.name, "shipping name", 100),
        FieldView {
            hint: "7 digits, like 100-0001.",
            inputmode: "numeric",
            ..text(
                "Postal code",
                "postal_code",
                &input.postal_code,
                "shipping postal-code",
                10,
            )
        },
        FieldView {
            options: prefectures,
            ..text(
                "Prefecture",
                "prefecture",
                &input.prefecture,
                "shipping address-level1",
                20,
            )
        },
        text(
            "City, ward, town or village",
            "city",
            &input.city,
            "shipping address-level2",
            100,
        ),
        FieldView {
            hint: "Block, building number and so on.",
            ..text(
                "Address",
                "line1",
                &input.line1,
                "shipping address-line1",
                200,
            )
        },
        FieldView {
            required: false,
            hint: "Building name, room number (optional).",
            ..text(
                "Address line 2",
                "line2",
                &input.line2,
                "shipping address-line2",
                200,
            )
        },
        FieldView {
            hint: "10 or 11 digits, like 090-1234-5678. The shop may call it about the delivery.",
            inputmode: "tel",
            ..text("Phone", "phone", &input.phone, "shipping tel", 20)
        },
        FieldView {
            hint: "Saifu keeps addresses in Japan only, for now.",
            options: vec![(JAPAN.to_string(), tr.t("addresses-japan"))],
            ..text("Country", "country", &input.country, "shipping country", 2)
        },
    ];
    for f in &mut fields {
        f.label_shown = tr.t_or(&format!("addresses-field-{}", f.id), f.label);
        f.hint_shown = if f.hint.is_empty() {
            String::new()
        } else {
            tr.t_or(&format!("addresses-hint-{}", f.id), f.hint)
        };
    }
    fields
}

/// The add or edit form, with what was typed and the errors next to their fields.
struct FormState {
    editing: Option<Uuid>,
    input: AddressInput,
    errors: Vec<Error>,
    return_to: ReturnTo,
    make_default: bool,
}

async fn form_page(
    session: &Session,
    user: &User,
    form: FormState,
    status: StatusCode,
) -> Result<Response> {
    let tr = Tr::current();
    let (title, action, submit) = match form.editing {
        Some(id) => (
            tr.t("addresses-edit-title"),
            format!("/addresses/{id}"),
            tr.t("addresses-save"),
        ),
        None => (
            tr.t("addresses-new-title"),
            "/addresses".to_string(),
            tr.t("addresses-add"),
        ),
    };
    let layout = Layout::new(title.clone(), csrf_token(session).await?, Some(user));
    let page = AddressFormPage {
        layout,
        heading: title,
        action,
        return_to: form.return_to.as_str().to_string(),
        fields: fields(&form.input, &form.errors),
        offer_default: form.editing.is_none(),
        make_default: form.make_default,
        submit,
    };
    Ok((status, render(&page)?).into_response())
}

async fn new_address_page(
    session: Session,
    CurrentUser(user): CurrentUser,
    Query(q): Query<ReturnQuery>,
) -> Result<Response> {
    let form = FormState {
        editing: None,
        input: AddressInput {
            country: JAPAN.into(),
            ..AddressInput::default()
        },
        errors: Vec::new(),
        return_to: return_path(q.return_to.as_deref()),
        make_default: false,
    };
    form_page(&session, &user, form, StatusCode::OK).await
}

fn parse_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::not_found())
}

fn input_of(a: &SavedAddress) -> AddressInput {
    AddressInput {
        name: a.name.clone(),
        postal_code: a.postal_code.clone(),
        prefecture: a.prefecture.clone(),
        city: a.city.clone(),
        line1: a.line1.clone(),
        line2: a.line2.clone().unwrap_or_default(),
        phone: a.phone.clone(),
        country: a.country.clone(),
    }
}

async fn edit_address_page(
    State(addresses): State<Addresses>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    let stored = addresses.find(user.id, id).await?;
    let form = FormState {
        editing: Some(id),
        input: input_of(&stored),
        errors: Vec::new(),
        return_to: return_path(None),
        make_default: false,
    };
    form_page(&session, &user, form, StatusCode::OK).await
}

/// The address form as posted; text fields may be missing (a field left out is empty).
#[derive(Deserialize)]
struct AddressForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    prefecture: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    line1: String,
    #[serde(default)]
    line2: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    make_default: Option<String>,
    return_to: Option<String>,
}

impl AddressForm {
    /// What was typed, each field cut to a length the form can show again.
    fn input(&self) -> AddressInput {
        let cut = |s: &str| s.chars().take(300).collect::<String>();
        AddressInput {
            name: cut(&self.name),
            postal_code: cut(&self.postal_code),
            prefecture: cut(&self.prefecture),
            city: cut(&self.city),
            line1: cut(&self.line1),
            line2: cut(&self.line2),
            phone: cut(&self.phone),
            country: cut(&self.country),
        }
    }
}

async fn add_address(
    State(addresses): State<Addresses>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Form(form): Form<AddressForm>,
) -> Result<Response> {
    let state = FormState {
        editing: None,
        input: form.input(),
        errors: Vec::new(),
        return_to: return_path(form.return_to.as_deref()),
        make_default: form.make_default.is_some(),
    };
    let address = match Address::parse(&state.input) {
        Ok(address) => address,
        Err(errors) => {
            let refused = FormState { errors, ..state };
            return form_page(&session, &user, refused, StatusCode::BAD_REQUEST).await;
        }
    };
    addresses
        .add(user.id, &address, state.make_default, unix_now())
        .await?;
    Ok(Redirect::to(state.return_to.as_str()).into_response())
}

async fn update_address(
    State(addresses): State<Addresses>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<AddressForm>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    let state = FormState {
        editing: Some(id),
        input: form.input(),
        errors: Vec::new(),
        return_to: return_path(None),
        make_default: false,
    };
    let address = match Address::parse(&state.input) {
        Ok(address) => address,
        Err(errors) => {
            let refused = FormState { errors, ..state };
            return form_page(&session, &user, refused, StatusCode::BAD_REQUEST).await;
        }
    };
    addresses.update(user.id, id, &address, unix_now()).await?;
    Ok(Redirect::to("/addresses").into_response())
}

async fn remove_address(
    State(addresses): State<Addresses>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Redirect> {
    addresses
        .remove(user.id, parse_id(&id)?, unix_now())
        .await?;
    Ok(Redirect::to("/addresses"))
}

async fn make_default(
    State(addresses): State<Addresses>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Redirect> {
    addresses
        .set_default(user.id, parse_id(&id)?, unix_now())
        .await?;
    Ok(Redirect::to("/addresses"))
}
