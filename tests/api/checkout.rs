//! The checkout flow end to end, with the Rust SDK as the merchant, soft passkeys as the
//! shopper and a cookie-keeping client as the browser; and every attack the contract lists,
//! each refused with the right error and without a code or a grant.

use reqwest::StatusCode;
use saifu::clock::unix_now;
use saifu::config::Config;
use saifu::merchants::{parse_redirect_uri, MerchantStatus, NewMerchant};
use saifu_sdk::checkout::{MerchantCredentials, OAuthErrorBody, PaymentDetails};
use saifu_sdk::{Error as SdkError, MerchantConfig, PendingCheckout, SaifuClient};
use serde_json::{json, Value};
use url::Url;

use crate::helpers::{count_rows, spawn_app, spawn_app_with, Browser, TestApp, TestPasskey};

pub const CALLBACK: &str = "http://localhost:3000/callback";

pub async fn merchant(app: &TestApp, name: &str, verified: bool) -> MerchantCredentials {
    app.state
        .checkout
        .merchants
        .create(
            NewMerchant {
                name: name.into(),
                redirect_uris: vec![parse_redirect_uri(CALLBACK).unwrap()],
                webhook_url: None,
                domain: Some(format!("{}.example", name.to_lowercase().replace(' ', "-"))),
                verified,
            },
            unix_now(),
        )
        .await
        .unwrap()
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
async fn offered_cards(browser: &Browser, consent: &str) -> Vec<String> {
    let html = browser.get_html(consent).await.text().await.unwrap();
    html.match_indices("name=\"card_id\" id=\"card-")
        .map(|(i, m)| html[i + m.len()..i + m.len() + 36].to_string())
        .collect()
}

impl Shopper {
    async fn begin(
        &self,
        consent: &str,
        card: &str,
    ) -> webauthn_rs_proto::RequestChallengeResponse {
        let r = self
            .browser
            .post_json(
                &format!("{consent}/begin"),
                &json!({ "card_id": card, "points": 0 }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        r.json().await.unwrap()
    }

    async fn approve(&self, consent: &str, card: &str, assertion: &Value) -> reqwest::Response {
        self.browser
            .post_form(
                &format!("{consent}/approve"),
                &[
                    ("card_id", card),
                    ("points", "0"),
                    ("credential", &assertion.to_string()),
                ],
            )
            .await
    }

    /// Confirms the payment with the passkey; returns the wallet's redirect.
    pub async fn pay(&mut self, authorization_url: &Url) -> Url {
        let consent = open_consent(&self.browser, authorization_url).await;
        let card = offered_cards(&self.browser, &consent).await.remove(0);
        let options = self.begin(&consent, &card).await;
        let assertion =
            serde_json::to_value(self.key.assert(&self.origin, options).unwrap()).unwrap();
        let r = self.approve(&consent, &card, &assertion).await;
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

#[tokio::test]
async fn a_cli_registered_merchant_gets_a_verified_one_time_grant_through_the_sdk() {
    let app = spawn_app().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_saifu"))
        .args([
            "merchant",
            "create",
            "--name",
            "Frame Shop",
            "--redirect-uri",
            CALLBACK,
            "--domain",
            "frame-shop.example",
            "--verified",
            "--json",
        ])
        .env_clear()
        .env("SAIFU_DATA_DIR", app.data_dir())
        .env("SAIFU_DATABASE_URL", &app.database_url)
        .env("SAIFU_ISSUER", app.base.as_str())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let printed: Value =
        serde_json::from_str(stdout.trim()).expect("exactly one JSON object on stdout");
    assert_eq!(printed.as_object().unwrap().len(), 3, "{stdout}");
    let creds: MerchantCredentials = serde_json::from_value(printed).unwrap();
    assert!(creds.webhook_secret.starts_with("whsec_"));

    let merchant = sdk(&app, &creds).await;
    let (authorization_url, pending) = merchant.start_checkout(&frames()).await.unwrap();
    assert!(authorization_url
        .as_str()
        .starts_with(&format!("{}oauth/authorize?", app.base)));

    let mut shopper = shopper(&app, "mika@example.com").await;
    let consent = open_consent(&shopper.browser, &authorization_url).await;
    let page = shopper
        .browser
        .get_html(&consent)
        .await
        .text()
        .await
        .unwrap();
    for shown in [
        "Frame Shop",
        "frame-shop.example",
        "Verified by Saifu",
        "Frames",
        "¥12,800",
        "Pay ¥12,800",
        "Visa",
        "•••• 4242",
    ] {
        assert!(page.contains(shown), "consent page shows {shown}");
    }
    let card = offered_cards(&shopper.browser, &consent).await.remove(0);
    let options = shopper.begin(&consent, &card).await;
    let assertion =
        serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
    let r = shopper.approve(&consent, &card, &assertion).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let callback = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(callback.as_str().starts_with(CALLBACK));
    assert_eq!(
        param(&callback, "state").as_deref(),
        Some(pending.state.as_str())
    );
    assert_eq!(param(&callback, "iss").as_deref(), Some(app.base.as_str()));

    let grant = merchant
        .complete_checkout(&callback, &pending)
        .await
        .expect("grant");
    let claims = merchant
        .verify_grant(&grant.token)
        .await
        .expect("verifies against the JWKS");
    assert_eq!(claims.client_id, creds.client_id);
    assert_eq!(claims.iss, app.base.as_str());
    assert_eq!(
        claims.aud,
        format!("{}/v1/payments", app.base.origin().ascii_serialization())
    );
    assert!(claims.exp - claims.iat <= 600 && claims.exp > unix_now());
    assert_eq!(claims.authorization_details, vec![frames()]);
    assert_eq!(grant.authorization_details, vec![frames()]);
    let header = jsonwebtoken::decode_header(&grant.token).unwrap();
    assert_eq!(
        (header.alg, header.typ.as_deref()),
        (jsonwebtoken::Algorithm::ES256, Some("at+jwt"))
    );
    let stored = app
        .state
        .store
        .find_grant(&claims.jti)
        .await
        .unwrap()
        .expect("grant recorded");
    assert_eq!(stored.card_id, card);
    assert!(stored.revoked_at.is_none());

    // The subject is pairwise: stable at one merchant, different at another.
    let (url2, pending2) = merchant.start_checkout(&frames()).await.unwrap();
    let again = merchant
        .complete_checkout(&shopper.pay(&url2).await, &pending2)
        .await
        .unwrap();
    assert_eq!(again.claims.sub, claims.sub);
    let other_creds = merchant_named(&app, "Tea House").await;
    let other = sdk(&app, &other_creds).await;
    let (url3, pending3) = other.start_checkout(&frames()).await.unwrap();
    let elsewhere = other
        .complete_checkout(&shopper.pay(&url3).await, &pending3)
        .await
        .unwrap();
    assert_ne!(elsewhere.claims.sub, claims.sub);
}

async fn merchant_named(app: &TestApp, name: &str) -> MerchantCredentials {
    merchant(app, name, true).await
}

#[tokio::test]
async fn discovery_advertises_what_the_contract_requires() {
    let app = spawn_app().await;
    let meta: Value = reqwest::get(
        app.base
            .join("/.well-known/oauth-authorization-server")
            .unwrap(),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(meta["issuer"], app.base.as_str());
    assert_eq!(meta["require_pushed_authorization_requests"], true);
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        meta["authorization_details_types_supported"],
        json!(["payment"])
    );
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert!(meta["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("client_secret_basic")));
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "pushed_authorization_request_endpoint",
        "jwks_uri",
    ] {
        assert!(
            meta[endpoint]
                .as_str()
                .unwrap()
                .starts_with(app.base.as_str()),
            "{endpoint}"
        );
    }
    let jwks: Value = reqwest::get(meta["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    assert!(key.get("d").is_none(), "no private part");
}

/// A raw PAR call, for the refusals the SDK would never make.
struct RawPar {
    http: reqwest::Client,
    url: Url,
    creds: MerchantCredentials,
}

impl RawPar {
    fn new(app: &TestApp, creds: &MerchantCredentials) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: app.base.join("/oauth/par").unwrap(),
            creds: creds.clone(),
        }
    }

    fn good(&self) -> Vec<(String, String)> {
        [
            ("response_type", "code"),
            ("client_id", self.creds.client_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("state", "s-123"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(std::iter::once((
            "authorization_details".to_string(),
            serde_json::to_string(&[frames()]).unwrap(),
        )))
        .collect()
    }

    async fn send(
        &self,
        form: &[(String, String)],
        secret: Option<&str>,
    ) -> (StatusCode, Option<String>, Value) {
        let mut request = self.http.post(self.url.clone()).form(form);
        if let Some(secret) = secret {
            request = request.basic_auth(&self.creds.client_id, Some(secret));
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        let www = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        (status, www, r.json().await.unwrap())
    }

    async fn with(&self, key: &str, value: Option<&str>) -> (StatusCode, Value) {
        let mut form: Vec<_> = self.good().into_iter().filter(|(k, _)| k != key).collect();
        if let Some(v) = value {
            form.push((key.to_string(), v.to_string()));
        }
        let (status, _, body) = self.send(&form, Some(&self.creds.client_secret)).await;
        (status, body)
    }
}

fn details(currency: &str, amount: &str, items: Value, kind: &str) -> String {
    json!([{ "type": kind, "instructed_amount": { "currency": currency, "amount": amount }, "order_reference": "A-1", "line_items": items }]).to_string()
}

#[tokio::test]
async fn pushed_requests_are_refused_for_every_flaw_without_a_request_uri() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let par = RawPar::new(&app, &creds);

    let (status, _, ok) = par.send(&par.good(), Some(&creds.client_secret)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(ok["request_uri"]
        .as_str()
        .unwrap()
        .starts_with("urn:ietf:params:oauth:request_uri:"));
    assert!(ok["expires_in"].as_u64().unwrap() <= 600);

    let (status, www, body) = par.send(&par.good(), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "no client authentication"
    );
    assert_eq!(www.as_deref(), Some("Basic realm=\"saifu\""));
    let (status, www, body) = par.send(&par.good(), Some("saifu_sk_wrong")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "wrong secret"
    );
    assert!(www.is_some());

    // client_secret_post works too.
    let mut posted = par.good();
    posted.push(("client_secret".into(), creds.client_secret.clone()));
    let (status, _, _) = par.send(&posted, None).await;
    assert_eq!(status, StatusCode::CREATED, "client_secret_post");

    let cases: Vec<(&str, Option<String>, &str)> = vec![
        (
            "redirect_uri",
            Some("http://localhost:3000/other".into()),
            "invalid_request",
        ),
        ("code_challenge", None, "invalid_request"),
        (
            "code_challenge_method",
            Some("plain".into()),
            "invalid_request",
        ),
        ("code_challenge_method", None, "invalid_request"),
        ("state", None, "invalid_request"),
        (
            "response_type",
            Some("token".into()),
            "unsupported_response_type",
        ),
        (
            "authorization_details",
            Some(details("JPY", "12,800", json!([]), "payment")),
            "invalid_authorization_details",
        ),
        (
            "authorization_details",
            Some(details("JPY", "12800.00", json!([]), "payment")),
            "invalid_authorization_details",
        ),
        (
            "authorization_details",
            Some(details("USD", "12.5", json!([]), "payment")),
            "invalid_authorization_details",
        ),
        (
            "authorization_details",
            Some(details(
                "JPY",
                "12800",
                json!([{ "name": "Frames", "quantity": 1, "unit_amount": "12000" }]),
                "payment",
            )),
            "invalid_authorization_details",
        ),
        (
            "authorization_details",
            Some(details("JPY", "12800", json!([]), "account_information")),
            "invalid_authorization_details",
        ),
        (
            "authorization_details",
            Some(details("XBT", "12800", json!([]), "payment")),
            "invalid_authorization_details",
        ),
        (
            "authorization_details",
            Some(details("JPY", "0", json!([]), "payment")),
            "invalid_authorization_details",
        ),
        (
            "authorization_details",
            None,
            "invalid_authorization_details",
        ),
    ];
    for (key, value, expected) in cases {
        let (status, body) = par.with(key, value.as_deref()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{key}={value:?}");
        assert_eq!(body["error"], expected, "{key}={value:?}: {body}");
        assert!(body.get("request_uri").is_none());
    }

    app.state
        .checkout
        .merchants
        .set_status(&creds.client_id, MerchantStatus::Suspended)
        .await
        .unwrap();
    let (status, _, body) = par.send(&par.good(), Some(&creds.client_secret)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client")),
        "suspended merchant"
    );
}

#[tokio::test]
async fn authorize_accepts_only_a_fresh_pushed_request_of_the_same_client() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let other = merchant(&app, "Other", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let browser = app.browser();

    let refused = |r: reqwest::Response| async move {
        assert!(r.headers().get("location").is_none(), "never a redirect");
        let status = r.status();
        let html = r.text().await.unwrap();
        (status, html)
    };
    let authorize = app.base.join("/oauth/authorize").unwrap();
    let (status, html) = refused(browser.get_html(authorize.as_str()).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("invalid_request"), "no request_uri");
    let not_pushed = format!(
        "{authorize}?client_id={}&response_type=code&redirect_uri={CALLBACK}",
        creds.client_id
    );
    let (status, _) = refused(browser.get_html(&not_pushed).await).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a request that was not pushed"
    );

    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let request_uri = param(&url, "request_uri").unwrap();
    let with_other_client = format!(
        "{authorize}?client_id={}&request_uri={request_uri}",
        other.client_id
    );
    let (status, html) = refused(browser.get_html(&with_other_client).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("invalid_request_uri"),
        "used with another client"
    );

    open_consent(&browser, &url).await;
    let (status, html) = refused(browser.get_html(url.as_str()).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("already used"), "reused");

    // Expired: a wallet whose pushed requests live one second.
    let short = spawn_app_with(|c: &mut Config| c.request_ttl_secs = 1).await;
    let short_creds = merchant(&short, "Shop", true).await;
    let (url, _) = sdk(&short, &short_creds)
        .await
        .start_checkout(&frames())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, html) = refused(short.browser().get_html(url.as_str()).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("expired"), "expired");
}

#[tokio::test]
async fn a_confirmation_made_for_another_card_or_amount_or_replayed_is_refused() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "attack@example.com").await;

    // Signed for card A, submitted for card B.
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let cards = offered_cards(&shopper.browser, &consent).await;
    assert_eq!(cards.len(), 2);
    let options = shopper.begin(&consent, &cards[0]).await;
    assert_eq!(
        count_rows(&app, "ceremonies").await,
        1,
        "the approval's ceremony"
    );
    let signed =
        serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
    let r = shopper.approve(&consent, &cards[1], &signed).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("webauthn_challenge_mismatch"));
    assert_eq!(
        count_rows(&app, "ceremonies").await,
        0,
        "a failed confirmation uses up its ceremony"
    );
    assert_eq!(count_rows(&app, "auth_codes").await, 0);

    // Signed for a small payment, submitted for a large one opened in the same browser.
    let (small, _) = merchant_sdk
        .start_checkout(&PaymentDetails::new("JPY", "100", "SMALL"))
        .await
        .unwrap();
    let (large, _) = merchant_sdk
        .start_checkout(&PaymentDetails::new("JPY", "99000", "LARGE"))
        .await
        .unwrap();
    let small_consent = open_consent(&shopper.browser, &small).await;
    let large_consent = open_consent(&shopper.browser, &large).await;
    let small_options = shopper.begin(&small_consent, &cards[0]).await;
    let small_signed =
        serde_json::to_value(shopper.key.assert(&shopper.origin, small_options).unwrap()).unwrap();
    shopper.begin(&large_consent, &cards[0]).await;
    let r = shopper
        .approve(&large_consent, &cards[0], &small_signed)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("webauthn_challenge_mismatch"));

    // Replayed: the first use succeeds, the second finds no ceremony.
    let options = shopper.begin(&large_consent, &cards[0]).await;
    let signed =
        serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
    let first = shopper.approve(&large_consent, &cards[0], &signed).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let replay = shopper.approve(&large_consent, &cards[0], &signed).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(replay.headers().get("location").is_none());
    assert!(replay.text().await.unwrap().contains("ceremony_not_found"));

    // Another shopper's card is not accepted.
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let stranger = self::shopper(&app, "stranger@example.com").await;
    let consent = open_consent(&stranger.browser, &url).await;
    let r = stranger
        .browser
        .post_json(
            &format!("{consent}/begin"),
            &json!({ "card_id": cards[0], "points": 0 }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let _ = shopper
        .pay(&merchant_sdk.start_checkout(&frames()).await.unwrap().0)
        .await;
}

/// The same confirmation sent twice at once (a double click, a retrying proxy): one approval,
/// one code, one counter step, and the ceremony gone.
#[tokio::test]
async fn a_confirmation_sent_twice_at_once_approves_once() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "twice@example.com").await;
    for round in 0..3 {
        let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
        let consent = open_consent(&shopper.browser, &url).await;
        let card = offered_cards(&shopper.browser, &consent).await.remove(0);
        let options = shopper.begin(&consent, &card).await;
        let signed =
            serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
        let (a, b) = tokio::join!(
            shopper.approve(&consent, &card, &signed),
            shopper.approve(&consent, &card, &signed)
        );
        let mut statuses = [a.status(), b.status()];
        statuses.sort();
        // The loser is refused either because its ceremony is gone (400) or, when it reads
        // the consent after the winner committed, because the consent is closed (409).
        assert_eq!(statuses[0], StatusCode::SEE_OTHER, "round {round}");
        assert!(
            [StatusCode::BAD_REQUEST, StatusCode::CONFLICT].contains(&statuses[1]),
            "round {round}: {statuses:?}"
        );
        let consent_id = consent.rsplit('/').next().unwrap();
        assert_eq!(
            count_rows(
                &app,
                &format!("auth_codes WHERE consent_id = '{consent_id}'")
            )
            .await,
            1
        );
        assert_eq!(count_rows(&app, "ceremonies").await, 0);
    }
    assert_eq!(count_rows(&app, "auth_codes").await, 3);
}

/// Starts a checkout and pays it; returns the callback and what the merchant kept.
pub async fn paid(merchant: &SaifuClient, shopper: &mut Shopper) -> (Url, PendingCheckout) {
    let (url, pending) = merchant.start_checkout(&frames()).await.unwrap();
    (shopper.pay(&url).await, pending)
}

/// A raw token request.
async fn token(
    app: &TestApp,
    creds: &MerchantCredentials,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(app.base.join("/oauth/token").unwrap())
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn codes_are_one_time_bound_to_client_redirect_and_verifier() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let other = merchant(&app, "Other", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "codes@example.com").await;

    // Reused: the second exchange fails and revokes the first grant.
    let (callback, pending) = paid(&merchant_sdk, &mut shopper).await;
    let code = param(&callback, "code").unwrap();
    let (status, first) = token(&app, &creds, &code, CALLBACK, pending.code_verifier()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let jti = merchant_sdk
        .verify_grant(first["access_token"].as_str().unwrap())
        .await
        .unwrap()
        .jti;
    let (status, again) = token(&app, &creds, &code, CALLBACK, pending.code_verifier()).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(again.get("access_token").is_none());
    let revoked = app.state.store.find_grant(&jti).await.unwrap().unwrap();
    assert!(revoked.revoked_at.is_some(), "the first grant is revoked");

    // Another client, wrong verifier, wrong redirect URI.
    let (callback, pending) = paid(&merchant_sdk, &mut shopper).await;
    let code = param(&callback, "code").unwrap();
    let (status, body) = token(&app, &other, &code, CALLBACK, pending.code_verifier()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "another client"
    );
    let wrong_verifier = "x".repeat(43);
    let (_, body) = token(&app, &creds, &code, CALLBACK, &wrong_verifier).await;
    assert_eq!(body["error"], "invalid_grant", "wrong code_verifier");
    assert!(body.get("access_token").is_none());
    // A refused exchange uses the code up: the right verifier is now too late.
    let (status, body) = token(&app, &creds, &code, CALLBACK, pending.code_verifier()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    assert!(body.get("access_token").is_none());

    let (callback, pending) = paid(&merchant_sdk, &mut shopper).await;
    let code = param(&callback, "code").unwrap();
    let (_, body) = token(
        &app,
        &creds,
        &code,
        "http://localhost:3000/elsewhere",
        pending.code_verifier(),
    )
    .await;
    assert_eq!(body["error"], "invalid_grant", "redirect_uri mismatch");

    // Unsupported grant type and a missing verifier are request errors.
    let r = reqwest::Client::new()
        .post(app.base.join("/oauth/token").unwrap())
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<OAuthErrorBody>().await.unwrap().error,
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = spawn_app_with(|c: &mut Config| c.code_ttl_secs = 1).await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "late@example.com").await;
    let (callback, pending) = paid(&merchant_sdk, &mut shopper).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let err = merchant_sdk
        .complete_checkout(&callback, &pending)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SdkError::OAuth { error, .. } if error == "invalid_grant"),
        "{err:?}"
    );
}

#[tokio::test]
async fn cancelling_returns_access_denied_and_a_suspended_merchant_gets_nothing() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", false).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "cancel@example.com").await;

    let (url, pending) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let page = shopper
        .browser
        .get_html(&consent)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Not verified"),
        "an unvetted merchant is flagged"
    );
    let r = shopper
        .browser
        .post_form(&format!("{consent}/cancel"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let callback = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&callback, "iss").as_deref(), Some(app.base.as_str()));
    assert!(param(&callback, "code").is_none());
    assert!(matches!(
        merchant_sdk.complete_checkout(&callback, &pending).await,
        Err(SdkError::Denied)
    ));

    // Suspended after the shopper approved: the code no longer buys a grant.
    let (callback, pending) = paid(&merchant_sdk, &mut shopper).await;
    app.state
        .checkout
        .merchants
        .set_status(&creds.client_id, MerchantStatus::Suspended)
        .await
        .unwrap();
    let err = merchant_sdk
        .complete_checkout(&callback, &pending)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SdkError::OAuth { error, .. } if error == "unauthorized_client"),
        "{err:?}"
    );
    // And its checkouts are closed.
    app.state
        .checkout
        .merchants
        .set_status(&creds.client_id, MerchantStatus::Verified)
        .await
        .unwrap();
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    app.state
        .checkout
        .merchants
        .set_status(&creds.client_id, MerchantStatus::Suspended)
        .await
        .unwrap();
    let r = shopper.browser.get_html(url.as_str()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("merchant_suspended"));
}

#[tokio::test]
async fn a_signed_out_shopper_signs_up_from_the_consent_page_and_comes_back() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();

    let browser = app.browser();
    let consent = open_consent(&browser, &url).await;
    let page = browser.get_html(&consent).await.text().await.unwrap();
    let next = url::form_urlencoded::byte_serialize(consent.as_bytes()).collect::<String>();
    assert!(
        page.contains(&format!("/signin?next={next}"))
            && page.contains(&format!("/signup?next={next}"))
    );
    assert!(
        !page.contains("Pay ¥12,800"),
        "no pay button before sign-in"
    );

    let begin = browser
        .post_json(
            "/signup/begin",
            &json!({ "display_name": "New", "email": "new@example.com", "next": consent }),
        )
        .await;
    let mut key = TestPasskey::new();
    let credential = key
        .register(&app.origin(), begin.json().await.unwrap())
        .unwrap();
    let done: Value = browser
        .post_json(
            "/signup/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        done["redirect"],
        consent.as_str(),
        "back to the same consent"
    );
    let page = browser.get_html(&consent).await.text().await.unwrap();
    assert!(
        page.contains(&format!("/cards/new?return_to={next}")),
        "add a card and come back"
    );

    // Another browser cannot use this consent.
    let r = app.browser().get_html(&consent).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn verify_grant_refuses_forged_grants_and_rotated_keys_stay_published() {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "forge@example.com").await;
    let (callback, pending) = paid(&merchant_sdk, &mut shopper).await;
    let grant = merchant_sdk
        .complete_checkout(&callback, &pending)
        .await
        .unwrap();
    let parts: Vec<&str> = grant.token.split('.').collect();

    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[5] ^= 0x40;
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(signature)
    );
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let none_header = URL_SAFE_NO_PAD
        .encode(json!({ "alg": "none", "typ": "at+jwt", "kid": header["kid"] }).to_string());
    let alg_none = format!("{none_header}.{}.", parts[1]);
    let unknown_kid_header = URL_SAFE_NO_PAD
        .encode(json!({ "alg": "ES256", "typ": "at+jwt", "kid": "no-such-key" }).to_string());
    let unknown_kid = format!("{unknown_kid_header}.{}.{}", parts[1], parts[2]);
    for (what, jwt) in [
        ("tampered signature", tampered),
        ("alg none", alg_none),
        ("unknown kid", unknown_kid),
    ] {
        assert!(
            merchant_sdk.verify_grant(&jwt).await.is_err(),
            "{what} must be refused"
        );
    }
    assert!(merchant_sdk.verify_grant(&grant.token).await.is_ok());

    // Rotation: the old key stays in the JWKS, so the grant it signed still verifies.
    let new_kid = app
        .state
        .checkout
        .signer
        .rotate(unix_now(), 720)
        .await
        .unwrap();
    let jwks: Value = reqwest::get(app.base.join("/oauth/jwks").unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.contains(&new_kid.as_str()) && kids.contains(&header["kid"].as_str().unwrap()));
    let fresh = SaifuClient::discover(MerchantConfig::new(
        app.base.clone(),
        creds.client_id.clone(),
        creds.client_secret.clone(),
        Url::parse(CALLBACK).unwrap(),
    ))
    .await
    .unwrap();
    assert!(
        fresh.verify_grant(&grant.token).await.is_ok(),
        "old grants verify after rotation"
    );
    let (callback, pending) = paid(&merchant_sdk, &mut shopper).await;
    let newer = fresh.complete_checkout(&callback, &pending).await.unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&newer.token)
            .unwrap()
            .kid
            .as_deref(),
        Some(new_kid.as_str())
    );
}

#[tokio::test]
async fn rotating_a_client_secret_retires_the_old_one_at_once() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Rotating Shop", true).await;
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_saifu"))
            .args(args)
            .env_clear()
            .env("SAIFU_DATA_DIR", app.data_dir())
            .env("SAIFU_DATABASE_URL", &app.database_url)
            .env("SAIFU_ISSUER", app.base.as_str())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let listed = cli(&["merchant", "list", "--json"]);
    assert_eq!(listed[0]["client_id"], creds.client_id.as_str());
    assert_eq!(listed[0]["status"], "verified");
    assert_eq!(listed[0]["redirect_uris"], json!([CALLBACK]));
    assert!(
        listed.to_string().find("saifu_sk_").is_none(),
        "secrets are never listed"
    );

    let rotated = cli(&[
        "merchant",
        "rotate-secret",
        "--client-id",
        &creds.client_id,
        "--json",
    ]);
    let new_secret = rotated["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, creds.client_secret);
    let old = RawPar::new(&app, &creds);
    let (status, _, _) = old.send(&old.good(), Some(&creds.client_secret)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old secret no longer works"
    );
    let (status, _, _) = old.send(&old.good(), Some(&new_secret)).await;
    assert_eq!(status, StatusCode::CREATED);
}
