//! The shop's router over real HTTP against a fake wallet (an axum app that approves or denies
//! at once, signs real ES256 grants and answers the payments API as each test sets it up), with
//! a reqwest "browser" that keeps the `demo_cart` cookie and follows no redirect.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use url::{form_urlencoded, Url};

use saifu_sdk::payments::{CardSummary, CreatePayment, CreateRefund, Payment};
use saifu_sdk::webhooks::{
    signature_header, Event, EventType, WebhookSecret, WEBHOOK_ID, WEBHOOK_SIGNATURE,
    WEBHOOK_TIMESTAMP,
};
use saifu_sdk::{GrantClaims, PaymentDetails};

use crate::{router, serve, DemoShopConfig};

mod wallets;
mod zones;

const CLIENT_ID: &str = "m_demo";

#[derive(Default)]
struct WalletState {
    /// The shopper presses "Cancel" instead of approving.
    deny: bool,
    /// Answers for `POST /v1/payments`, used up first; then every payment is approved.
    pay_answers: VecDeque<(u16, serde_json::Value)>,
    /// PAR forms by `request_uri`, then by authorization code.
    pushed: HashMap<String, HashMap<String, String>>,
    codes: HashMap<String, HashMap<String, String>>,
    /// Every `authorization_details` pushed, parsed.
    pushed_details: Vec<PaymentDetails>,
    /// Idempotency keys of `POST /v1/payments` and of refunds, in order.
    pay_keys: Vec<String>,
    refund_keys: Vec<String>,
    payments: HashMap<String, Payment>,
    counter: u32,
    /// `POST /oauth/register` bodies, and the webhook secret answered (`wallets` tests).
    registered: Vec<serde_json::Value>,
    webhook_secret: Option<WebhookSecret>,
}

struct Wallet {
    base: Url,
    pkcs8: Vec<u8>,
    jwk: serde_json::Value,
    state: Mutex<WalletState>,
}

type Fake = Arc<Wallet>;

impl Wallet {
    fn state(&self) -> std::sync::MutexGuard<'_, WalletState> {
        self.state.lock().unwrap()
    }
}

fn json(status: u16, body: serde_json::Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn see_other(location: &Url) -> Response {
    (StatusCode::SEE_OTHER, [("location", location.to_string())]).into_response()
}

async fn metadata(State(w): State<Fake>) -> Response {
    let at = |path: &str| w.base.join(path).unwrap().to_string();
    json(
        200,
        serde_json::json!({
            "issuer": w.base.as_str(),
            "authorization_endpoint": at("oauth/authorize"),
            "token_endpoint": at("oauth/token"),
            "pushed_authorization_request_endpoint": at("oauth/par"),
            "jwks_uri": at("oauth/jwks"),
            "registration_endpoint": at("oauth/register"),
            "require_pushed_authorization_requests": true,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "authorization_details_types_supported": ["payment"],
            "authorization_response_iss_parameter_supported": true,
        }),
    )
}

async fn jwks(State(w): State<Fake>) -> Response {
    json(200, serde_json::json!({ "keys": [w.jwk] }))
}

async fn par(State(w): State<Fake>, body: Bytes) -> Response {
    let pushed = form(&body);
    let details: Vec<PaymentDetails> =
        serde_json::from_str(&pushed["authorization_details"]).unwrap();
    let mut state = w.state();
    state.counter += 1;
    let request_uri = format!("urn:ietf:params:oauth:request_uri:{}", state.counter);
    state.pushed_details.extend(details);
    state.pushed.insert(request_uri.clone(), pushed);
    json(
        201,
        serde_json::json!({ "request_uri": request_uri, "expires_in": 60 }),
    )
}

/// Consent in one step: approve, or deny when the test says so.
async fn authorize(State(w): State<Fake>, uri: Uri) -> Response {
    let query = form(uri.query().unwrap_or_default().as_bytes());
    let mut state = w.state();
    let pushed = state.pushed.remove(&query["request_uri"]).unwrap();
    let mut back = Url::parse(&pushed["redirect_uri"]).unwrap();
    if state.deny {
        back.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", &pushed["state"])
            .append_pair("iss", w.base.as_str());
        return see_other(&back);
    }
    state.counter += 1;
    let code = format!("code-{}", state.counter);
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &pushed["state"])
        .append_pair("iss", w.base.as_str());
    state.codes.insert(code, pushed);
    see_other(&back)
}

async fn token(State(w): State<Fake>, body: Bytes) -> Response {
    let request = form(&body);
    let Some(pushed) = w.state().codes.remove(&request["code"]) else {
        return json(400, serde_json::json!({ "error": "invalid_grant" }));
    };
    assert_eq!(request["redirect_uri"], pushed["redirect_uri"]);
    assert_eq!(
        saifu_sdk::pkce_challenge(&request["code_verifier"]),
        pushed["code_challenge"]
    );
    let details: Vec<PaymentDetails> =
        serde_json::from_str(&pushed["authorization_details"]).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = GrantClaims {
        iss: w.base.to_string(),
        aud: format!("{}/v1/payments", w.base.origin().ascii_serialization()),
        sub: "pairwise-1".into(),
        client_id: CLIENT_ID.into(),
        iat: now,
        exp: now + 600,
        jti: format!("grant-{}", request["code"]),
        authorization_details: details.clone(),
    };
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("k1".into());
    let jwt = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&w.pkcs8)).unwrap();
    json(
        200,
        serde_json::json!({
            "access_token": jwt,
            "token_type": "Bearer",
            "expires_in": 600,
            "authorization_details": details,
        }),
    )
}

fn idempotency_key(headers: &HeaderMap) -> String {
    headers["idempotency-key"].to_str().unwrap().to_owned()
}

async fn pay(State(w): State<Fake>, headers: HeaderMap, body: Bytes) -> Response {
    let request: CreatePayment = serde_json::from_slice(&body).unwrap();
    assert!(request.capture);
    let mut state = w.state();
    state.pay_keys.push(idempotency_key(&headers));
    if let Some((status, body)) = state.pay_answers.pop_front() {
        return json(status, body);
    }
    state.counter += 1;
    let amount = request.amount.amount;
    let payment = Payment {
        id: format!("pay_{}", state.counter),
        status: "captured".into(),
        captured_amount: amount.clone(),
        refunded_amount: "0".into(),
        currency: request.amount.currency,
        order_reference: String::new(),
        card: CardSummary {
            brand: "Visa".into(),
            last4: "4242".into(),
        },
        points_earned: amount.parse::<i64>().unwrap() / 100,
        points_redeemed: 0,
        created_at: "2025-01-01T00:00:00Z".into(),
        amount,
    };
    state.payments.insert(payment.id.clone(), payment.clone());
    json(201, serde_json::to_value(payment).unwrap())
}

async fn refund(
    State(w): State<Fake>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: CreateRefund = serde_json::from_slice(&body).unwrap();
    let mut state = w.state();
    state.refund_keys.push(idempotency_key(&headers));
    let payment = state.payments.get_mut(&id).unwrap();
    assert_eq!(request.amount.currency, payment.currency);
    assert_eq!(request.amount.amount, payment.captured_amount);
    payment.refunded_amount = request.amount.amount;
    json(201, serde_json::to_value(&*payment).unwrap())
}

async fn start_wallet() -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let public = pair.public_key().as_ref();
    let wallet = Arc::new(Wallet {
        base,
        pkcs8: pkcs8.as_ref().to_vec(),
        jwk: serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&public[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&public[33..]),
        }),
        state: Mutex::default(),
    });
    let app = axum::Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/oauth/jwks", get(jwks))
        .route("/oauth/par", post(par))
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route("/oauth/register", post(wallets::register))
        .route("/v1/payments", post(pay))
        .route("/v1/payments/{id}/refunds", post(refund))
        .with_state(wallet.clone());
    tokio::spawn(serve(listener, app, std::future::pending()));
    wallet
}

/// The shop, served on a port of its own, in front of `wallet`.
async fn start_shop(wallet: &Wallet) -> Url {
    start_shop_with(wallet, None).await
}

/// The shop, taking webhooks signed with `webhook_secret` when there is one.
async fn start_shop_with(wallet: &Wallet, webhook_secret: Option<&WebhookSecret>) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shop_base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let app = router(DemoShopConfig {
        wallet_issuer: wallet.base.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: "secret".into(),
        shop_base: shop_base.clone(),
        webhook_secret: webhook_secret.map(|s| s.expose().into()),
    })
    .await
    .unwrap();
    tokio::spawn(serve(listener, app, std::future::pending()));
    shop_base
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers["location"].to_str().unwrap()
    }

    fn assert_see_other(&self, location: &str) {
        assert_eq!(
            (self.status, self.location()),
            (303, location),
            "{}",
            self.body
        );
    }

    fn assert_page(&self, status: u16, shows: &[&str]) {
        assert_eq!(self.status, status, "{}", self.body);
        for text in shows {
            assert!(self.body.contains(text), "{text:?} not in {}", self.body);
        }
    }
}

/// A browser: keeps the shop's cookies, follows no redirect, sends no `Origin` unless told, and
/// the `Accept-Language` it is given.
struct Browser {
    http: reqwest::Client,
    shop: Url,
    /// The shop's cookies, by name.
    cookies: std::collections::BTreeMap<String, String>,
    accept_language: Option<&'static str>,
}

impl Browser {
    fn new(shop: &Url) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            shop: shop.clone(),
            cookies: Default::default(),
            accept_language: None,
        }
    }

    /// A browser whose user prefers `languages` (an `Accept-Language` value).
    fn speaking(shop: &Url, languages: &'static str) -> Self {
        Self {
            accept_language: Some(languages),
            ..Self::new(shop)
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if cookie.is_empty() {
            request
        } else {
            request.header("cookie", cookie)
        };
        let request = match self.accept_language {
            Some(languages) => request.header("accept-language", languages),
            None => request,
        };
        let response = request.send().await.unwrap();
        let headers = response.headers().clone();
        for set in headers.get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
        Answer {
            status: response.status().as_u16(),
            headers,
            body: response.text().await.unwrap(),
        }
    }

    /// A shop path, or any absolute URL (the wallet's).
    fn url(&self, to: &str) -> Url {
        self.shop.join(to).unwrap()
    }

    async fn get(&mut self, to: &str) -> Answer {
        let request = self.http.get(self.url(to));
        self.send(request).await
    }

    async fn post(&mut self, to: &str, fields: &[(&str, &str)]) -> Answer {
        let request = self.http.post(self.url(to)).form(fields);
        self.send(request).await
    }

    async fn add(&mut self, product: &str) {
        self.post("/cart/add", &[("product", product)])
            .await
            .assert_see_other("/cart");
    }

    /// Pays the cart through the wallet; the answer is the shop's to the wallet's redirect.
    async fn checkout(&mut self, wallet: &Wallet) -> Answer {
        let started = self.post("/checkout", &[]).await;
        assert_eq!(started.status, 303, "{}", started.body);
        let authorize = Url::parse(started.location()).unwrap();
        assert_eq!(authorize.origin(), wallet.base.origin());
        assert_eq!(authorize.path(), "/oauth/authorize");
        let consent = self.get(authorize.as_str()).await;
        assert_eq!(consent.status, 303);
        let callback = Url::parse(consent.location()).unwrap();
        assert_eq!(callback.path(), "/callback");
        self.get(callback.as_str()).await
    }
}

/// The order reference from `/orders/{reference}`.
fn ordered(answer: &Answer) -> String {
    assert_eq!(answer.status, 303, "{}", answer.body);
    let reference = answer.location().strip_prefix("/orders/").unwrap();
    assert!(crate::shop::is_order_reference(reference), "{reference}");
    reference.to_owned()
}

#[tokio::test]
async fn a_shopper_fills_a_cart_pays_with_saifu_and_refunds_the_order() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut browser = Browser::new(&shop);

    let home = browser.get("/").await;
    home.assert_page(
        200,
        &[
            "Ceramic mug",
            "¥1,800",
            "Linen tote",
            "Pour-over kettle",
            r#"action="/cart/add""#,
        ],
    );
    assert!(browser.cookies.is_empty(), "browsing sets no cookie");

    let added = browser.post("/cart/add", &[("product", "mug")]).await;
    added.assert_see_other("/cart");
    let set_cookie = added.headers["set-cookie"].to_str().unwrap();
    assert!(set_cookie.starts_with("demo_cart="), "{set_cookie}");
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Lax"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain-HTTP shop: {set_cookie}"
    );
    browser.add("mug").await;
    browser.add("kettle").await;
    browser.add("tote").await;
    browser
        .post("/cart/remove", &[("product", "tote")])
        .await
        .assert_see_other("/cart");

    browser.get("/cart").await.assert_page(
        200,
        &[
            "Ceramic mug",
            "Pour-over kettle",
            "¥10,000",
            "Pay with Saifu (¥10,000)",
        ],
    );

    let callback = browser.checkout(&wallet).await;
    let reference = ordered(&callback);
    {
        let state = wallet.state();
        let pushed = &state.pushed_details[0];
        assert_eq!(pushed.order_reference, reference);
        assert_eq!(pushed.instructed_amount.amount, "10000");
        assert_eq!(pushed.line_items.len(), 2);
        assert_eq!(state.pay_keys, [format!("pay:{reference}")]);
    }

    let order = browser.get(&format!("/orders/{reference}")).await;
    order.assert_page(
        200,
        &[
            "Thank you for your order",
            &reference,
            "Ceramic mug",
            "Pour-over kettle",
            "¥10,000",
            "Visa ending in 4242",
            "<dt>Points earned</dt><dd>100 points</dd>",
            "<dt>Status</dt><dd>Paid</dd>",
            "Refund this order (¥10,000)",
        ],
    );
    assert!(
        !order.body.contains("Points used"),
        "no points: no breakdown"
    );
    // The cart was emptied by the payment; it links to the orders, which list this one.
    browser.get("/cart").await.assert_page(
        200,
        &[
            "Your cart is empty",
            r#"<a href="/orders">See your orders</a>"#,
        ],
    );
    browser.get("/orders").await.assert_page(
        200,
        &[
            &format!(r#"<a href="/orders/{reference}">Order {reference}</a>"#),
            r#"<span class="badge ok">Paid</span>"#,
            r#"<span class="figure">¥10,000</span>"#,
        ],
    );

    // The order page's refund is a link to a confirmation; a post without it refunds nothing.
    assert!(order.body.contains(&format!(
        r#"href="/orders/{reference}/refund">Refund this order (¥10,000)</a>"#
    )));
    let confirm = format!("/orders/{reference}/refund");
    browser.post(&confirm, &[]).await.assert_see_other(&confirm);
    browser
        .post(&confirm, &[("amount", "9999")])
        .await
        .assert_see_other(&confirm);
    assert!(
        wallet.state().refund_keys.is_empty(),
        "nothing refunded unconfirmed"
    );
    browser.get(&confirm).await.assert_page(
        200,
        &[
            "Refund this order?",
            "¥10,000 goes back to your Visa ending in 4242.",
            r#"<input type="hidden" name="amount" value="10000">"#,
            "Refund ¥10,000</button>",
        ],
    );
    browser
        .post(&confirm, &[("amount", "10000")])
        .await
        .assert_see_other(&format!("/orders/{reference}"));
    let refunded = browser.get(&format!("/orders/{reference}")).await;
    refunded.assert_page(
        200,
        &[
            "Order refunded",
            "<dt>Status</dt><dd>Refunded</dd>",
            "We refunded ¥10,000 to your Visa ending in 4242.",
        ],
    );
    assert!(!refunded.body.contains("Refund this order"));
    // A second press refunds nothing more, and the confirmation is gone.
    browser
        .post(&confirm, &[("amount", "10000")])
        .await
        .assert_see_other(&format!("/orders/{reference}"));
    browser
        .get(&confirm)
        .await
        .assert_see_other(&format!("/orders/{reference}"));
    browser
        .get("/orders")
        .await
        .assert_page(200, &[r#"<span class="badge neutral">Refunded</span>"#]);
    let payment_id = wallet.state().payments.keys().next().unwrap().clone();
    assert_eq!(
        wallet.state().refund_keys,
        [format!("refund:{payment_id}:10000")]
    );
}

#[tokio::test]
async fn pages_are_in_japanese_for_a_japanese_browser_and_the_switcher_changes_the_language() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut browser = Browser::speaking(&shop, "ja-JP,ja;q=0.9,en;q=0.5");

    let home = browser.get("/").await;
    home.assert_page(
        200,
        &[
            r#"<html lang="ja">"#,
            "<h1>ゆったりした朝のための小さな道具</h1>",
            "陶器のマグカップ",
            r#"aria-label="カートに入れる: 陶器のマグカップ""#,
            // The switcher comes back to this page.
            r#"<input type="hidden" name="next" value="/">"#,
            r#"<button type="submit" name="lang" value="ja" lang="ja" class="secondary" aria-pressed="true">日本語</button>"#,
            r#"<button type="submit" name="lang" value="en" lang="en" class="secondary" aria-pressed="false">English</button>"#,
        ],
    );
    assert_eq!(home.headers["content-language"], "ja");
    assert!(home.headers["vary"]
        .to_str()
        .unwrap()
        .contains("Accept-Language"));
    assert!(!home.body.contains("Small things"), "{}", home.body);

    browser.add("mug").await;
    browser.get("/cart").await.assert_page(
        200,
        &["<h1>カート</h1>", "単価 ¥1,800", "Saifu で支払う（¥1,800）"],
    );
    let reference = ordered(&browser.checkout(&wallet).await);
    // The wallet shows the items as the shop does.
    assert_eq!(
        wallet.state().pushed_details[0].line_items[0].name,
        "陶器のマグカップ"
    );
    let order = format!("/orders/{reference}");
    let page = browser.get(&order).await;
    page.assert_page(
        200,
        &[
            "<h1>ご注文ありがとうございます</h1>",
            "¥1,800 のお支払いが完了しました。",
            "<dt>状態</dt><dd>支払い済み</dd>",
            "<dt>お支払い方法</dt><dd>Visa（末尾 4242）</dd>",
            "<dt>獲得ポイント</dt><dd>18ポイント</dd>",
            " JST</dd>",
            &format!(r#"<input type="hidden" name="next" value="{order}">"#),
        ],
    );
    browser
        .get(&format!("{order}/refund"))
        .await
        .assert_page(200, &["この注文を返金しますか?", "¥1,800 を返金する"]);
    browser
        .get("/orders")
        .await
        .assert_page(200, &["<h1>注文履歴</h1>", "支払い済み"]);
    browser
        .get("/nowhere")
        .await
        .assert_page(404, &["ページが見つかりません"]);

    // English from the switcher: a cookie for the shop's path, then back to the same page.
    let chosen = browser
        .post("/language", &[("lang", "en"), ("next", order.as_str())])
        .await;
    chosen.assert_see_other(&order);
    let set = chosen.headers["set-cookie"].to_str().unwrap();
    assert!(set.starts_with("shop_lang=en;"), "{set}");
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Lax", "; Max-Age="] {
        assert!(set.contains(attribute), "{set}");
    }
    // The cookie wins over Accept-Language.
    let english = browser.get(&order).await;
    english.assert_page(
        200,
        &[
            r#"<html lang="en">"#,
            "Thank you for your order",
            "<dt>Status</dt><dd>Paid</dd>",
            "Ceramic mug",
        ],
    );
    assert_eq!(english.headers["content-language"], "en");
    browser
        .post("/language", &[("lang", "ja"), ("next", "/cart")])
        .await
        .assert_see_other("/cart");
    browser
        .get("/cart")
        .await
        .assert_page(200, &[r#"<html lang="ja">"#]);

    // The way back is a page of the shop, never another site; unknown languages are refused.
    for next in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "cart",
    ] {
        browser
            .post("/language", &[("lang", "en"), ("next", next)])
            .await
            .assert_see_other("/");
    }
    browser
        .post("/language", &[("lang", "fr"), ("next", "/")])
        .await
        .assert_page(400, &["Language not available"]);
    let request = browser
        .http
        .post(browser.url("/language"))
        .header("origin", "https://evil.example")
        .form(&[("lang", "ja")]);
    browser
        .send(request)
        .await
        .assert_page(403, &["Request refused"]);
}

#[tokio::test]
async fn an_order_paid_partly_with_points_shows_total_minus_points_equals_card_everywhere() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut browser = Browser::new(&shop);
    browser.add("mug").await;
    // The shopper spent 64 points at the wallet: the card paid ¥1,736 of the ¥1,800.
    wallet.state().pay_answers.push_back((
        201,
        serde_json::json!({
            "id": "pay_points", "status": "captured", "amount": "1800",
            "captured_amount": "1800", "refunded_amount": "0", "currency": "JPY",
            "order_reference": "", "card": {"brand": "visa", "last4": "4242"},
            "points_earned": 17, "points_redeemed": 64,
            "created_at": "2026-11-29T21:40:00Z",
        }),
    ));
    let reference = ordered(&browser.checkout(&wallet).await);
    let order = format!("/orders/{reference}");
    browser.get(&order).await.assert_page(
        200,
        &[
            "Your payment of ¥1,800 went through.",
            r#"<tr><th scope="row">Total</th><td class="num">¥1,800</td></tr>"#,
            r#"<tr><th scope="row">Points used (64 points)</th><td class="num">−¥64</td></tr>"#,
            r#"<tr><th scope="row">Charged to your card</th><td class="num total">¥1,736</td></tr>"#,
            "<dt>Points earned</dt><dd>17 points</dd>",
        ],
    );
    browser.get("/orders").await.assert_page(
        200,
        &[r#"<span class="figure">¥1,800</span> <span class="split">(¥1,736 by card + 64 points)</span>"#],
    );
    browser.get(&format!("{order}/refund")).await.assert_page(
        200,
        &[
            "<li>¥1,736 goes back to your Visa ending in 4242.</li>",
            "<li>64 points go back to your Saifu wallet.</li>",
            "<li>The 17 points this order earned are taken back from your Saifu wallet.</li>",
        ],
    );
    let mut japanese = Browser::speaking(&shop, "ja");
    japanese.cookies = browser.cookies.clone();
    japanese.get(&order).await.assert_page(
        200,
        &[
            r#"<tr><th scope="row">合計</th><td class="num">¥1,800</td></tr>"#,
            r#"<tr><th scope="row">ポイント利用（64ポイント）</th><td class="num">−¥64</td></tr>"#,
            r#"<tr><th scope="row">カードへの請求額</th><td class="num total">¥1,736</td></tr>"#,
        ],
    );
}

#[tokio::test]
async fn cancelling_at_the_wallet_shows_a_cancelled_page_and_keeps_the_cart() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut browser = Browser::new(&shop);
    browser.add("tote").await;
    wallet.state().deny = true;

    browser
        .checkout(&wallet)
        .await
        .assert_page(200, &["Payment cancelled", "nothing was charged"]);
    assert!(wallet.state().pay_keys.is_empty());
    browser
        .get("/cart")
        .await
        .assert_page(200, &["Linen tote", "Pay with Saifu (¥3,200)"]);
}

#[tokio::test]
async fn a_declined_card_shows_the_decline_code_in_a_sentence_and_keeps_the_cart() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut browser = Browser::new(&shop);
    browser.add("kettle").await;
    wallet.state().pay_answers.push_back((
        402,
        serde_json::json!({
            "type": "urn:saifu:problem:card_declined", "title": "Payment Required", "status": 402,
            "code": "card_declined", "decline_code": "insufficient_funds",
        }),
    ));

    let reference = ordered(&browser.checkout(&wallet).await);
    let order = browser.get(&format!("/orders/{reference}")).await;
    order.assert_page(
        200,
        &[
            "Payment declined",
            "Your card was declined: the card does not have enough funds.",
        ],
    );
    assert!(!order.body.contains("Try the payment again"));
    browser
        .get("/cart")
        .await
        .assert_page(200, &["Pour-over kettle", "Pay with Saifu (¥6,400)"]);
}

#[tokio::test]
async fn after_a_card_network_failure_try_again_pays_the_kept_grant_with_the_same_key() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut browser = Browser::new(&shop);
    browser.add("mug").await;
    wallet.state().pay_answers.push_back((
        502,
        serde_json::json!({
            "type": "urn:saifu:problem:processor_error", "title": "Bad Gateway", "status": 502,
            "code": "processor_error",
        }),
    ));

    let reference = ordered(&browser.checkout(&wallet).await);
    let order = browser.get(&format!("/orders/{reference}")).await;
    order.assert_page(
        200,
        &[
            "Payment not completed",
            "Saifu could not complete the payment just now. Nothing has been charged. Please try again.",
            &format!(r#"action="/orders/{reference}/pay""#),
            "Try the payment again",
        ],
    );
    browser
        .get("/cart")
        .await
        .assert_page(200, &["Ceramic mug"]);
    browser
        .get("/orders")
        .await
        .assert_page(200, &[r#"<span class="badge bad">Not paid yet</span>"#]);

    browser
        .post(&format!("/orders/{reference}/pay"), &[])
        .await
        .assert_see_other(&format!("/orders/{reference}"));
    browser
        .get(&format!("/orders/{reference}"))
        .await
        .assert_page(200, &["Thank you for your order", "<dd>Paid</dd>"]);
    let key = format!("pay:{reference}");
    assert_eq!(wallet.state().pay_keys, [key.clone(), key]);
    browser
        .get("/cart")
        .await
        .assert_page(200, &["Your cart is empty"]);
}

#[tokio::test]
async fn orders_are_not_found_by_other_browsers_and_cannot_be_refunded_by_them() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut shopper = Browser::new(&shop);
    shopper.add("mug").await;
    let reference = ordered(&shopper.checkout(&wallet).await);

    let mut stranger = Browser::new(&shop);
    stranger.add("tote").await;
    let order = format!("/orders/{reference}");
    stranger
        .get(&order)
        .await
        .assert_page(404, &["Page not found"]);
    stranger
        .post(&format!("{order}/refund"), &[])
        .await
        .assert_page(404, &["Page not found"]);
    Browser::new(&shop).get(&order).await.assert_page(404, &[]);
    assert!(wallet.state().refund_keys.is_empty());
    shopper
        .get("/orders/DEMO-0000000000AB")
        .await
        .assert_page(404, &[]);
    shopper
        .get("/nowhere")
        .await
        .assert_page(404, &["Page not found"]);
}

#[tokio::test]
async fn a_callback_is_used_once_and_only_in_the_browser_that_started_the_checkout() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut browser = Browser::new(&shop);
    browser.add("mug").await;
    let started = browser.post("/checkout", &[]).await;
    let consent = browser.get(started.location()).await;
    let callback = consent.location().to_owned();

    // Another browser (a login-CSRF style injection of someone else's code) is refused.
    let mut other = Browser::new(&shop);
    other.add("mug").await;
    other
        .get(&callback)
        .await
        .assert_page(400, &["No checkout in progress"]);
    // A forged answer with another state is refused, and uses the pending checkout up.
    let mut forged = Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                "forged".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    browser.get(forged.as_str()).await.assert_page(
        400,
        &["Checkout not completed", "does not belong to the checkout"],
    );
    browser
        .get(&callback)
        .await
        .assert_page(400, &["No checkout in progress"]);
    assert!(wallet.state().pay_keys.is_empty());
    browser
        .get("/cart")
        .await
        .assert_page(200, &["Ceramic mug"]);
}

#[tokio::test]
async fn carts_are_checked_and_cross_site_posts_are_refused() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut browser = Browser::new(&shop);

    // Nothing to pay: back to the cart, without a call to the wallet.
    browser
        .post("/checkout", &[])
        .await
        .assert_see_other("/cart");
    browser
        .post("/cart/add", &[("product", "teapot")])
        .await
        .assert_page(400, &["Unknown product"]);
    browser
        .post("/cart/add", &[])
        .await
        .assert_page(400, &["Unknown product"]);
    for _ in 0..10 {
        browser.add("mug").await;
    }
    browser
        .post("/cart/add", &[("product", "mug")])
        .await
        .assert_page(422, &["at most 10 of each product"]);
    browser.post("/checkout", &[]).await;
    assert!(wallet.state().pushed_details.len() == 1);

    let own_origin = shop.origin().ascii_serialization();
    for origin in ["https://evil.example", "null"] {
        let request = browser
            .http
            .post(browser.url("/cart/remove"))
            .header("origin", origin)
            .form(&[("product", "mug")]);
        browser
            .send(request)
            .await
            .assert_page(403, &["Request refused", &own_origin]);
    }
    // Every form of the shop refuses it, before looking at what was posted.
    for path in [
        "/cart/add",
        "/checkout",
        "/orders/o_1/pay",
        "/orders/o_1/refund",
    ] {
        let request = browser
            .http
            .post(browser.url(path))
            .header("origin", "https://evil.example")
            .form(&[("product", "mug")]);
        browser
            .send(request)
            .await
            .assert_page(403, &["Request refused"]);
    }
    browser.get("/cart").await.assert_page(200, &["¥18,000"]);
    let request = browser
        .http
        .post(browser.url("/cart/remove"))
        .header("origin", &own_origin)
        .form(&[("product", "mug")]);
    browser.send(request).await.assert_see_other("/cart");
    browser
        .get("/cart")
        .await
        .assert_page(200, &["Your cart is empty"]);
}

#[tokio::test]
async fn pages_forbid_framing_and_scripts_and_only_post_to_the_shop_and_the_wallet() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut browser = Browser::new(&shop);
    let page = browser.get("/").await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert_eq!(
        csp,
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self' {}; frame-ancestors 'none'; base-uri 'none'",
            wallet.base.origin().ascii_serialization()
        )
    );
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["referrer-policy"], "same-origin");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // One script, the shop's own file: nothing inline.
    assert_eq!(page.body.matches("<script").count(), 1, "{}", page.body);
    assert!(page
        .body
        .contains(r#"<script src="/zone.js" defer></script>"#));
    let script = browser.get("/zone.js").await;
    assert_eq!(script.status, 200);
    assert!(script.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script.body.contains("resolvedOptions().timeZone"));

    let css = browser.get("/style.css").await;
    assert_eq!(css.status, 200);
    assert!(css.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(css.body.contains(".visually-hidden"));
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The payment the fake wallet made, with the order reference the real wallet fills in.
fn payment_of(wallet: &Wallet, reference: &str) -> Payment {
    let mut payment = wallet.state().payments.values().next().unwrap().clone();
    payment.order_reference = reference.to_owned();
    payment
}

fn payment_event(id: &str, kind: EventType, payment: &Payment) -> Vec<u8> {
    serde_json::to_vec(&Event {
        id: id.into(),
        event_type: kind.as_str().into(),
        timestamp: "2025-06-15T15:06:40Z".into(),
        data: serde_json::to_value(payment).unwrap(),
    })
    .unwrap()
}

/// Delivers `body` as the wallet does, signed with `secrets` now; the shop's answer's status.
async fn deliver(shop: &Url, id: &str, body: &[u8], secrets: &[WebhookSecret]) -> u16 {
    let now = unix_now();
    reqwest::Client::new()
        .post(shop.join("/webhooks/saifu").unwrap())
        .header(WEBHOOK_ID, id)
        .header(WEBHOOK_TIMESTAMP, now.to_string())
        .header(WEBHOOK_SIGNATURE, signature_header(secrets, id, now, body))
        .header("content-type", "application/json")
        // Not a browser's post: another origin is no reason to refuse it.
        .header("origin", "https://wallet.example")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

const CONFIRMED: &str = "Payment confirmed by your Saifu wallet.";
const AWAITING: &str = "Waiting for your Saifu wallet to confirm the payment.";

/// A shop taking webhooks, and an order paid there.
async fn paid_order(secret: &WebhookSecret) -> (Fake, Url, Browser, String) {
    let wallet = start_wallet().await;
    let shop = start_shop_with(&wallet, Some(secret)).await;
    let mut browser = Browser::new(&shop);
    browser.add("mug").await;
    let reference = ordered(&browser.checkout(&wallet).await);
    (wallet, shop, browser, reference)
}

#[tokio::test]
async fn a_signed_payment_captured_webhook_confirms_the_order_and_its_page_says_so() {
    let secret = WebhookSecret::generate();
    let (wallet, shop, mut browser, reference) = paid_order(&secret).await;
    let page = format!("/orders/{reference}");
    let before = browser.get(&page).await;
    before.assert_page(
        200,
        &[
            "Thank you for your order",
            "<dt>Status</dt><dd>Paid</dd>",
            AWAITING,
        ],
    );
    assert!(!before.body.contains(CONFIRMED));

    let captured = payment_event(
        "evt_captured",
        EventType::PaymentCaptured,
        &payment_of(&wallet, &reference),
    );
    assert_eq!(
        deliver(&shop, "evt_captured", &captured, &[secret]).await,
        204
    );

    let after = browser.get(&page).await;
    after.assert_page(
        200,
        &[
            "Thank you for your order",
            "<dt>Status</dt><dd>Paid</dd>",
            "Refund this order (¥1,800)</a>",
            CONFIRMED,
        ],
    );
    assert!(!after.body.contains(AWAITING));
}

#[tokio::test]
async fn a_refund_made_elsewhere_shows_on_the_order_from_a_webhook_signed_during_rotation() {
    let secret = WebhookSecret::generate();
    let (wallet, shop, mut browser, reference) = paid_order(&secret).await;
    let mut payment = payment_of(&wallet, &reference);
    payment.refunded_amount = "1800".into();
    let refunded = payment_event("evt_refunded", EventType::PaymentRefunded, &payment);
    // The wallet signs with the new secret and with this one, which the shop still has.
    let signed_by = [WebhookSecret::generate(), secret];
    assert_eq!(
        deliver(&shop, "evt_refunded", &refunded, &signed_by).await,
        204
    );

    let order = browser.get(&format!("/orders/{reference}")).await;
    order.assert_page(
        200,
        &[
            "Order refunded",
            "<dt>Status</dt><dd>Refunded</dd>",
            "We refunded ¥1,800 to your Visa ending in 4242.",
        ],
    );
    assert!(!order.body.contains("Refund this order"));
    assert!(wallet.state().refund_keys.is_empty());
}

#[tokio::test]
async fn a_webhook_that_does_not_verify_is_refused_and_changes_nothing() {
    let secret = WebhookSecret::generate();
    let (wallet, shop, mut browser, reference) = paid_order(&secret).await;
    let captured = payment_event(
        "evt_captured",
        EventType::PaymentCaptured,
        &payment_of(&wallet, &reference),
    );

    let wrong_secret = [WebhookSecret::generate()];
    assert_eq!(
        deliver(&shop, "evt_captured", &captured, &wrong_secret).await,
        400
    );
    // Signed for another body than the one sent.
    let now = unix_now();
    let signature = secret.sign("evt_captured", now, b"{}");
    let status = reqwest::Client::new()
        .post(shop.join("/webhooks/saifu").unwrap())
        .header(WEBHOOK_ID, "evt_captured")
        .header(WEBHOOK_TIMESTAMP, now.to_string())
        .header(WEBHOOK_SIGNATURE, signature)
        .body(captured.clone())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 400);
    let unsigned = reqwest::Client::new()
        .post(shop.join("/webhooks/saifu").unwrap())
        .body(captured.clone())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(unsigned, 400);

    browser
        .get(&format!("/orders/{reference}"))
        .await
        .assert_page(200, &[AWAITING]);
    // The refused deliveries did not use the event id up.
    assert_eq!(
        deliver(&shop, "evt_captured", &captured, &[secret]).await,
        204
    );
    browser
        .get(&format!("/orders/{reference}"))
        .await
        .assert_page(200, &[CONFIRMED]);
}

#[tokio::test]
async fn a_redelivered_event_id_is_acknowledged_but_applied_once() {
    let secret = WebhookSecret::generate();
    let (wallet, shop, mut browser, reference) = paid_order(&secret).await;
    let mut payment = payment_of(&wallet, &reference);
    let captured = payment_event("evt_1", EventType::PaymentCaptured, &payment);
    let secrets = [secret];
    assert_eq!(deliver(&shop, "evt_1", &captured, &secrets).await, 204);
    assert_eq!(deliver(&shop, "evt_1", &captured, &secrets).await, 204);

    // Whatever else is sent under an id already applied is not applied.
    payment.refunded_amount = "1800".into();
    let refund_as_evt_1 = payment_event("evt_1", EventType::PaymentRefunded, &payment);
    assert_eq!(
        deliver(&shop, "evt_1", &refund_as_evt_1, &secrets).await,
        204
    );
    let page = format!("/orders/{reference}");
    browser.get(&page).await.assert_page(
        200,
        &[
            CONFIRMED,
            "<dt>Status</dt><dd>Paid</dd>",
            "Refund this order (¥1,800)</a>",
        ],
    );

    let refunded = payment_event("evt_2", EventType::PaymentRefunded, &payment);
    assert_eq!(deliver(&shop, "evt_2", &refunded, &secrets).await, 204);
    browser
        .get(&page)
        .await
        .assert_page(200, &["<dt>Status</dt><dd>Refunded</dd>"]);
}

#[tokio::test]
async fn when_the_payment_answer_was_lost_the_captured_webhook_marks_the_order_paid() {
    let secret = WebhookSecret::generate();
    let wallet = start_wallet().await;
    let shop = start_shop_with(&wallet, Some(&secret)).await;
    let mut browser = Browser::new(&shop);
    browser.add("mug").await;
    wallet.state().pay_answers.push_back((
        502,
        serde_json::json!({
            "type": "urn:saifu:problem:processor_error", "title": "Bad Gateway", "status": 502,
            "code": "processor_error",
        }),
    ));
    let reference = ordered(&browser.checkout(&wallet).await);
    let page = format!("/orders/{reference}");
    browser
        .get(&page)
        .await
        .assert_page(200, &["Payment not completed", "Try the payment again"]);

    // The wallet did capture, and says so.
    let payment = Payment {
        id: "pay_lost".into(),
        status: "captured".into(),
        amount: "1800".into(),
        captured_amount: "1800".into(),
        refunded_amount: "0".into(),
        currency: "JPY".into(),
        order_reference: reference.clone(),
        card: CardSummary {
            brand: "visa".into(),
            last4: "4242".into(),
        },
        points_earned: 18,
        points_redeemed: 0,
        created_at: "2025-01-01T00:00:00Z".into(),
    };
    let captured = payment_event("evt_lost", EventType::PaymentCaptured, &payment);
    assert_eq!(deliver(&shop, "evt_lost", &captured, &[secret]).await, 204);

    browser.get(&page).await.assert_page(
        200,
        &[
            "Thank you for your order",
            "<dt>Status</dt><dd>Paid</dd>",
            CONFIRMED,
        ],
    );
    browser
        .get("/cart")
        .await
        .assert_page(200, &["Your cart is empty"]);
    // "Try again" no longer pays: the order is paid.
    browser
        .post(&format!("{page}/pay"), &[])
        .await
        .assert_see_other(&page);
    assert_eq!(wallet.state().pay_keys.len(), 1);
}

#[tokio::test]
async fn without_a_webhook_secret_the_webhook_route_is_not_found() {
    let wallet = start_wallet().await;
    let shop = start_shop(&wallet).await;
    let mut browser = Browser::new(&shop);
    browser.add("mug").await;
    let reference = ordered(&browser.checkout(&wallet).await);
    let secret = WebhookSecret::generate();
    let captured = payment_event(
        "evt_1",
        EventType::PaymentCaptured,
        &payment_of(&wallet, &reference),
    );
    assert_eq!(deliver(&shop, "evt_1", &captured, &[secret]).await, 404);

    let order = browser.get(&format!("/orders/{reference}")).await;
    order.assert_page(200, &["Thank you for your order"]);
    assert!(!order.body.contains(AWAITING) && !order.body.contains(CONFIRMED));
}
