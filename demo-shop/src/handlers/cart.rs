//! The cart's routes: the cart page, and the forms that add and remove products.

use std::time::Instant;

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::{cart_cookie, html, see_other};
use crate::i18n::Tr;
use crate::pages::{self, Chrome};
use crate::shop::{self, CartError, Product, MAX_QUANTITY};
use crate::Shop;

/// The body of `POST /cart/add` and `/cart/remove`.
#[derive(Debug, Deserialize)]
pub(crate) struct ProductForm {
    pub(crate) product: Option<String>,
}

/// The product a cart form names, if the shop sells it. A body that is not such a form names
/// none, so it gets the same page as an unknown product.
fn product_of(form: Result<Form<ProductForm>, FormRejection>) -> Option<&'static Product> {
    form.ok()
        .and_then(|Form(form)| form.product)
        .and_then(|id| shop::product(&id))
}

pub(super) async fn cart(State(shop): State<Shop>, jar: CookieJar) -> Response {
    let session = cart_cookie(&jar);
    let page = {
        let mut store = shop.store();
        let cart = session
            .as_deref()
            .and_then(|id| store.session(id, Instant::now()))
            .map(|s| s.cart.clone())
            .unwrap_or_default();
        let chrome = Chrome::new(shop.base(), cart.count());
        let orders = session
            .as_deref()
            .map(|id| store.orders_of(id))
            .unwrap_or_default();
        pages::cart_page(&chrome, &cart, &orders, shop.has_wallet_chooser())
    };
    html(StatusCode::OK, page)
}

pub(super) async fn add(
    State(shop): State<Shop>,
    jar: CookieJar,
    form: Result<Form<ProductForm>, FormRejection>,
) -> Response {
    let tr = Tr::current();
    let Some(product) = product_of(form) else {
        return shop.message(
            StatusCode::BAD_REQUEST,
            cart_cookie(&jar).as_deref(),
            &tr.t("shop-unknown-product-title"),
            &tr.t("shop-unknown-product-text"),
            crate::pages::Next {
                href: shop.link(""),
                label: tr.t("shop-see-products"),
            },
        );
    };
    let (session, cookie, added) = {
        let mut store = shop.store();
        let (id, cookie) = shop.session_or_new(&mut store, &jar);
        let added = match store.session(&id, Instant::now()) {
            Some(session) => session.cart.add(product),
            None => Ok(()),
        };
        (id, cookie, added)
    };
    let response = match added {
        Ok(()) => see_other(&shop.link("cart")),
        Err(CartError::TooMany) => shop.message(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&session),
            &tr.t("shop-too-many-title"),
            &tr.args(
                "shop-too-many-text",
                [
                    ("max", MAX_QUANTITY.to_string().as_str()),
                    ("product", tr.product_name(product).as_str()),
                ],
            ),
            shop.back_to_cart(),
        ),
    };
    match cookie {
        Some(cookie) => (jar.add(cookie), response).into_response(),
        None => response,
    }
}

pub(super) async fn remove(
    State(shop): State<Shop>,
    jar: CookieJar,
    form: Result<Form<ProductForm>, FormRejection>,
) -> Response {
    let session = cart_cookie(&jar);
    let Some(product) = product_of(form) else {
        let tr = Tr::current();
        return shop.message(
            StatusCode::BAD_REQUEST,
            session.as_deref(),
            &tr.t("shop-unknown-product-title"),
            &tr.t("shop-unknown-product-text"),
            shop.back_to_cart(),
        );
    };
    if let Some(id) = session {
        if let Some(session) = shop.store().session(&id, Instant::now()) {
            session.cart.remove(product.id);
        }
    }
    see_other(&shop.link("cart"))
}
