//! The order's routes: its page, "try again" and the refund.

use std::time::Instant;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use saifu_sdk::checkout::Amount;
use saifu_sdk::Error;

use super::{cart_cookie, html, is_transient, see_other};
use crate::pages::{self, Chrome, Next};
use crate::shop;
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
        let chrome = Chrome {
            base: shop.base(),
            cart_count,
        };
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

pub(super) async fn refund(
    State(shop): State<Shop>,
    jar: CookieJar,
    path: Result<Path<String>, PathRejection>,
) -> Response {
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
            let next = Next {
                href: shop.order_link(&reference),
                label: "Back to the order",
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
                    "Refund declined",
                    &format!(
                        "The refund did not go through. {}",
                        pages::decline_sentence(
                            decline_code.as_deref().unwrap_or("generic_decline")
                        )
                    ),
                    next,
                ),
                err if is_transient(&err) => {
                    tracing::warn!(error = %err, "refunding an order failed");
                    shop.message(
                        StatusCode::BAD_GATEWAY,
                        session,
                        "Refund not completed",
                        "Saifu could not complete the refund just now, so nothing was refunded. Please try again.",
                        next,
                    )
                }
                err => {
                    tracing::warn!(error = %err, "the wallet refused a refund");
                    let detail = match &err {
                        Error::Problem {
                            detail: Some(detail),
                            ..
                        } => detail.clone(),
                        _ => "Saifu refused the refund.".into(),
                    };
                    shop.message(
                        StatusCode::CONFLICT,
                        session,
                        "Refund not completed",
                        &detail,
                        next,
                    )
                }
            }
        }
    }
}
