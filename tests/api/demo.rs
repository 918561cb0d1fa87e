//! `saifu demo`'s journey with the real wallet and the real demo shop: buy with a passkey, see
//! the payment in Activity, earn points, spend them on a second purchase, and see a refund made
//! by the shop reverse the points.

use reqwest::StatusCode;
use url::Url;

use crate::helpers::{open_consent, shopper, spawn_app, Shopper, TestApp};

async fn order_page(s: &Shopper, shop: &Url, order: &str) -> String {
    let page = s.browser.http.get(shop.join(order).unwrap()).send().await;
    page.unwrap().text().await.unwrap()
}

async fn only_demo_merchant(app: &TestApp) -> String {
    let merchants = app.state.checkout.merchants.list().await.unwrap();
    assert_eq!(merchants.len(), 1);
    merchants[0].client_id.clone()
}

async fn start_shop(app: &TestApp) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!(
        "http://localhost:{}/",
        listener.local_addr().unwrap().port()
    ))
    .unwrap();
    let saifu::cli::DemoShopCredentials {
        client_id,
        client_secret,
        webhook_secret,
    } = saifu::cli::register_demo_shop(&app.state, &base)
        .await
        .unwrap();
    let router = saifu_demo_shop::router(saifu_demo_shop::DemoShopConfig {
        wallet_issuer: app.base.clone(),
        client_id,
        client_secret: client_secret.into(),
        shop_base: base.clone(),
        webhook_secret: Some(webhook_secret.into()),
    })
    .await
    .unwrap();
    tokio::spawn(saifu_demo_shop::serve(
        listener,
        router,
        std::future::pending(),
    ));
    base
}

/// Puts a product in the cart and pays, using `points`; returns the order page's path.
async fn buy(s: &mut Shopper, shop: &Url, product: &str, points: i64) -> String {
    let http = &s.browser.http;
    let added = http
        .post(shop.join("/cart/add").unwrap())
        .form(&[("product", product)])
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let checkout = http
        .post(shop.join("/checkout").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(checkout.status(), StatusCode::SEE_OTHER);
    let authorize = Url::parse(checkout.headers()["location"].to_str().unwrap()).unwrap();
    let consent = open_consent(&s.browser, &authorize).await;
    let html = s.browser.html(&consent).await;
    assert!(html.contains("Saifu Demo Shop") && html.contains("Verified by Saifu"));
    let callback = s.confirm(&consent, points).await;
    assert!(callback
        .as_str()
        .starts_with(shop.join("/callback").unwrap().as_str()));
    let back = s.browser.http.get(callback).send().await.unwrap();
    assert_eq!(
        back.status(),
        StatusCode::SEE_OTHER,
        "{}",
        back.text().await.unwrap()
    );
    back.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_newcomer_buys_earns_spends_points_and_a_shop_refund_reverses_them() {
    let app = spawn_app().await;
    let shop = start_shop(&app).await;
    let mut s = shopper(&app, "newcomer@example.com").await;

    let products = s
        .browser
        .http
        .get(shop.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(products.contains("Pour-over kettle"));

    // A kettle (¥6,400): 64 points.
    let order = buy(&mut s, &shop, "kettle", 0).await;
    let page = order_page(&s, &shop, &order).await;
    assert!(page.contains("<dt>Points earned</dt><dd>64"), "{page}");
    // The wallet's signed payment.captured webhook reaches the shop, which verifies it with
    // the SDK and marks the order confirmed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = order_page(&s, &shop, &order).await;
        if page.contains("Payment confirmed by your Saifu wallet.") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no webhook confirmation: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The wallet records the delivery once the shop's answer is in.
    let client_id = only_demo_merchant(&app).await;
    loop {
        let events = app
            .state
            .store
            .recent_webhook_events(&client_id, 10)
            .await
            .unwrap();
        if events
            .iter()
            .any(|e| e.event_type == "payment.captured" && e.state == "delivered")
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{events:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let activity = s.browser.html("/activity").await;
    assert!(activity.contains("Saifu Demo Shop") && activity.contains("¥6,400"));
    let points = s.browser.html("/points").await;
    assert!(
        points.contains("data-points-available>64<"),
        "64 points available"
    );

    // A mug (¥1,800) paid partly with those 64 points: the card pays ¥1,736 and earns 17.
    let order = buy(&mut s, &shop, "mug", 64).await;
    let page = order_page(&s, &shop, &order).await;
    // Total − points = card.
    assert!(
        page.contains(r#"<th scope="row">Points used (64 points)</th><td class="num">−¥64</td>"#),
        "{page}"
    );
    assert!(
        page.contains(
            r#"<th scope="row">Charged to your card</th><td class="num total">¥1,736</td>"#
        ),
        "{page}"
    );
    assert!(page.contains("<dt>Points earned</dt><dd>17"), "{page}");
    let points = s.browser.html("/points").await;
    assert!(points.contains("data-points-available>17<"));

    // The shop refunds the mug after its confirmation: the 17 earned points go, the 64 spent
    // come back.
    let confirm = s
        .browser
        .http
        .get(shop.join(&format!("{order}/refund")).unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        confirm.contains("¥1,736 goes back to your ")
            && confirm.contains("64 points go back to your Saifu wallet."),
        "{confirm}"
    );
    let refunded = s
        .browser
        .http
        .post(shop.join(&format!("{order}/refund")).unwrap())
        .form(&[("amount", "1800")])
        .send()
        .await
        .unwrap();
    assert_eq!(refunded.status(), StatusCode::SEE_OTHER);
    let page = order_page(&s, &shop, &order).await;
    assert!(page.contains("<dt>Status</dt><dd>Refunded</dd>"), "{page}");
    let points = s.browser.html("/points").await;
    assert!(points.contains("data-points-available>64<"), "{points}");
    let activity = s.browser.html("/activity").await;
    assert!(activity.contains("Refunded"));
    let (sum, balanced, lots) = app.state.store.ledger_check().await.unwrap();
    assert_eq!((sum, balanced, lots), (0, true, true));
}

/// `saifu demo --wallets 2`'s arrangement: the shop verified at `first`, asking for the
/// shopper's wallet, registering itself at any other (development mode: localhost wallets).
async fn start_choosing_shop(first: &TestApp) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!(
        "http://localhost:{}/",
        listener.local_addr().unwrap().port()
    ))
    .unwrap();
    let credentials = saifu::cli::register_demo_shop(&first.state, &base)
        .await
        .unwrap();
    let router = saifu_demo_shop::router_with_wallets(
        saifu_demo_shop::DemoShopConfig {
            wallet_issuer: first.base.clone(),
            client_id: credentials.client_id,
            client_secret: credentials.client_secret.into(),
            shop_base: base.clone(),
            webhook_secret: Some(credentials.webhook_secret.into()),
        },
        Some(saifu_demo_shop::WalletChooser {
            store: std::sync::Arc::new(saifu_sdk::MemoryRegistrations::new()),
            mode: saifu_sdk::Mode::Development,
        }),
    )
    .await
    .unwrap();
    tokio::spawn(saifu_demo_shop::serve(
        listener,
        router,
        std::future::pending(),
    ));
    base
}

/// Puts the mug in the cart and pays at the wallet named `wallet`; the consent page's HTML
/// and the order page's path.
async fn buy_at(s: &mut Shopper, shop: &Url, wallet: &str) -> (String, String) {
    let http = &s.browser.http;
    let added = http
        .post(shop.join("/cart/add").unwrap())
        .form(&[("product", "mug")])
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let checkout = http
        .post(shop.join("/checkout").unwrap())
        .form(&[("wallet", wallet)])
        .send()
        .await
        .unwrap();
    let status = checkout.status();
    let location = checkout
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        checkout.text().await.unwrap()
    );
    let authorize = Url::parse(&location.unwrap()).unwrap();
    assert_eq!(authorize.origin(), s.browser.base.origin());
    let consent = open_consent(&s.browser, &authorize).await;
    let html = s.browser.html(&consent).await;
    let callback = s.confirm(&consent, 0).await;
    let back = s.browser.http.get(callback).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    (
        html,
        back.headers()["location"].to_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn with_two_wallets_a_shopper_of_each_pays_at_the_one_shop() {
    let first = spawn_app().await;
    let second = spawn_app().await;
    let shop = start_choosing_shop(&first).await;

    // A shopper of the first wallet leaves the field empty: the verified shop.
    let mut aiko = shopper(&first, "aiko@example.com").await;
    let (consent, order) = buy_at(&mut aiko, &shop, "").await;
    assert!(consent.contains("Verified by Saifu"), "{consent}");
    let page = order_page(&aiko, &shop, &order).await;
    assert!(page.contains("<dt>Status</dt><dd>Paid</dd>"), "{page}");
    assert!(second
        .state
        .checkout
        .merchants
        .list()
        .await
        .unwrap()
        .is_empty());

    // A shopper of the second wallet names it: the shop registers itself there, pending.
    let mut ben = shopper(&second, "ben@example.com").await;
    let named = format!("ben@localhost:{}", second.base.port().unwrap());
    let (consent, order) = buy_at(&mut ben, &shop, &named).await;
    assert!(consent.contains("Not verified"), "{consent}");
    assert!(!consent.contains("Verified by Saifu"), "{consent}");
    let page = order_page(&ben, &shop, &order).await;
    assert!(page.contains("<dt>Status</dt><dd>Paid</dd>"), "{page}");
    let registered = second.state.checkout.merchants.list().await.unwrap();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].name, "Saifu Demo Shop");
    assert_eq!(
        registered[0].status,
        saifu::merchants::MerchantStatus::Pending
    );
    let activity = ben.browser.html("/activity").await;
    assert!(activity.contains("Saifu Demo Shop") && activity.contains("¥1,800"));
    // The first wallet still knows only the shop it was told about.
    assert_eq!(
        first.state.checkout.merchants.list().await.unwrap().len(),
        1
    );

    // The refund of Ben's order goes to the second wallet.
    let refunded = ben
        .browser
        .http
        .post(shop.join(&format!("{order}/refund")).unwrap())
        .form(&[("amount", "1800")])
        .send()
        .await
        .unwrap();
    assert_eq!(refunded.status(), StatusCode::SEE_OTHER);
    let page = order_page(&ben, &shop, &order).await;
    assert!(page.contains("<dt>Status</dt><dd>Refunded</dd>"), "{page}");
    assert!(ben.browser.html("/activity").await.contains("Refunded"));

    // A second purchase at the second wallet reuses the registration.
    buy_at(&mut ben, &shop, &named).await;
    assert_eq!(
        second.state.checkout.merchants.list().await.unwrap().len(),
        1
    );
}
