//! The pushed authorization request and the authorize endpoint: client authentication, every
//! flaw of a request refused without a request URI, and a request URI used once, by its own
//! client, before it expires.

use reqwest::StatusCode;
use saifu::config::Config;
use saifu::merchants::MerchantStatus;
use saifu::money::AmountLimits;
use saifu_sdk::checkout::MerchantCredentials;
use serde_json::{json, Value};
use url::Url;

use crate::helpers::{
    assert_success, frames, merchant, open_consent, param, sdk, set_merchant_status, spawn_app,
    spawn_app_with, TestApp, CALLBACK,
};

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

    set_merchant_status(&app, &creds.client_id, MerchantStatus::Suspended).await;
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
async fn rotating_a_client_secret_retires_the_old_one_at_once() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Rotating Shop", true).await;
    let cli = |args: &[&str]| {
        let out = app
            .cli()
            .args(args)
            .env("SAIFU_ISSUER", app.base.as_str())
            .output()
            .unwrap();
        assert_success(&out);
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

#[tokio::test]
async fn format_and_control_characters_in_shown_text_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let par = RawPar::new(&app, &creds);
    let entry = |reference: &str, name: &str| {
        json!([{ "type": "payment", "instructed_amount": { "currency": "JPY", "amount": "12800" },
            "order_reference": reference,
            "line_items": [{ "name": name, "quantity": 1, "unit_amount": "12800" }] }])
        .to_string()
    };
    for c in [
        '\u{202E}', '\u{200B}', '\u{2066}', '\u{2069}', '\u{FEFF}', '\u{1B}', '\u{0}',
    ] {
        let point = format!("U+{:04X}", u32::from(c));
        for (details, field) in [
            (entry("A-1", &format!("Fr{c}ames")), "line_items[0].name"),
            (entry(&format!("A-{c}1"), "Frames"), "order_reference"),
        ] {
            let (status, body) = par.with("authorization_details", Some(&details)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{field} {point}");
            assert_eq!(body["error"], "invalid_authorization_details");
            assert_eq!(
                body["error_description"],
                format!("{field} contains {point}, a control or invisible formatting character; such characters are not allowed")
            );
        }
    }
    let (status, body) = par
        .with("authorization_details", Some(&entry("注文-1", "Café 財布")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "any script is fine: {body}");
}

#[tokio::test]
async fn amounts_over_the_limit_or_past_64_bits_are_refused_at_the_pushed_request() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let par = RawPar::new(&app, &creds);
    let refused = |body: Value| {
        assert_eq!(body["error"], "invalid_authorization_details", "{body}");
        body["error_description"].as_str().unwrap().to_string()
    };
    let (status, body) = par
        .with(
            "authorization_details",
            Some(&details("JPY", "9223372036854775807", json!([]), "payment")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused(body),
        "instructed_amount.amount is over the wallet's limit: JPY amounts are limited to 10000000"
    );
    let huge = "9".repeat(4_000);
    let (_, body) = par
        .with(
            "authorization_details",
            Some(&details("JPY", &huge, json!([]), "payment")),
        )
        .await;
    assert_eq!(refused(body), "instructed_amount.amount is too large");
    let (_, body) = par
        .with(
            "authorization_details",
            Some(&details("USD", "100000.01", json!([]), "payment")),
        )
        .await;
    assert!(refused(body).ends_with("USD amounts are limited to 100000.00"));
    let overflowing = json!([
        { "name": "A", "quantity": 100000, "unit_amount": "9223372036854775807" }
    ]);
    let (_, body) = par
        .with(
            "authorization_details",
            Some(&details("JPY", "100", overflowing, "payment")),
        )
        .await;
    assert_eq!(
        refused(body),
        "line_items[0]: quantity times unit_amount is too large"
    );
    let (status, _) = par
        .with(
            "authorization_details",
            Some(&details("JPY", "10000000", json!([]), "payment")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "the limit itself is fine");

    let small = spawn_app_with(|c: &mut Config| {
        c.max_amounts = AmountLimits::parse("JPY=5000").unwrap();
    })
    .await;
    let creds = merchant(&small, "Shop", true).await;
    let par = RawPar::new(&small, &creds);
    let (_, body) = par
        .with(
            "authorization_details",
            Some(&details("JPY", "5001", json!([]), "payment")),
        )
        .await;
    assert!(refused(body).ends_with("JPY amounts are limited to 5000"));
    let (status, _) = par
        .with(
            "authorization_details",
            Some(&details("JPY", "5000", json!([]), "payment")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}
