//! The checkout's routes and the calls to the wallet: pushing the payment, completing the
//! checkout when the wallet redirects back, and paying the grant.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use saifu_sdk::{Amount, Error};
use secrecy::{ExposeSecret, SecretString};

use super::{cart_cookie, is_transient, see_other, wallets};
use crate::i18n::Tr;
use crate::shop::{self, CURRENCY};
use crate::store::{CheckoutInProgress, OrderState};
use crate::Shop;

impl Shop {
    /// The error page for a checkout that could not be started or completed.
    fn checkout_failed(&self, session: Option<&str>, err: &Error) -> Response {
        let tr = Tr::current();
        if is_transient(err) {
            tracing::warn!(error = %err, "the wallet failed during a checkout");
            return self.message(
                StatusCode::BAD_GATEWAY,
                session,
                &tr.t("shop-unreachable-title"),
                &tr.t("shop-unreachable-text"),
                self.back_to_cart(),
            );
        }
        tracing::info!(error = %err, "a checkout could not be completed");
        let text = match err {
            Error::OAuth { error, .. } if error == "invalid_grant" => "shop-checkout-expired",
            Error::OAuth { .. } | Error::Authorization { .. } => "shop-checkout-refused",
            Error::StateMismatch | Error::IssuerMismatch | Error::MissingCode => {
                "shop-checkout-mismatch"
            }
            _ => "shop-checkout-generic",
        };
        self.message(
            StatusCode::BAD_REQUEST,
            session,
            &tr.t("shop-checkout-failed-title"),
            &tr.t(text),
            self.back_to_cart(),
        )
    }

    /// Pays an unpaid order with its grant, capturing at once, and records the outcome. The
    /// idempotency key is the order's, so a retry after a lost answer cannot charge twice.
    pub(super) async fn pay(&self, reference: &str) {
        let (grant, total) = match self.store().order_by_reference(reference) {
            Some(order) => match &order.state {
                OrderState::Unpaid { grant, .. } => (grant.clone(), order.total),
                _ => return,
            },
            None => return,
        };
        let amount = Amount {
            currency: CURRENCY.into(),
            amount: total.amount_string(),
        };
        let key = format!("pay:{reference}");
        let result = match self.client_for(reference).await {
            Ok(client) => {
                client
                    .pay(grant.expose_secret(), &amount, true, Some(&key))
                    .await
            }
            Err(err) => Err(err),
        };
        let mut store = self.store();
        let payment = match result {
            Ok(payment) => payment,
            Err(err) => {
                let Some(order) = store.order_by_reference(reference) else {
                    return;
                };
                // Another attempt may have finished meanwhile; its outcome stands.
                if matches!(order.state, OrderState::Unpaid { .. }) {
                    order.state = unpaid_outcome(err, grant);
                }
                return;
            }
        };
        tracing::info!(order = %reference, payment_id = %payment.id, "order paid");
        store.paid(reference, payment);
    }
}

/// What a failed payment attempt leaves the order as.
fn unpaid_outcome(err: Error, grant: SecretString) -> OrderState {
    match err {
        Error::Problem {
            status: 402,
            decline_code,
            ..
        } => OrderState::Declined {
            decline_code: decline_code.unwrap_or_else(|| "generic_decline".into()),
        },
        Error::Problem { code, .. } if code == "idempotency_key_in_use" => OrderState::Unpaid {
            grant,
            problem: Some("shop-problem-processing".into()),
        },
        err if is_transient(&err) => {
            tracing::warn!(error = %err, "paying an order failed; the grant is kept for a retry");
            OrderState::Unpaid {
                grant,
                problem: Some("shop-problem-unavailable".into()),
            }
        }
        Error::Problem { code, detail, .. } => {
            tracing::info!(code = %code, "the wallet refused a payment");
            OrderState::Failed {
                code,
                reason: detail,
            }
        }
        err => {
            tracing::warn!(error = %err, "paying an order failed");
            OrderState::Failed {
                code: "payment_refused".into(),
                reason: None,
            }
        }
    }
}

pub(super) async fn checkout(State(shop): State<Shop>, jar: CookieJar, body: Bytes) -> Response {
    let session = cart_cookie(&jar);
    let lines = session
        .as_deref()
        .and_then(|id| {
            shop.store()
                .session(id, Instant::now())
                .map(|s| s.cart.lines().to_vec())
        })
        .unwrap_or_default();
    let (Some(session), false) = (session, lines.is_empty()) else {
        return see_other(&shop.link("cart"));
    };
    let reference = shop::order_reference();
    let details = shop::payment_details(&reference, &lines);
    // "Which wallet do you use?" (empty: the shop's default wallet).
    let wallet = wallets::wallet_field(&body);
    let client = match shop
        .client_for_checkout(&session, &wallet, &reference)
        .await
    {
        Ok(client) => client,
        Err(refused) => return refused,
    };
    let (authorization_url, pending) = match client.start_checkout(&details).await {
        Ok(started) => started,
        Err(err) => return shop.checkout_failed(Some(&session), &err),
    };
    // A newer checkout replaces an unfinished one: the wallet's answer to that one then no
    // longer matches and is refused.
    match shop.store().session(&session, Instant::now()) {
        Some(s) => {
            s.checkout = Some(CheckoutInProgress {
                reference,
                pending,
                lines,
            });
        }
        None => return see_other(&shop.link("cart")),
    }
    see_other(authorization_url.as_str())
}

pub(super) async fn callback(
    State(shop): State<Shop>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let session = cart_cookie(&jar);
    // Taken out before anything else, so that an answer is used at most once.
    let in_progress = session.as_deref().and_then(|id| {
        shop.store()
            .session(id, Instant::now())
            .and_then(|s| s.checkout.take())
    });
    let (Some(session), Some(checkout)) = (session, in_progress) else {
        let tr = Tr::current();
        return shop.message(
            StatusCode::BAD_REQUEST,
            cart_cookie(&jar).as_deref(),
            &tr.t("shop-no-checkout-title"),
            &tr.t("shop-no-checkout-text"),
            shop.back_to_cart(),
        );
    };
    let mut callback = shop.0.callback.clone();
    callback.set_query(query.as_deref());
    let completed = match shop.client_for(&checkout.reference).await {
        Ok(client) => client.complete_checkout(&callback, &checkout.pending).await,
        Err(err) => Err(err),
    };
    let grant = match completed {
        Ok(grant) => grant,
        Err(Error::Denied) => {
            let tr = Tr::current();
            return shop.message(
                StatusCode::OK,
                Some(&session),
                &tr.t("shop-cancelled-title"),
                &tr.t("shop-cancelled-text"),
                shop.back_to_cart(),
            );
        }
        Err(err) => return shop.checkout_failed(Some(&session), &err),
    };
    // The grant is signed by the wallet; it must also be for this very order.
    let asked = shop::payment_details(&checkout.reference, &checkout.lines);
    let granted = grant.claims.authorization_details.first();
    if granted.map(|g| (&g.order_reference, &g.instructed_amount))
        != Some((&asked.order_reference, &asked.instructed_amount))
    {
        tracing::warn!(order = %checkout.reference, "the wallet granted another payment than the one asked for");
        let tr = Tr::current();
        return shop.message(
            StatusCode::BAD_GATEWAY,
            Some(&session),
            &tr.t("shop-checkout-failed-title"),
            &tr.t("shop-checkout-different"),
            shop.back_to_cart(),
        );
    }
    let reference = checkout.reference;
    shop.store().insert_order(
        reference.clone(),
        session,
        checkout.lines,
        SecretString::from(grant.token),
        Instant::now(),
    );
    shop.pay(&reference).await;
    see_other(&shop.order_link(&reference))
}
