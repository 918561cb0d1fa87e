//! The Saifu Demo Shop: a small merchant web app built on the public API of the Saifu merchant
//! SDK (`saifu-sdk`), which `saifu demo` and this crate's `saifu-demo-shop` binary serve next to
//! a wallet, so that a whole checkout can be clicked through.
//!
//! It sells three products in yen and keeps carts and orders in memory. A cart belongs to the
//! browser's `demo_cart` cookie (`HttpOnly`, `SameSite=Lax`, `Secure` when the shop is served
//! over HTTPS).
//!
//! # Routes
//! Relative to `shop_base` (nest the router there when its path is not `/`):
//!
//! | Route | What it does |
//! |---|---|
//! | `GET /` | The products, each with a form posting to `/cart/add`. |
//! | `GET /style.css`, `GET /icon.svg`, `GET /zone.js` | The only stylesheet, the icon, and the only script (it adds the device's time zone to the footer's chooser; the chooser works without it). |
//! | `POST /language` | The footer's language switcher and time zone chooser: form fields `lang` = `ja` or `en`, and/or `zone` = an IANA time zone name (`Asia/Tokyo`), and `next` (a path of the shop). Sets the `shop_lang` or `shop_tz` cookie, then `303` to `next` (the home page when `next` is not the shop's); `400` with a page saying what to choose for another language, an unknown zone, or neither field. |
//! | `POST /cart/add` | Form field `product` = `mug`, `tote` or `kettle`: one more of it, then `303` to `/cart`. Sets the cookie when the browser has no cart yet. |
//! | `POST /cart/remove` | Form field `product`: takes that product out of the cart, then `303` to `/cart`. |
//! | `GET /cart` | The cart with its total and a "Pay with Saifu" button (a form posting to `/checkout`), and a link to the orders; with a [`WalletChooser`], the optional field "Your wallet". |
//! | `POST /checkout` | Pushes the payment (line items, named in the shopper's language, summing to the total, a fresh `DEMO-…` order reference) to the wallet, then `303` to the wallet's authorization URL (`303` to `/cart` when the cart is empty). With a [`WalletChooser`], the optional form field `wallet` names the shopper's wallet (`wallet.example.jp`, `name@wallet.example.jp`); empty is the default wallet. An address that is no usable Saifu wallet answers `400` with the reason. |
//! | `GET /callback` | The redirect URI, `{shop_base}callback`. Completes the checkout, pays the grant with capture, then `303` to `/orders/{id}`, also when the payment failed (the order page says why). A cancellation at the wallet answers a "Payment cancelled" page (`200`). |
//! | `GET /orders` | The browser's orders, newest first: reference (a link to the order), date, status and amount, with the card and points parts when points paid some of it. |
//! | `GET /orders/{id}` | The order: date, items, status in shoppers' words, card brand and last four, points earned, the total − points = card breakdown when points were used, and a "Refund this order" link while something is left to refund. `{id}` is the order reference. |
//! | `POST /orders/{id}/pay` | "Try again" after the card network failed: pays the kept grant again, then `303` to the order. |
//! | `GET /orders/{id}/refund` | The confirmation before a refund: the amount, what goes back to the card and what points go back to the wallet, the earned points taken back, and the button (`303` to the order when nothing is left to refund). |
//! | `POST /orders/{id}/refund` | Form field `amount`: refunds what is left of the captured amount when it is that amount (the one the confirmation showed), then `303` to the order, which shows it refunded; without it, or for another amount, `303` to the confirmation, refunding nothing. |
//! | `POST /webhooks/saifu/{wallet}` | With a [`WalletChooser`]: webhooks of a wallet the shop registered itself at (`{wallet}` is `saifu_sdk::wallet_key`), verified with that registration's secret; `404` for a wallet the shop sent no order to. |
//! | `POST /webhooks/saifu` | The wallet's signed webhooks (Standard Webhooks, body at most 64 KiB), when `webhook_secret` is set (`404` otherwise): `400` when the delivery does not verify, else `204`. `payment.captured` marks the order of the payment's `order_reference` confirmed by the wallet (and paid, if the shop missed the payment's answer), `payment.refunded` records the refunded amount and `payment.voided` the void; an event id already seen is acknowledged and not applied again. |
//!
//! Every page is in Japanese or English: the `shop_lang` cookie's choice, else the browser's
//! `Accept-Language`, else English (texts in `i18n/{en,ja}/*.ftl`); times are shown in the zone
//! chosen in every page's footer (the `shop_tz` cookie), else Asia/Tokyo.
//!
//! Orders are visible only to the cookie that placed them (`404` to anyone else). Failures are
//! pages with a sentence and a way on: `400` for an unknown product or a callback that does not
//! belong to the browser's checkout, `422` past 10 of one product, `402` for a declined refund,
//! `404` for unknown orders, `502` ("please try again") when the wallet cannot be reached. A
//! declined payment is shown on its order page with the reason in the shopper's words. POSTs whose `Origin` is
//! another site's are refused (`403`), except webhooks, which the wallet's signature
//! authenticates instead; every page carries a strict Content-Security-Policy.
//!
//! # Modules
//! `shop` holds the rules (catalogue, yen, cart, order references), `store` the memory of carts
//! and orders, `i18n` the languages and times, `pages` the views rendered by the askama
//! templates of `templates/`, and `handlers` the routes, one module per area.

mod handlers;
mod i18n;
mod pages;
mod shop;
mod store;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::HeaderValue;
use saifu_sdk::{
    Error, MerchantConfig, Mode, RegistrationStore, SaifuClient, ShopMetadata, Wallets,
    WebhookSecret,
};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use store::Store;

/// The name of the cookie that holds the browser's cart session id.
pub const CART_COOKIE: &str = "demo_cart";

/// Where the wallet is, the shop's merchant credentials there, and where the shop is served.
#[derive(Clone, Debug)]
pub struct DemoShopConfig {
    /// The wallet's issuer, e.g. `http://localhost:8080/`.
    pub wallet_issuer: Url,
    pub client_id: String,
    /// `Debug` prints `[REDACTED]`.
    pub client_secret: SecretString,
    /// The shop's public base URL, e.g. `http://localhost:3000/`. The redirect URI registered
    /// with the wallet must be `{shop_base}callback`.
    pub shop_base: Url,
    /// The `whsec_…` secret the wallet signs the shop's webhooks with. Without it the shop
    /// takes no webhooks and relies on the payments API's answers alone. `Debug` prints
    /// `[REDACTED]`.
    pub webhook_secret: Option<SecretString>,
}

/// The shop's other wallets: with it, the cart asks "Which wallet do you use?" and the shop
/// registers itself (RFC 7591) at the wallet a shopper names, keeping its registrations in
/// `store`. Its webhooks from those wallets arrive at `{shop_base}webhooks/saifu/{wallet}`.
#[derive(Clone)]
pub struct WalletChooser {
    pub store: Arc<dyn RegistrationStore>,
    /// [`Mode::Development`] lets shoppers name `localhost:PORT` wallets (for `saifu demo
    /// --wallets 2`); never in production.
    pub mode: Mode,
}

impl std::fmt::Debug for WalletChooser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletChooser")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// The shop's router. It discovers the wallet once, here, so the wallet must be serving; the
/// redirect URI is `{shop_base}callback`.
pub async fn router(config: DemoShopConfig) -> Result<axum::Router, Error> {
    router_with_wallets(config, None).await
}

/// Same as [`router`], also taking the wallets shoppers name (see [`WalletChooser`]).
pub async fn router_with_wallets(
    config: DemoShopConfig,
    chooser: Option<WalletChooser>,
) -> Result<axum::Router, Error> {
    let base = shop_base(&config.shop_base)?;
    let webhook_secret = config
        .webhook_secret
        .as_ref()
        .map(|secret| WebhookSecret::parse(secret.expose_secret()))
        .transpose()
        .map_err(|e| Error::Config(format!("webhook_secret: {e}")))?;
    let callback = base
        .join("callback")
        .map_err(|e| Error::Config(format!("shop_base: {e}")))?;
    let client = SaifuClient::discover(MerchantConfig::new(
        config.wallet_issuer,
        config.client_id,
        config.client_secret,
        callback.clone(),
    ))
    .await?;
    let authorization = Url::parse(&client.metadata().authorization_endpoint)
        .map_err(|e| Error::Metadata(format!("authorization_endpoint: {e}")))?;
    let wallets = chooser
        .map(|chooser| {
            let mut metadata = ShopMetadata::new("Saifu Demo Shop", callback.clone());
            metadata.client_uri = Some(base.clone());
            metadata.webhook_url = base.join("webhooks/saifu/{wallet}").ok();
            Wallets::with_mode(metadata, chooser.store, chooser.mode)
                .map(handlers::ShopWallets::new)
                .map_err(|e| Error::Config(format!("wallets: {e}")))
        })
        .transpose()?;
    // The checkout form's answer redirects to the wallet the shopper named, so with a chooser
    // any https wallet (and, in development, any local one) is a form target.
    let form_targets = match wallets.as_ref().map(|w| w.wallets.mode()) {
        None => authorization.origin().ascii_serialization(),
        Some(Mode::Production) => "https:".to_owned(),
        Some(_) => "https: http://localhost:* http://127.0.0.1:*".to_owned(),
    };
    let csp = HeaderValue::try_from(format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         form-action 'self' {form_targets}; frame-ancestors 'none'; base-uri 'none'"
    ))
    .map_err(|_| Error::Metadata("authorization_endpoint has an unusable origin".into()))?;
    let shop = Shop(Arc::new(ShopInner {
        client: Arc::new(client),
        wallets,
        callback,
        origin: base.origin().ascii_serialization(),
        secure_cookie: base.scheme() == "https",
        base_path: base.path().to_owned(),
        webhook_secret,
        store: Mutex::default(),
    }));
    Ok(handlers::routes(shop, csp))
}

/// Serves the shop's router until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// `shop_base` checked, and ending in `/` so that `callback` and the links resolve under it.
fn shop_base(base: &Url) -> Result<Url, Error> {
    let invalid = |why: &str| Err(Error::Config(format!("shop_base {why}")));
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return invalid("must be an http(s) URL");
    }
    if base.query().is_some() || base.fragment().is_some() {
        return invalid("may have no query or fragment");
    }
    // The path becomes the cookie's `Path` attribute.
    if base.path().contains(';') {
        return invalid("may have no ';' in its path");
    }
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    Ok(base)
}

/// The router's state: one per shop, shared by every request.
#[derive(Clone)]
struct Shop(Arc<ShopInner>);

struct ShopInner {
    /// The default wallet's client, where the shop was registered by hand.
    client: Arc<SaifuClient>,
    /// The wallets shoppers name, when the cart asks for one.
    wallets: Option<handlers::ShopWallets>,
    /// The redirect URI; the callback's query is read against it.
    callback: Url,
    /// `scheme://host[:port]`, as browsers send it in `Origin`.
    origin: String,
    /// Whether the cart cookie is `Secure`: the shop is served over HTTPS.
    secure_cookie: bool,
    /// The shop's path, ending in `/`: links, redirects and the cookie's `Path` are built on it.
    base_path: String,
    /// `None`: `POST /webhooks/saifu` is not found.
    webhook_secret: Option<WebhookSecret>,
    store: Mutex<Store>,
}

impl Shop {
    /// The memory of carts and orders. No lock is held across an `.await`; a panic elsewhere
    /// leaves the maps usable, so a poisoned lock is taken over.
    fn store(&self) -> MutexGuard<'_, Store> {
        self.0.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
