//! The shared checkout fixtures: a merchant registered in the wallet and its SDK client, the
//! `Shopper` (a signed-in browser with a passkey and two test cards) and the consent steps it
//! takes to pay, with or without points.

use reqwest::{Response, StatusCode};
use saifu::audit::Actor;
use saifu::clock::unix_now;
use saifu::merchants::{parse_redirect_uri, MerchantStatus, NewMerchant, StatusReason};
use saifu_sdk::checkout::{Amount, MerchantCredentials, PaymentDetails};
use saifu_sdk::{MerchantConfig, PendingCheckout, SaifuClient};
use serde_json::{json, Value};
use url::Url;
use webauthn_rs_proto::RequestChallengeResponse;

use super::{count_rows, Browser, TestApp, TestPasskey};

pub const CALLBACK: &str = "http://localhost:3000/callback";

/// A merchant as the tests register it: `CALLBACK` as its only redirect URI, a domain made
/// from its name, no webhook.
pub fn new_merchant(name: &str, verified: bool) -> NewMerchant {
    NewMerchant {
        name: name.into(),
        redirect_uris: vec![parse_redirect_uri(CALLBACK).unwrap()],
        webhook_url: None,
        domain: Some(format!("{}.example", name.to_lowercase().replace(' ', "-"))),
        verified,
    }
}

/// Registers `merchant` in the wallet, as the CLI would; returns its credentials.
pub async fn create_merchant(app: &TestApp, merchant: NewMerchant) -> MerchantCredentials {
    app.state
        .checkout
        .merchants
        .create(merchant, unix_now(), &Actor::Cli)
        .await
        .unwrap()
}

pub async fn merchant(app: &TestApp, name: &str, verified: bool) -> MerchantCredentials {
    create_merchant(app, new_merchant(name, verified)).await
}

/// Verifies, suspends or reinstates a merchant, as the CLI would (with a reason).
pub async fn set_merchant_status(app: &TestApp, client_id: &str, status: MerchantStatus) {
    let reason = StatusReason::parse("set by the tests").unwrap();
    app.state
        .checkout
        .merchants
        .set_status(client_id, status, Some(reason), &Actor::Cli, unix_now())
        .await
        .unwrap();
}

pub async fn sdk(app: &TestApp, creds: &MerchantCredentials) -> SaifuClient {
    let config = MerchantConfig::new(
        app.base.clone(),
        creds.client_id.clone(),
        creds.client_secret.clone(),
        Url::parse(CALLBACK).unwrap(),
    );
    SaifuClient::discover(config).await.expect("discovery")
}

/// The merchant's SDK with its requests reaching `node`, one of several that share an issuer.
pub async fn sdk_on(node: &TestApp, creds: &MerchantCredentials) -> SaifuClient {
    let config = MerchantConfig::new(
        node.base.clone(),
        creds.client_id.clone(),
        creds.client_secret.clone(),
        Url::parse(CALLBACK).unwrap(),
    );
    let http = node
        .routed()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    SaifuClient::discover_with(http, config)
        .await
        .expect("discovery")
}

pub fn frames() -> PaymentDetails {
    PaymentDetails::new("JPY", "12800", "A-1001").with_item("Frames", 1, "12800")
}

/// A shopper with a passkey and the Visa test card, signed in.
pub struct Shopper {
    pub browser: Browser,
    pub key: TestPasskey,
    pub origin: Url,
}

pub async fn shopper(app: &TestApp, email: &str) -> Shopper {
    let browser = app.browser();
    let mut key = TestPasskey::new();
    let r = browser
        .sign_up(&mut key, &app.origin(), "Mika", email)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    for number in ["4242424242424242", "5555555555554444"] {
        let added = browser
            .post_form(
                "/cards",
                &[
                    ("number", number),
                    ("expiry", "12/39"),
                    ("cvc", "123"),
                    ("holder", "Mika Sato"),
                ],
            )
            .await;
        assert_eq!(added.status(), StatusCode::SEE_OTHER);
    }
    Shopper {
        browser,
        key,
        origin: app.origin(),
    }
}

/// Follows the authorization URL to the consent page; returns the consent path.
pub async fn open_consent(browser: &Browser, authorization_url: &Url) -> String {
    let r = browser
        .http
        .get(authorization_url.clone())
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    r.headers()["location"].to_str().unwrap().to_string()
}

/// The card ids offered on the consent page, in order.
pub async fn offered_cards(browser: &Browser, consent: &str) -> Vec<String> {
    let html = browser.html(consent).await;
    super::offered_card_ids(&html)
}

impl Shopper {
    /// Starts the passkey confirmation of `card`, with no points.
    pub async fn begin(&self, consent: &str, card: &str) -> RequestChallengeResponse {
        self.begin_with(consent, card, 0).await
    }

    async fn begin_with(&self, consent: &str, card: &str, points: i64) -> RequestChallengeResponse {
        let r = self
            .browser
            .post_json(
                &format!("{consent}/begin"),
                &json!({ "card_id": card, "points": points }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        r.json().await.unwrap()
    }

    /// Sends the signed confirmation of `card`, with no points.
    pub async fn approve(&self, consent: &str, card: &str, assertion: &Value) -> Response {
        self.approve_with(consent, card, 0, assertion).await
    }

    /// Sends the signed confirmation of `card` and checks it was refused before the card was
    /// asked for anything: back to the consent page, no new code (`codes` in all), the
    /// ceremony used up, no card authorization beyond `authorizations`. Gives the consent
    /// page, which says why.
    pub async fn approve_refused(
        &self,
        app: &TestApp,
        consent: &str,
        card: &str,
        assertion: &Value,
        (codes, authorizations): (i64, i64),
        code: &str,
    ) -> String {
        let r = self.approve(consent, card, assertion).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{code}");
        assert_eq!(r.headers()["location"].to_str().unwrap(), consent, "{code}");
        assert_eq!(count_rows(app, "auth_codes").await, codes, "{code}");
        assert_eq!(count_rows(app, "ceremonies").await, 0, "{code}: used up");
        assert_eq!(
            count_rows(app, "approval_authorizations").await,
            authorizations,
            "{code}: refused before the card is asked"
        );
        self.browser.html(consent).await
    }

    async fn approve_with(
        &self,
        consent: &str,
        card: &str,
        points: i64,
        assertion: &Value,
    ) -> Response {
        self.browser
            .post_form(
                &format!("{consent}/approve"),
                &[
                    ("card_id", card),
                    ("points", &points.to_string()),
                    ("credential", &assertion.to_string()),
                ],
            )
            .await
    }

    /// Starts a one-touch payment of `consent` and signs it with the passkey; gives the
    /// signed answer.
    pub async fn one_touch_assertion(&mut self, consent: &str) -> Value {
        let r = self
            .browser
            .post_json(&format!("{consent}/one-touch/begin"), &json!({}))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let options = serde_json::from_value(r.json::<Value>().await.unwrap()).unwrap();
        serde_json::to_value(self.key.assert(&self.origin, options).unwrap()).unwrap()
    }

    /// Pays `consent` with one touch; gives the wallet's answer.
    pub async fn one_touch(&mut self, consent: &str) -> Response {
        let assertion = self.one_touch_assertion(consent).await;
        self.browser
            .post_form(
                &format!("{consent}/one-touch"),
                &[("credential", &assertion.to_string())],
            )
            .await
    }

    /// Confirms the payment with the passkey; returns the wallet's redirect.
    pub async fn pay(&mut self, authorization_url: &Url) -> Url {
        self.pay_with(authorization_url, 0).await
    }

    /// Confirms the payment with the passkey, spending `points`; returns the wallet's redirect.
    pub async fn pay_with(&mut self, authorization_url: &Url, points: i64) -> Url {
        let consent = open_consent(&self.browser, authorization_url).await;
        self.confirm(&consent, points).await
    }

    /// On an open consent page: picks the first card offered, spends `points`, signs with the
    /// passkey and approves; returns the wallet's redirect.
    pub async fn confirm(&mut self, consent: &str, points: i64) -> Url {
        let card = offered_cards(&self.browser, consent).await.remove(0);
        let options = self.begin_with(consent, &card, points).await;
        let assertion =
            serde_json::to_value(self.key.assert(&self.origin, options).unwrap()).unwrap();
        let r = self.approve_with(consent, &card, points, &assertion).await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "{}",
            r.text().await.unwrap()
        );
        Url::parse(r.headers()["location"].to_str().unwrap()).unwrap()
    }
}

pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Starts a checkout and pays it; returns the callback and what the merchant kept.
pub async fn paid(merchant: &SaifuClient, shopper: &mut Shopper) -> (Url, PendingCheckout) {
    let (url, pending) = merchant.start_checkout(&frames()).await.unwrap();
    (shopper.pay(&url).await, pending)
}

/// `amount` yen, in the API's amount shape.
pub fn jpy(amount: &str) -> Amount {
    Amount::new("JPY", amount)
}

/// A payment grant for `frames()`: a checkout the shopper paid, exchanged by the merchant.
pub async fn grant(client: &SaifuClient, shopper: &mut Shopper) -> String {
    let (callback, pending) = paid(client, shopper).await;
    client
        .complete_checkout(&callback, &pending)
        .await
        .unwrap()
        .token
}

/// An SDK error's status, code and decline code; panics on anything but a problem answer.
pub fn problem(err: saifu_sdk::Error) -> (u16, String, Option<String>) {
    match err {
        saifu_sdk::Error::Problem {
            status,
            code,
            decline_code,
            ..
        } => (status, code, decline_code),
        other => panic!("expected a problem, got {other:?}"),
    }
}
