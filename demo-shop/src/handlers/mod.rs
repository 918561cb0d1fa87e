//! The demo shop's HTTP layer: the routes, the security headers, the cookie session, and the
//! pages and redirects every handler answers with. The handlers are by area: `cart`,
//! `checkout` (the calls to the wallet), `orders` and `webhook`. The rules are in `shop`, the
//! memory in `store`, the HTML in `pages`.

mod cart;
mod checkout;
mod language;
mod orders;
mod wallets;
mod webhook;

#[cfg(test)]
pub(crate) use cart::ProductForm;

use std::time::Instant;

use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, ORIGIN, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use saifu_sdk::Error;

use crate::i18n::Tr;
use crate::pages::{self, Chrome, Next};
use crate::shop::CATALOG;
use crate::store::Store;
use crate::{Shop, CART_COOKIE};

pub(crate) use wallets::ShopWallets;

pub(super) fn routes(shop: Shop, csp: HeaderValue) -> Router {
    // The shop's own forms: each refuses a post another site's page made.
    let form = axum::middleware::from_fn_with_state(shop.clone(), same_site_only);
    Router::new()
        .route("/", get(home))
        .route("/style.css", get(style))
        .route("/icon.svg", get(icon))
        .route("/zone.js", get(zone_script))
        .route(
            "/language",
            post(language::choose).route_layer(form.clone()),
        )
        .route("/cart", get(cart::cart))
        .route("/cart/add", post(cart::add).route_layer(form.clone()))
        .route("/cart/remove", post(cart::remove).route_layer(form.clone()))
        .route(
            "/checkout",
            post(checkout::checkout).route_layer(form.clone()),
        )
        .route("/callback", get(checkout::callback))
        .route("/orders", get(orders::list))
        .route("/orders/{id}", get(orders::order))
        .route(
            "/orders/{id}/pay",
            post(orders::retry_payment).route_layer(form.clone()),
        )
        .route(
            "/orders/{id}/refund",
            get(orders::confirm_refund).merge(post(orders::refund).route_layer(form)),
        )
        .route("/webhooks/saifu", post(webhook::webhook))
        .route("/webhooks/saifu/{wallet}", post(wallets::webhook))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(language::prefs))
        .layer(axum::middleware::map_response(move |response: Response| {
            let csp = csp.clone();
            async move { with_security_headers(response, csp) }
        }))
        .with_state(shop)
}

/// Answers a form post with the refusal of [`Shop::refuse_cross_site`], or lets it through.
async fn same_site_only(
    State(shop): State<Shop>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match shop.refuse_cross_site(request.headers()) {
        Some(refused) => refused,
        None => next.run(request).await,
    }
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
pub(super) fn cart_cookie(jar: &CookieJar) -> Option<String> {
    jar.get(CART_COOKIE)
        .map(Cookie::value)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
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
        Chrome::new(self.base(), self.cart_count(session))
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

    fn back_to_cart(&self) -> Next {
        Next {
            href: self.link("cart"),
            label: Tr::current().t("shop-back-to-cart"),
        }
    }

    fn to_the_shop(&self) -> Next {
        Next {
            href: self.link(""),
            label: Tr::current().t("shop-go-to-shop"),
        }
    }

    fn not_found(&self, session: Option<&str>) -> Response {
        let tr = Tr::current();
        self.message(
            StatusCode::NOT_FOUND,
            session,
            &tr.t("shop-not-found-title"),
            &tr.t("shop-not-found-text"),
            self.to_the_shop(),
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
        let tr = Tr::current();
        let url = format!("{}{}", self.0.origin, self.0.base_path);
        Some(self.message(
            StatusCode::FORBIDDEN,
            None,
            &tr.t("shop-refused-title"),
            &tr.args("shop-refused-text", [("url", url.as_str())]),
            self.to_the_shop(),
        ))
    }

    /// The request's session, or a new one; the second value is the cookie to set for it.
    fn session_or_new(
        &self,
        store: &mut Store,
        jar: &CookieJar,
    ) -> (String, Option<Cookie<'static>>) {
        let now = Instant::now();
        if let Some(id) = cart_cookie(jar) {
            if store.session(&id, now).is_some() {
                return (id, None);
            }
        }
        let id = store.new_session(now);
        let cookie = Cookie::build((CART_COOKIE, id.clone()))
            .path(self.0.base_path.clone())
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.0.secure_cookie)
            .build();
        (id, Some(cookie))
    }
}

async fn home(State(shop): State<Shop>, jar: CookieJar) -> Response {
    let session = cart_cookie(&jar);
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

async fn icon() -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        pages::ICON,
    )
        .into_response()
}

async fn zone_script() -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        pages::ZONE_JS,
    )
        .into_response()
}

async fn not_found(State(shop): State<Shop>, jar: CookieJar) -> Response {
    shop.not_found(cart_cookie(&jar).as_deref())
}
