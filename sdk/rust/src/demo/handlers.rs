//! The demo shop's HTTP layer: cookie session, forms, redirects and the calls to the wallet.
//! The rules are in `shop`, the memory in `store`, the HTML in `pages`.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, ORIGIN,
    REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use secrecy::{ExposeSecret, SecretString};

use super::pages::{self, Chrome, Next};
use super::shop::{self, CartError, CATALOG, CURRENCY, MAX_QUANTITY};
use super::store::{CheckoutInProgress, OrderState, Store, WebhookOutcome};
use super::{Shop, CART_COOKIE};
use crate::checkout::Amount;
use crate::client::Error;
use crate::webhooks::verify_webhook;

/// The most a webhook body may be; a payment event is well under 2 KiB.
const WEBHOOK_BODY_LIMIT: usize = 64 * 1024;

pub(super) fn routes(shop: Shop, csp: HeaderValue) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/style.css", get(style))
        .route("/cart", get(cart))
        .route("/cart/add", post(add))
        .route("/cart/remove", post(remove))
        .route("/checkout", post(checkout))
        .route("/callback", get(callback))
        .route("/orders/{id}", get(order))
        .route("/orders/{id}/pay", post(retry_payment))
        .route("/orders/{id}/refund", post(refund))
        .route("/webhooks/saifu", post(webhook))
        .fallback(not_found)
        .layer(axum::middleware::map_response(move |response: Response| {
            let csp = csp.clone();
            async move { with_security_headers(response, csp) }
        }))
        .with_state(shop)
}

fn with_security_headers(mut response: Response, csp: HeaderValue) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, csp);
    // `same-origin`, not `no-referrer`: with `no-referrer` browsers send `Origin: null` on the
    // shop's own form posts, which the cross-site check refuses.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages show one browser's cart and orders.
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The session id in the request's `demo_cart` cookie.
pub(super) fn cart_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == CART_COOKIE && !value.is_empty()).then(|| value.to_owned())
        })
}

/// The value of one field of an `application/x-www-form-urlencoded` body.
pub(super) fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn html(status: StatusCode, page: String) -> Response {
    (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        page,
    )
        .into_response()
}

fn see_other(location: &str) -> Response {
    match HeaderValue::try_from(location) {
        Ok(location) => (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Whether the wallet failed or could not be reached, so that the same step may work later.
fn is_transient(err: &Error) -> bool {
    match err {
        Error::Http(_) => true,
        Error::UnexpectedStatus(status)
        | Error::OAuth { status, .. }
        | Error::Problem { status, .. } => *status >= 500,
        _ => false,
    }
}

impl Shop {
    fn base(&self) -> &str {
        &self.0.base_path
    }

    fn link(&self, path: &str) -> String {
        format!("{}{path}", self.0.base_path)
    }

    fn order_link(&self, reference: &str) -> String {
        self.link(&format!("orders/{reference}"))
    }

    fn cart_count(&self, session: Option<&str>) -> u32 {
        session
            .and_then(|id| {
                self.store()
                    .session(id, Instant::now())
                    .map(|s| s.cart.count())
            })
            .unwrap_or(0)
    }

    fn chrome(&self, session: Option<&str>) -> Chrome<'_> {
        Chrome {
            base: self.base(),
            cart_count: self.cart_count(session),
        }
    }

    fn message(
        &self,
        status: StatusCode,
        session: Option<&str>,
        title: &str,
        text: &str,
        next: Next,
    ) -> Response {
        let page = pages::message(&self.chrome(session), title, text, &next);
        html(status, page)
    }

    fn back_to_cart(&self) -> Next<'static> {
        Next {
            href: self.link("cart"),
            label: "Back to your cart",
        }
    }

    fn not_found(&self, session: Option<&str>) -> Response {
        self.message(
            StatusCode::NOT_FOUND,
            session,
            "Page not found",
            "There is nothing here. Orders can only be seen from the browser that placed them.",
            Next {
                href: self.link(""),
                label: "Go to the shop",
            },
        )
    }

    /// Refuses a POST that another site's page made (CSRF): browsers name the page's origin in
    /// `Origin`. Clients that send none (scripts, tests) are let through; the `SameSite=Lax`
    /// cookie already keeps cross-site posts away from the cart.
    fn refuse_cross_site(&self, headers: &HeaderMap) -> Option<Response> {
        let origin = headers.get(ORIGIN)?;
        if origin.as_bytes() == self.0.origin.as_bytes() {
            return None;
        }
        Some(self.message(
            StatusCode::FORBIDDEN,
            None,
            "Request refused",
            &format!(
                "This form was sent from another site, so the shop ignored it. Open the shop at {}{} and try again.",
                self.0.origin, self.0.base_path
            ),
            Next {
                href: self.link(""),
                label: "Go to the shop",
            },
        ))
    }

    /// The request's session, or a new one; the second value is the cookie to set for it.
    fn session_or_new(&self, store: &mut Store, headers: &HeaderMap) -> (String, Option<String>) {
        let now = Instant::now();
        if let Some(id) = cart_cookie(headers) {
            if store.session(&id, now).is_some() {
                return (id, None);
            }
        }
        let id = store.new_session(now);
        let cookie = format!("{CART_COOKIE}={id}{}", self.0.cookie_attributes);
        (id, Some(cookie))
    }

    /// The error page for a checkout that could not be started or completed.
    fn checkout_failed(&self, session: Option<&str>, err: &Error) -> Response {
        if is_transient(err) {
            tracing::warn!(error = %err, "the wallet failed during a checkout");
            return self.message(
                StatusCode::BAD_GATEWAY,
                session,
                "Saifu could not be reached",
                "The payment could not be completed because the Saifu wallet did not answer. Nothing was charged. Please try again.",
                self.back_to_cart(),
            );
        }
        tracing::info!(error = %err, "a checkout could not be completed");
        let text = match err {
            Error::OAuth { error, .. } if error == "invalid_grant" => {
                "This checkout expired or was already completed. Nothing was charged. Please pay again from your cart.".to_owned()
            }
            Error::OAuth { error, .. } => format!(
                "Saifu refused the checkout ({error}). Nothing was charged. Please try again from your cart."
            ),
            Error::Authorization { error, .. } => format!(
                "Saifu ended the checkout ({error}). Nothing was charged. Please try again from your cart."
            ),
            Error::StateMismatch | Error::IssuerMismatch | Error::MissingCode => {
                "This answer from Saifu does not belong to the checkout in this browser, so the shop ignored it. Nothing was charged. Please pay again from your cart.".to_owned()
            }
            _ => "The payment could not be completed. Nothing was charged. Please try again from your cart.".to_owned(),
        };
        self.message(
            StatusCode::BAD_REQUEST,
            session,
            "Checkout not completed",
            &text,
            self.back_to_cart(),
        )
    }

    /// Pays an unpaid order with its grant, capturing at once, and records the outcome. The
    /// idempotency key is the order's, so a retry after a lost answer cannot charge twice.
    async fn pay(&self, reference: &str) {
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
        let result = self
            .0
            .client
            .pay(grant.expose_secret(), &amount, true, Some(&key))
            .await;
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
            problem: Some("Your payment is still being processed.".into()),
        },
        err if is_transient(&err) => {
            tracing::warn!(error = %err, "paying an order failed; the grant is kept for a retry");
            OrderState::Unpaid {
                grant,
                problem: Some("Saifu could not complete the payment just now.".into()),
            }
        }
        Error::Problem { code, detail, .. } => {
            tracing::info!(code = %code, "the wallet refused a payment");
            OrderState::Failed {
                reason: detail.unwrap_or_else(|| format!("Saifu refused the payment ({code}).")),
            }
        }
        err => {
            tracing::warn!(error = %err, "paying an order failed");
            OrderState::Failed {
                reason: "Saifu refused the payment.".into(),
            }
        }
    }
}

async fn home(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let session = cart_cookie(&headers);
    html(
        StatusCode::OK,
        pages::home(&shop.chrome(session.as_deref()), CATALOG),
    )
}

async fn style() -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        pages::STYLE,
    )
        .into_response()
}

async fn not_found(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    shop.not_found(cart_cookie(&headers).as_deref())
}

async fn cart(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let session = cart_cookie(&headers);
    let page = {
        let mut store = shop.store();
        let cart = session
            .as_deref()
            .and_then(|id| store.session(id, Instant::now()))
            .map(|s| s.cart.clone())
            .unwrap_or_default();
        let chrome = Chrome {
            base: shop.base(),
            cart_count: cart.count(),
        };
        let orders = session
            .as_deref()
            .map(|id| store.orders_of(id))
            .unwrap_or_default();
        pages::cart(&chrome, &cart, &orders)
    };
    html(StatusCode::OK, page)
}

async fn add(State(shop): State<Shop>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = shop.refuse_cross_site(&headers) {
        return refused;
    }
    let Some(product) = form_field(&body, "product").and_then(|id| shop::product(&id)) else {
        return shop.message(
            StatusCode::BAD_REQUEST,
            cart_cookie(&headers).as_deref(),
            "Unknown product",
            "The shop does not sell that product.",
            Next {
                href: shop.link(""),
                label: "See the products",
            },
        );
    };
    let (session, cookie, added) = {
        let mut store = shop.store();
        let (id, cookie) = shop.session_or_new(&mut store, &headers);
        let added = match store.session(&id, Instant::now()) {
            Some(session) => session.cart.add(product),
            None => Ok(()),
        };
        (id, cookie, added)
    };
    let mut response = match added {
        Ok(()) => see_other(&shop.link("cart")),
        Err(CartError::TooMany) => shop.message(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&session),
            "That is the most we can sell",
            &format!(
                "You can buy at most {MAX_QUANTITY} of each product, and your cart already has {MAX_QUANTITY} of the {}.",
                product.name
            ),
            shop.back_to_cart(),
        ),
    };
    if let Some(value) = cookie.and_then(|c| HeaderValue::try_from(c).ok()) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

async fn remove(State(shop): State<Shop>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = shop.refuse_cross_site(&headers) {
        return refused;
    }
    let session = cart_cookie(&headers);
    let product = form_field(&body, "product").and_then(|id| shop::product(&id));
    let Some(product) = product else {
        return shop.message(
            StatusCode::BAD_REQUEST,
            session.as_deref(),
            "Unknown product",
            "The shop does not sell that product.",
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

async fn checkout(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    if let Some(refused) = shop.refuse_cross_site(&headers) {
        return refused;
    }
    let session = cart_cookie(&headers);
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
    let (authorization_url, pending) = match shop.0.client.start_checkout(&details).await {
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

async fn callback(State(shop): State<Shop>, headers: HeaderMap, uri: Uri) -> Response {
    let session = cart_cookie(&headers);
    // Taken out before anything else, so that an answer is used at most once.
    let in_progress = session.as_deref().and_then(|id| {
        shop.store()
            .session(id, Instant::now())
            .and_then(|s| s.checkout.take())
    });
    let (Some(session), Some(checkout)) = (session, in_progress) else {
        return shop.message(
            StatusCode::BAD_REQUEST,
            cart_cookie(&headers).as_deref(),
            "No checkout in progress",
            "This browser has no payment waiting for Saifu's answer: it may have been completed already, or started in another browser. Nothing was charged by this page.",
            shop.back_to_cart(),
        );
    };
    let mut callback = shop.0.callback.clone();
    callback.set_query(uri.query());
    let grant = match shop
        .0
        .client
        .complete_checkout(&callback, &checkout.pending)
        .await
    {
        Ok(grant) => grant,
        Err(Error::Denied) => {
            return shop.message(
                StatusCode::OK,
                Some(&session),
                "Payment cancelled",
                "You cancelled the payment in Saifu, so nothing was charged. Your items are still in your cart.",
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
        return shop.message(
            StatusCode::BAD_GATEWAY,
            Some(&session),
            "Checkout not completed",
            "Saifu approved a different payment than this order, so the shop did not take it. Nothing was charged. Please pay again from your cart.",
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

/// The order reference of `/orders/{id}`, if it has the shape of one.
fn reference(path: Result<Path<String>, PathRejection>) -> Option<String> {
    path.ok()
        .map(|Path(id)| id)
        .filter(|id| shop::is_order_reference(id))
}

async fn order(
    State(shop): State<Shop>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let session = cart_cookie(&headers);
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
            shop.0.webhook_secret.is_some(),
        ))
    });
    match page {
        Some(page) => html(StatusCode::OK, page),
        None => shop.not_found(session.as_deref()),
    }
}

async fn retry_payment(
    State(shop): State<Shop>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    if let Some(refused) = shop.refuse_cross_site(&headers) {
        return refused;
    }
    let session = cart_cookie(&headers);
    let Some(reference) =
        reference(path).filter(|r| shop.store().order(r, session.as_deref()).is_some())
    else {
        return shop.not_found(session.as_deref());
    };
    shop.pay(&reference).await;
    see_other(&shop.order_link(&reference))
}

async fn refund(
    State(shop): State<Shop>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    if let Some(refused) = shop.refuse_cross_site(&headers) {
        return refused;
    }
    let session = cart_cookie(&headers);
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
    match shop
        .0
        .client
        .refund(&payment_id, &left.amount_string(), Some(&key))
        .await
    {
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

/// The wallet's webhooks. The signature authenticates them, so there is no `Origin` check, and
/// every verified delivery is acknowledged (`204`), even one the shop has nothing to do with:
/// an error would only make the wallet send it again.
async fn webhook(State(shop): State<Shop>, headers: HeaderMap, body: Body) -> Response {
    let Some(secret) = &shop.0.webhook_secret else {
        return shop.not_found(None);
    };
    let Ok(body) = axum::body::to_bytes(body, WEBHOOK_BODY_LIMIT).await else {
        tracing::warn!("refused a webhook whose body was too large or unreadable");
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let event = match verify_webhook(&headers, &body, std::slice::from_ref(secret)) {
        Ok(event) => event,
        Err(err) => {
            tracing::warn!(error = %err, "refused a webhook that did not verify");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    let outcome = shop.store().webhook(&event, Instant::now());
    match outcome {
        WebhookOutcome::Applied => {
            tracing::info!(event_id = %event.id, event_type = %event.event_type, "webhook applied");
        }
        outcome => {
            tracing::debug!(event_id = %event.id, event_type = %event.event_type, ?outcome, "webhook acknowledged and not applied");
        }
    }
    StatusCode::NO_CONTENT.into_response()
}
