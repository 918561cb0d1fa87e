//! "Which wallet do you use?": one shop, its default wallet and a second fake wallet the shop
//! registers itself at when a shopper names it.

use std::sync::Arc;

use saifu_sdk::{MemoryRegistrations, Mode};

use super::*;
use crate::{router_with_wallets, WalletChooser};

/// `POST /oauth/register` of the fake wallets: the same credentials as the default wallet's
/// merchant, so the grants it signs are the shop's.
pub(super) async fn register(State(w): State<Fake>, body: Bytes) -> Response {
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let secret = WebhookSecret::generate();
    let mut state = w.state();
    state.registered.push(request.clone());
    state.webhook_secret = Some(secret.clone());
    json(
        201,
        serde_json::json!({
            "client_id": CLIENT_ID,
            "client_secret": "secret",
            "client_id_issued_at": unix_now(),
            "client_secret_expires_at": 0,
            "registration_access_token": "rat_1",
            "registration_client_uri": w.base.join(&format!("oauth/register/{CLIENT_ID}")).unwrap(),
            "client_name": request["client_name"],
            "redirect_uris": request["redirect_uris"],
            "webhook_url": request["webhook_url"],
            "webhook_secret": secret.expose(),
            "saifu_status": "pending",
        }),
    )
}

/// The shop in front of `default`, asking for the shopper's wallet (development mode, so
/// `127.0.0.1:PORT` wallets can be named).
async fn start_choosing_shop(default: &Wallet) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shop_base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let app = router_with_wallets(
        DemoShopConfig {
            wallet_issuer: default.base.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: "secret".into(),
            shop_base: shop_base.clone(),
            webhook_secret: None,
        },
        Some(WalletChooser {
            store: Arc::new(MemoryRegistrations::new()),
            mode: Mode::Development,
        }),
    )
    .await
    .unwrap();
    tokio::spawn(serve(listener, app, std::future::pending()));
    shop_base
}

fn address(wallet: &Wallet) -> String {
    format!(
        "{}:{}",
        wallet.base.host_str().unwrap(),
        wallet.base.port().unwrap()
    )
}

impl Browser {
    /// Pays the cart at the wallet named in the form (`""`: the default).
    async fn checkout_at(&mut self, named: &str, wallet: &Wallet) -> Answer {
        let started = self.post("/checkout", &[("wallet", named)]).await;
        assert_eq!(started.status, 303, "{}", started.body);
        let authorize = Url::parse(started.location()).unwrap();
        assert_eq!(authorize.origin(), wallet.base.origin());
        let consent = self.get(authorize.as_str()).await;
        assert_eq!(consent.status, 303);
        let callback = Url::parse(consent.location()).unwrap();
        assert_eq!(callback.path(), "/callback");
        self.get(callback.as_str()).await
    }
}

#[tokio::test]
async fn the_cart_asks_which_wallet_only_when_the_shop_takes_any() {
    let wallet = start_wallet().await;
    let plain = start_shop(&wallet).await;
    let mut browser = Browser::new(&plain);
    browser.add("mug").await;
    let cart = browser.get("/cart").await;
    cart.assert_page(200, &["Pay with Saifu"]);
    assert!(!cart.body.contains("Your wallet"), "{}", cart.body);

    let choosing = start_choosing_shop(&wallet).await;
    let mut browser = Browser::new(&choosing);
    browser.add("mug").await;
    let cart = browser.get("/cart").await;
    cart.assert_page(
        200,
        &[
            r#"<label for="wallet">Your wallet (e.g. wallet.example.jp)</label>"#,
            r#"name="wallet""#,
            "Leave it empty",
        ],
    );
    // The answer to the form may send the browser to any wallet.
    let csp = cart.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action 'self' https: http://localhost:*"),
        "{csp}"
    );
}

#[tokio::test]
async fn shoppers_of_two_wallets_pay_at_their_own_and_each_order_keeps_its_wallet() {
    let default = start_wallet().await;
    let other = start_wallet().await;
    let shop = start_choosing_shop(&default).await;

    // A shopper of the other wallet: the shop registers itself there, once.
    let mut alice = Browser::new(&shop);
    alice.add("mug").await;
    let named = format!("alice@{}", address(&other));
    let reference = ordered(&alice.checkout_at(&named, &other).await);
    {
        let state = other.state();
        assert_eq!(state.registered.len(), 1);
        let registered = &state.registered[0];
        assert_eq!(registered["client_name"], "Saifu Demo Shop");
        assert_eq!(
            registered["redirect_uris"],
            serde_json::json!([shop.join("callback").unwrap()])
        );
        assert_eq!(
            registered["webhook_url"],
            shop.join(&format!(
                "webhooks/saifu/{}",
                address(&other).replace(':', "-")
            ))
            .unwrap()
            .as_str()
        );
        assert_eq!(state.pay_keys, [format!("pay:{reference}")]);
    }
    assert!(default.state().pay_keys.is_empty());
    assert!(default.state().registered.is_empty());
    alice
        .get(&format!("/orders/{reference}"))
        .await
        .assert_page(200, &["<dt>Status</dt><dd>Paid</dd>"]);
    // The refund, confirmed for the amount its confirmation shows, goes to the wallet that
    // took the payment.
    let confirm = alice.get(&format!("/orders/{reference}/refund")).await;
    let amount = confirm
        .body
        .split(r#"name="amount" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the confirmation carries the amount")
        .to_string();
    alice
        .post(
            &format!("/orders/{reference}/refund"),
            &[("amount", amount.as_str())],
        )
        .await
        .assert_see_other(&format!("/orders/{reference}"));
    assert_eq!(other.state().refund_keys.len(), 1);
    assert!(default.state().refund_keys.is_empty());

    // A shopper of the default wallet leaves the field empty.
    let mut bob = Browser::new(&shop);
    bob.add("kettle").await;
    let bobs = ordered(&bob.checkout_at("", &default).await);
    assert_eq!(default.state().pay_keys, [format!("pay:{bobs}")]);
    assert!(default.state().registered.is_empty());

    // Naming the default wallet is the same as leaving the field empty: no registration.
    let mut carol = Browser::new(&shop);
    carol.add("tote").await;
    let carols = ordered(&carol.checkout_at(&address(&default), &default).await);
    assert_eq!(default.state().pay_keys.len(), 2, "{carols}");
    assert!(default.state().registered.is_empty());

    // A second checkout at the other wallet reuses the registration.
    alice.add("tote").await;
    ordered(&alice.checkout_at(&address(&other), &other).await);
    assert_eq!(other.state().registered.len(), 1);
    assert_eq!(other.state().pay_keys.len(), 2);
}

#[tokio::test]
async fn an_address_that_is_no_usable_wallet_is_refused_with_the_reason() {
    let default = start_wallet().await;
    let shop = start_choosing_shop(&default).await;
    let mut browser = Browser::new(&shop);
    browser.add("mug").await;

    let not_an_address = browser
        .post("/checkout", &[("wallet", "wallet.example.jp/pay")])
        .await;
    not_an_address.assert_page(
        400,
        &[
            "That wallet cannot be used",
            "without a path",
            "Nothing was charged",
        ],
    );
    // The shop itself answers, but is no wallet.
    let not_a_wallet = browser
        .post("/checkout", &[("wallet", &address_of(&shop))])
        .await;
    not_a_wallet.assert_page(400, &["That wallet cannot be used", "no Saifu wallet"]);
    // Plain http outside localhost is refused even in development.
    let insecure = browser
        .post("/checkout", &[("wallet", "http://wallet.example.jp")])
        .await;
    insecure.assert_page(400, &["must use https"]);
    // Nothing was pushed anywhere, and the cart is still there.
    assert!(default.state().pushed_details.is_empty());
    browser
        .get("/cart")
        .await
        .assert_page(200, &["Ceramic mug"]);
}

fn address_of(url: &Url) -> String {
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
}

#[tokio::test]
async fn another_wallets_webhooks_are_verified_with_its_registration_secret() {
    let default = start_wallet().await;
    let other = start_wallet().await;
    let shop = start_choosing_shop(&default).await;
    let mut browser = Browser::new(&shop);
    browser.add("mug").await;
    let reference = ordered(&browser.checkout_at(&address(&other), &other).await);
    let secret = other.state().webhook_secret.clone().unwrap();
    let path = format!("/webhooks/saifu/{}", address(&other).replace(':', "-"));

    let captured = payment_event(
        "evt_other",
        EventType::PaymentCaptured,
        &payment_of(&other, &reference),
    );
    let send = |secret: WebhookSecret, path: String| {
        let captured = captured.clone();
        let shop = shop.clone();
        async move {
            let now = unix_now();
            reqwest::Client::new()
                .post(shop.join(&path).unwrap())
                .header(WEBHOOK_ID, "evt_other")
                .header(WEBHOOK_TIMESTAMP, now.to_string())
                .header(
                    WEBHOOK_SIGNATURE,
                    signature_header(&[secret], "evt_other", now, &captured),
                )
                .header("content-type", "application/json")
                .body(captured)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Another secret, the default wallet's path (which takes no webhooks here) and an unknown
    // wallet: refused.
    assert_eq!(send(WebhookSecret::generate(), path.clone()).await, 400);
    assert_eq!(send(secret.clone(), "/webhooks/saifu".into()).await, 404);
    assert_eq!(
        send(secret.clone(), "/webhooks/saifu/wallet.example.jp".into()).await,
        404
    );
    browser
        .get(&format!("/orders/{reference}"))
        .await
        .assert_page(200, &[super::AWAITING]);
    assert_eq!(send(secret, path).await, 204);
    browser
        .get(&format!("/orders/{reference}"))
        .await
        .assert_page(200, &[super::CONFIRMED]);
}
