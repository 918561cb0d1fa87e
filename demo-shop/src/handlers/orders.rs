//! The orders' routes: the list, an order's page, "try again", and the refund with its
//! confirmation.

use std::time::Instant;

use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use saifu_sdk::checkout::Amount;
use saifu_sdk::Error;
use serde::Deserialize;

use super::{cart_cookie, html, is_transient, see_other};
use crate::i18n::Tr;
use crate::pages::{self, Chrome, Next};
use crate::shop::{self, Yen};
use crate::store::OrderState;
use crate::Shop;

/// The order reference of `/orders/{id}`, if it has the shape of one.
fn reference(path: Result<Path<String>, PathRejection>) -> Option<String> {
    path.ok()
        .map(|Path(id)| id)
        .filter(|id| shop::is_order_reference(id))
}

pub(super) async fn order(
    State(shop): State<Shop>,
    jar: CookieJar,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let session = cart_cookie(&jar);
    let page = reference(path).and_then(|reference| {
        let mut store = shop.store();
        let cart_count = session
            .as_deref()
            .and_then(|id| store.session(id, Instant::now()))
            .map_or(0, |s| s.cart.count());
        let order = store.order(&reference, session.as_deref())?;
        let chrome = Chrome::new(shop.base(), cart_count);
        Some(pages::order(
            &chrome,
            order,
            // Other wallets send webhooks to their own paths.
            shop.0.webhook_secret.is_some() || shop.has_wallet_chooser(),
        ))
    });
    match page {
        Some(page) => html(StatusCode::OK, page),
        None => shop.not_found(session.as_deref()),
    }
}

/// `GET /orders`: the browser's orders, newest first.
pub(super) async fn list(State(shop): State<Shop>, jar: CookieJar) -> Response {
    let session = cart_cookie(&jar);
    let page = {
        let mut store = shop.store();
        let cart_count = session
            .as_deref()
            .and_then(|id| store.session(id, Instant::now()))
            .map_or(0, |s| s.cart.count());
        let orders = session
            .as_deref()
            .map(|id| store.orders_of(id))
            .unwrap_or_default();
        pages::orders(&Chrome::new(shop.base(), cart_count), &orders)
    };
    html(StatusCode::OK, page)
}

/// `GET /orders/{id}/refund`: what a refund would give back where, and the button that does
/// it; the order's page when nothing is left to refund.
pub(super) async fn confirm_refund(
    State(shop): State<Shop>,
    jar: CookieJar,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let session = cart_cookie(&jar);
    let Some(reference) = reference(path) else {
        return shop.not_found(session.as_deref());
    };
    let page = {
        let mut store = shop.store();
        let cart_count = session
            .as_deref()
            .and_then(|id| store.session(id, Instant::now()))
            .map_or(0, |s| s.cart.count());
        let Some(order) = store.order(&reference, session.as_deref()) else {
            drop(store);
            return shop.not_found(session.as_deref());
        };
        match &order.state {
            OrderState::Paid(payment) => pages::refundable(payment).map(|left| {
                pages::refund_confirmation(
                    &Chrome::new(shop.base(), cart_count),
                    order,
                    payment,
                    left,
                )
            }),
            _ => None,
        }
    };
    match page {
        Some(page) => html(StatusCode::OK, page),
        None => see_other(&shop.order_link(&reference)),
    }
}

/// The confirmation's form: the amount the shopper saw and confirmed.
#[derive(Debug, Deserialize)]
pub(crate) struct RefundForm {
    amount: Option<String>,
}

pub(super) async fn retry_payment(
    State(shop): State<Shop>,
    jar: CookieJar,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let session = cart_cookie(&jar);
    let Some(reference) =
        reference(path).filter(|r| shop.store().order(r, session.as_deref()).is_some())
    else {
        return shop.not_found(session.as_deref());
    };
    shop.pay(&reference).await;
    see_other(&shop.order_link(&reference))
}

/// `POST /orders/{id}/refund`: refunds what is left, when that is the amount the confirmation
/// showed (form field `amount`); anything else goes back to the confirmation, refunding nothing.
pub(super) async fn refund(
    State(shop): State<Shop>,
    jar: CookieJar,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<RefundForm>, FormRejection>,
) -> Response {
    let confirmed = form
        .ok()
        .and_then(|Form(form)| form.amount)
        .and_then(|amount| Yen::parse(&amount));
    let session = cart_cookie(&jar);
    let Some(reference) = reference(path) else {
        return shop.not_found(session.as_deref());
    };
    let refundable = {
        let mut store = shop.store();
        let Some(order) = store.order(&reference, session.as_deref()) else {
            drop(store);
            return shop.not_found(session.as_deref());
        };
        match &order.state {
            OrderState::Paid(payment) => {
                pages::refundable(payment).map(|left| (payment.id.clone(), left))
            }
            _ => None,
        }
    };
    // Nothing (more) to refund: the order page says so.
    let Some((payment_id, left)) = refundable else {
        return see_other(&shop.order_link(&reference));
    };
    // Not confirmed, or confirmed for another amount than is left now: confirm again.
    if confirmed != Some(left) {
        return see_other(&format!("{}/refund", shop.order_link(&reference)));
    }
    // Keyed by what is refunded, so a double click refunds once.
    let key = format!("refund:{payment_id}:{}", left.amount_string());
    let refunded = match shop.client_for(&reference).await {
        Ok(client) => {
            client
                .refund(
                    &payment_id,
                    &Amount::new(shop::CURRENCY, &left.amount_string()),
                    Some(&key),
                )
                .await
        }
        Err(err) => Err(err),
    };
    match refunded {
        Ok(payment) => {
            tracing::info!(order = %reference, payment_id = %payment_id, "order refunded");
            if let Some(order) = shop.store().order_by_reference(&reference) {
                order.state = OrderState::Paid(Box::new(payment));
            }
            see_other(&shop.order_link(&reference))
        }
        Err(err) => {
            let tr = Tr::current();
            let next = Next {
                href: shop.order_link(&reference),
                label: tr.t("shop-back-to-order"),
            };
            let session = session.as_deref();
            match err {
                Error::Problem {
                    status: 402,
                    decline_code,
                    ..
                } => shop.message(
                    StatusCode::PAYMENT_REQUIRED,
                    session,
                    &tr.t("shop-refund-declined-title"),
                    &tr.args(
                        "shop-refund-declined-text",
                        [(
                            "sentence",
                            pages::decline_sentence(
                                &tr,
                                decline_code.as_deref().unwrap_or("generic_decline"),
                            )
                            .as_str(),
                        )],
                    ),
                    next,
                ),
                err if is_transient(&err) => {
                    tracing::warn!(error = %err, "refunding an order failed");
                    shop.message(
                        StatusCode::BAD_GATEWAY,
                        session,
                        &tr.t("shop-refund-failed-title"),
                        &tr.t("shop-refund-unavailable"),
                        next,
                    )
                }
                err => {
                    tracing::warn!(error = %err, "the wallet refused a refund");
                    // The wallet explains in English: an English page shows its words.
                    let detail = match (&err, tr.locale()) {
                        (
                            Error::Problem {
                                detail: Some(detail),
                                ..
                            },
                            crate::i18n::Locale::En,
                        ) => detail.clone(),
                        _ => tr.t("shop-refund-refused"),
                    };
                    shop.message(
                        StatusCode::CONFLICT,
                        session,
                        &tr.t("shop-refund-failed-title"),
                        &detail,
                        next,
                    )
                }
            }
        }
    }
}
