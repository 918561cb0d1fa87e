//! Dynamic registration (RFC 7591) and its management (RFC 7592): a shop registers itself and
//! runs a whole checkout with its own credentials; bad metadata is refused with its RFC code;
//! the shop starts pending (the consent page says "Not verified" and shows its domain, and the
//! lower cap applies); a look-alike name is flagged for review; the registration is read,
//! updated and deleted with its token; registration is limited per address and can be
//! switched off by the issuer; no secret of it reaches the logs.

use reqwest::{Response, StatusCode};
use saifu::admin::Role;
use saifu::audit::Query;
use saifu::clock::unix_now;
use saifu::merchants::MerchantStatus;
use saifu::money::{Currency, Money};
use saifu::secrets::sha256_hex;
use saifu_sdk::checkout::{MerchantCredentials, PaymentDetails};
use serde_json::{json, Value};

use crate::helpers::{
    captured_logs, count_rows, grant, jpy, merchant, open_consent, paid, param, problem_code, sdk,
    set_merchant_status, shopper, signed_in_admin, spawn_app, spawn_app_with, TestApp, CALLBACK,
};

/// A shop's metadata: `CALLBACK` (where the tests' SDK returns) after a redirect URI on its
/// own domain, which the consent page then shows.
fn kissa() -> Value {
    json!({
        "client_name": "Kissa Tanuki",
        "redirect_uris": ["https://kissa-tanuki.example/callback", CALLBACK],
        "token_endpoint_auth_method": "client_secret_basic",
        "client_uri": "https://kissa-tanuki.example",
        "webhook_url": "https://kissa-tanuki.example/webhooks/saifu",
    })
}

async fn post_register(app: &TestApp, body: &Value) -> Response {
    reqwest::Client::new()
        .post(app.base.join("/oauth/register").unwrap())
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Registers `body`, which must succeed; the answer's body.
async fn register(app: &TestApp, body: &Value) -> Value {
    let r = post_register(app, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

fn credentials(registered: &Value) -> MerchantCredentials {
    MerchantCredentials {
        client_id: registered["client_id"].as_str().unwrap().into(),
        client_secret: registered["client_secret"].as_str().unwrap().into(),
        webhook_secret: registered["webhook_secret"]
            .as_str()
            .unwrap_or_default()
            .into(),
    }
}

/// A call to the registration's own URI with `token` as its bearer token.
async fn manage(
    method: reqwest::Method,
    registered: &Value,
    token: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let uri = registered["registration_client_uri"].as_str().unwrap();
    let mut request = reqwest::Client::new().request(method, uri);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

fn token(registered: &Value) -> &str {
    registered["registration_access_token"].as_str().unwrap()
}

/// The RFC 6749-shaped error of an answer: its status and `error`.
async fn oauth_error(r: Response) -> (StatusCode, String, String) {
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

async fn metadata(app: &TestApp) -> Value {
    reqwest::get(
        app.base
            .join("/.well-known/oauth-authorization-server")
            .unwrap(),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

/// A PAR with `client_id` and `secret` (HTTP Basic): the answer's status and `error`.
async fn push(app: &TestApp, client_id: &str, secret: &str) -> (StatusCode, String) {
    let r = reqwest::Client::new()
        .post(app.base.join("/oauth/par").unwrap())
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("state", "s-1"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
            (
                "authorization_details",
                r#"[{"type":"payment","instructed_amount":{"currency":"JPY","amount":"1000"},"order_reference":"R-1"}]"#,
            ),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn a_registered_shop_runs_a_whole_checkout_with_its_own_credentials_and_starts_pending() {
    let app = spawn_app().await;
    let meta = metadata(&app).await;
    assert_eq!(
        meta["registration_endpoint"],
        format!("{}oauth/register", app.base)
    );

    let registered = register(&app, &kissa()).await;
    let client_id = registered["client_id"].as_str().unwrap();
    assert!(registered["client_secret"]
        .as_str()
        .unwrap()
        .starts_with("saifu_sk_"));
    assert!(registered["webhook_secret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));
    assert!(token(&registered).len() >= 40);
    assert_eq!(registered["saifu_status"], "pending");
    assert_eq!(registered["client_secret_expires_at"], 0);
    assert!((registered["client_id_issued_at"].as_i64().unwrap() - unix_now()).abs() < 60);
    assert_eq!(
        registered["registration_client_uri"],
        format!("{}oauth/register/{client_id}", app.base)
    );
    assert_eq!(registered["grant_types"], json!(["authorization_code"]));
    assert_eq!(registered["response_types"], json!(["code"]));
    assert_eq!(registered["client_name"], "Kissa Tanuki");
    assert_eq!(
        registered["redirect_uris"],
        json!([CALLBACK, "https://kissa-tanuki.example/callback"])
    );
    assert_eq!(registered["client_uri"], "https://kissa-tanuki.example/");
    assert_eq!(
        registered["token_endpoint_auth_method"],
        "client_secret_basic"
    );

    // Only digests are kept: neither the secret nor the token is stored as it was given.
    let secret = registered["client_secret"].as_str().unwrap();
    let hashed = |column: &str, value: &str| {
        format!("merchants WHERE client_id = '{client_id}' AND {column} = '{value}'")
    };
    assert_eq!(
        count_rows(&app, &hashed("secret_hash", &sha256_hex(secret.as_bytes()))).await,
        1
    );
    assert_eq!(
        count_rows(
            &app,
            &hashed(
                "registration_token_hash",
                &sha256_hex(token(&registered).as_bytes())
            )
        )
        .await,
        1
    );
    assert_eq!(
        count_rows(&app, &hashed("registration_token_hash", token(&registered))).await,
        0
    );

    // The registration is audited, by `registration`.
    let entries = app
        .state
        .audit
        .list(
            &Query {
                action: Some("merchant.registered".into()),
                ..Query::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].actor.as_str(), entries[0].target.as_str()),
        ("registration", client_id)
    );
    assert!(!entries[0].details.contains(secret));

    // The shop pays with what it got, as a merchant the issuer created would.
    let client = sdk(&app, &credentials(&registered)).await;
    let mut s = shopper(&app, "kissa@example.com").await;
    let (callback, pending) = paid(&client, &mut s).await;
    let granted = client.complete_checkout(&callback, &pending).await.unwrap();
    assert_eq!(granted.claims.client_id, client_id);
    let payment = client
        .pay(&granted.token, &jpy("12800"), true, None)
        .await
        .unwrap();
    assert_eq!(payment.status, "captured");
}

#[tokio::test]
async fn bad_metadata_is_refused_with_its_rfc_7591_code_and_nothing_is_registered() {
    let app = spawn_app().await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut body = kissa();
        f(&mut body);
        body
    };
    let cases = [
        (
            with(&|b| b["redirect_uris"] = json!([])),
            "invalid_redirect_uri",
            "at least one redirect URI",
        ),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("redirect_uris");
            }),
            "invalid_redirect_uri",
            "at least one redirect URI",
        ),
        (
            with(&|b| b["redirect_uris"] = json!(["http://kissa-tanuki.example/callback"])),
            "invalid_redirect_uri",
            "must use https",
        ),
        (
            with(&|b| b["jwks"] = json!({"keys": []})),
            "invalid_client_metadata",
            "not supported by this wallet yet",
        ),
        (
            with(&|b| b["jwks_uri"] = json!("https://kissa-tanuki.example/jwks")),
            "invalid_client_metadata",
            "not supported by this wallet yet",
        ),
        (
            with(&|b| b["token_endpoint_auth_method"] = json!("private_key_jwt")),
            "invalid_client_metadata",
            "private_key_jwt is not supported by this wallet yet",
        ),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("client_name");
            }),
            "invalid_client_metadata",
            "client_name is required",
        ),
        (
            with(&|b| b["client_name"] = json!("Kissa\u{202E}Tanuki")),
            "invalid_client_metadata",
            "U+202E",
        ),
        (
            with(&|b| b["webhook_url"] = json!("ftp://kissa-tanuki.example/hooks")),
            "invalid_client_metadata",
            "",
        ),
        (
            with(&|b| b["redirect_uris"] = json!("https://kissa-tanuki.example/callback")),
            "invalid_client_metadata",
            "not of the registration's shape",
        ),
    ];
    for (body, code, says) in cases {
        let r = post_register(&app, &body).await;
        assert_eq!(r.headers()["cache-control"], "no-store");
        let (status, error, description) = oauth_error(r).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, code),
            "{body}"
        );
        assert!(description.contains(says), "{description:?} for {body}");
    }
    let not_json = reqwest::Client::new()
        .post(app.base.join("/oauth/register").unwrap())
        .form(&[("client_name", "Kissa")])
        .send()
        .await
        .unwrap();
    let (status, error, _) = oauth_error(not_json).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert_eq!(count_rows(&app, "merchants").await, 0);
}

#[tokio::test]
async fn a_second_shop_registers_itself_with_credentials_of_its_own() {
    let app = spawn_app().await;
    let first = register(&app, &kissa()).await;
    let second = register(
        &app,
        &json!({"client_name": "Tea House", "redirect_uris": [CALLBACK]}),
    )
    .await;
    assert_ne!(first["client_id"], second["client_id"]);
    assert!(
        second.get("webhook_secret").is_none(),
        "no webhook, no secret"
    );
    assert!(second.get("webhook_url").is_none());
    assert_eq!(
        second["token_endpoint_auth_method"], "client_secret_basic",
        "the default"
    );
    let id = |r: &Value| r["client_id"].as_str().unwrap().to_string();
    let secret = |r: &Value| r["client_secret"].as_str().unwrap().to_string();
    assert_eq!(
        push(&app, &id(&second), &secret(&second)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        push(&app, &id(&first), &secret(&first)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        push(&app, &id(&second), &secret(&first)).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    // One shop's token manages only its own registration.
    let r = reqwest::Client::new()
        .get(second["registration_client_uri"].as_str().unwrap())
        .bearer_auth(token(&first))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_registration_is_read_updated_and_deleted_with_its_token_and_then_refused_everywhere() {
    let app = spawn_app().await;
    let registered = register(&app, &kissa()).await;
    let client_id = registered["client_id"].as_str().unwrap().to_string();
    let t = token(&registered).to_string();
    let webhook_key = |app: &TestApp| {
        let url = app.database_url.clone();
        let id = client_id.clone();
        async move {
            use sqlx::Row;
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            let row =
                sqlx::query("SELECT webhook_secret_wrapped FROM merchants WHERE client_id = $1")
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            let bytes: Vec<u8> = row.get("webhook_secret_wrapped");
            pool.close().await;
            bytes
        }
    };
    let key_before = webhook_key(&app).await;

    // Read: the registration without its secrets.
    let r = manage(reqwest::Method::GET, &registered, Some(&t), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let read: Value = r.json().await.unwrap();
    for secret in [
        "client_secret",
        "webhook_secret",
        "registration_access_token",
    ] {
        assert!(read.get(secret).is_none(), "{secret} is shown once only");
    }
    for same in [
        "client_id",
        "client_name",
        "redirect_uris",
        "webhook_url",
        "saifu_status",
    ] {
        assert_eq!(read[same], registered[same], "{same}");
    }

    // A wrong or missing token, or another client's id, is refused alike.
    for (uri_of, token) in [(&registered, Some("saifu_rat_wrong")), (&registered, None)] {
        let r = manage(reqwest::Method::GET, uri_of, token, None).await;
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let (status, error, _) = oauth_error(r).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_token")
        );
    }
    let mut elsewhere = registered.clone();
    elsewhere["registration_client_uri"] = json!(format!("{}oauth/register/mch_none", app.base));
    let r = manage(reqwest::Method::GET, &elsewhere, Some(&t), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = manage(
        reqwest::Method::DELETE,
        &registered,
        Some("saifu_rat_wrong"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Update: the full metadata replaces the old; the status and the webhook secret stay.
    let mut changed = kissa();
    changed["client_id"] = json!(client_id);
    changed["client_name"] = json!("Kissa Tanuki Kyoto");
    changed["redirect_uris"] = json!(["https://kyoto.kissa-tanuki.example/cb", CALLBACK]);
    changed["webhook_url"] = json!("https://kyoto.kissa-tanuki.example/hooks");
    changed["token_endpoint_auth_method"] = json!("client_secret_post");
    let r = manage(reqwest::Method::PUT, &registered, Some(&t), Some(&changed)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let updated: Value = r.json().await.unwrap();
    assert_eq!(updated["client_name"], "Kissa Tanuki Kyoto");
    assert_eq!(
        updated["webhook_url"],
        "https://kyoto.kissa-tanuki.example/hooks"
    );
    assert_eq!(updated["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(updated["saifu_status"], "pending");
    assert!(updated.get("webhook_secret").is_none());
    let m = app
        .state
        .checkout
        .merchants
        .find(&client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.domain, "kyoto.kissa-tanuki.example");
    assert_eq!(
        webhook_key(&app).await,
        key_before,
        "the webhook secret stays"
    );
    // A status in the body changes nothing; another client id in it is refused.
    let mut promoted = changed.clone();
    promoted["saifu_status"] = json!("verified");
    let r = manage(reqwest::Method::PUT, &registered, Some(&t), Some(&promoted)).await;
    assert_eq!(r.json::<Value>().await.unwrap()["saifu_status"], "pending");
    let mut other = changed.clone();
    other["client_id"] = json!("mch_someone_else");
    let (status, error, _) =
        oauth_error(manage(reqwest::Method::PUT, &registered, Some(&t), Some(&other)).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let mut bad = changed.clone();
    bad["redirect_uris"] = json!([]);
    let (status, error, _) =
        oauth_error(manage(reqwest::Method::PUT, &registered, Some(&t), Some(&bad)).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_redirect_uri")
    );

    // A grant issued before the deletion, and a PAR after it, are refused.
    let client = sdk(&app, &credentials(&registered)).await;
    let mut s = shopper(&app, "kissa@example.com").await;
    let g = grant(&client, &mut s).await;
    let r = manage(reqwest::Method::DELETE, &registered, Some(&t), None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let secret = registered["client_secret"].as_str().unwrap();
    assert_eq!(
        push(&app, &client_id, secret).await,
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    let refused = client.pay(&g, &jpy("12800"), true, None).await.unwrap_err();
    assert!(
        matches!(refused, saifu_sdk::Error::Problem { status: 401, .. }),
        "{refused:?}"
    );
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let r = manage(method, &registered, Some(&t), None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the token is spent");
    }
    // The issuer still sees it, marked deleted.
    let admin = signed_in_admin(&app, Role::Auditor).await;
    let page = admin.html(&format!("/admin/merchants/{client_id}")).await;
    assert!(page.contains("deleted its registration"), "{page}");

    // None of its secrets reached the logs, nor the Debug of what holds them.
    let logs = captured_logs();
    for secret in [
        secret,
        t.as_str(),
        registered["webhook_secret"].as_str().unwrap(),
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
    let direct = app
        .state
        .registrations
        .register(
            &saifu::registration::metadata::RequestedMetadata {
                client_name: Some("Debug Shop".into()),
                redirect_uris: vec![CALLBACK.into()],
                webhook_url: Some("https://debug.example/hooks".into()),
                ..Default::default()
            },
            "127.0.0.9".parse().unwrap(),
            unix_now(),
        )
        .await
        .unwrap();
    let shown = format!("{direct:?}");
    use secrecy::ExposeSecret;
    for secret in [
        &direct.client_secret,
        &direct.registration_access_token,
        &direct.webhook_secret,
    ] {
        let secret = secret.as_ref().unwrap().expose_secret();
        assert!(!shown.contains(secret), "Debug shows no secret");
    }
}

#[tokio::test]
async fn a_pending_registered_shops_consent_says_not_verified_shows_its_domain_and_the_lower_cap_applies(
) {
    let app = spawn_app().await;
    let mut limits = app.state.risk.limits(Currency::Jpy).await.unwrap();
    limits.per_payment_unverified = Some(Money::new(Currency::Jpy, 5_000));
    app.state
        .risk
        .set(&limits, &saifu::audit::Actor::Cli, unix_now())
        .await
        .unwrap();
    let registered = register(&app, &kissa()).await;
    let client = sdk(&app, &credentials(&registered)).await;
    let mut s = shopper(&app, "tanuki@example.com").await;

    let details = PaymentDetails::new("JPY", "5001", "K-1").with_item("Teapot", 1, "5001");
    let (url, _) = client.start_checkout(&details).await.unwrap();
    let consent = open_consent(&s.browser, &url).await;
    let page = s.browser.html(&consent).await;
    assert!(page.contains("<strong>Not verified.</strong>"), "{page}");
    assert!(!page.contains("Verified by Saifu"));
    assert!(
        page.contains(r#"class="merchant-domain merchant-domain-unverified" id="merchant-domain">kissa-tanuki.example</p>"#),
        "{page}"
    );
    assert!(
        page.contains("Check that <strong>kissa-tanuki.example</strong> is the shop you meant"),
        "{page}"
    );
    assert!(page.contains("limited to ¥5,000 each"), "{page}");
    let begin = s
        .browser
        .post_json(
            &format!("{consent}/begin"),
            &json!({ "card_id": "00000000-0000-4000-8000-000000000000" }),
        )
        .await;
    assert_eq!(
        problem_code(begin).await,
        (StatusCode::FORBIDDEN, "limit_unverified_merchant".into())
    );

    // At the cap it passes; once the issuer vets the shop, the higher amount passes too.
    let at_cap = PaymentDetails::new("JPY", "5000", "K-2").with_item("Teapot", 1, "5000");
    let callback = s
        .pay(&client.start_checkout(&at_cap).await.unwrap().0)
        .await;
    assert!(param(&callback, "code").is_some(), "{callback}");
    let client_id = registered["client_id"].as_str().unwrap();
    set_merchant_status(&app, client_id, MerchantStatus::Verified).await;
    let (url, _) = client.start_checkout(&details).await.unwrap();
    let page = s.browser.html(&open_consent(&s.browser, &url).await).await;
    assert!(page.contains("Verified by Saifu"), "{page}");
    let (url, _) = client.start_checkout(&details).await.unwrap();
    let callback = s.pay(&url).await;
    assert!(param(&callback, "code").is_some(), "{callback}");
}

#[tokio::test]
async fn a_name_imitating_a_verified_merchant_is_flagged_for_review_and_a_different_one_is_not() {
    let app = spawn_app().await;
    merchant(&app, "Frame Shop", true).await;
    let copy = register(
        &app,
        &json!({"client_name": "Fr4me  Sh0p!", "redirect_uris": ["https://frarne-shop.example/cb"]}),
    )
    .await;
    let plain = register(&app, &kissa()).await;
    let copy_id = copy["client_id"].as_str().unwrap();
    let plain_id = plain["client_id"].as_str().unwrap();
    let flagged = |id: &str| {
        format!("merchants WHERE client_id = '{id}' AND review_resembles = 'Frame Shop'")
    };
    assert_eq!(count_rows(&app, &flagged(copy_id)).await, 1);
    assert_eq!(
        count_rows(
            &app,
            &format!("merchants WHERE client_id = '{plain_id}' AND review_resembles IS NULL")
        )
        .await,
        1
    );
    let audit = app
        .state
        .audit
        .list(
            &Query {
                target: Some(copy_id.into()),
                ..Query::default()
            },
            10,
        )
        .await
        .unwrap();
    assert!(
        audit[0]
            .details
            .contains(r#""review_resembles":"Frame Shop""#),
        "{}",
        audit[0].details
    );

    let admin = signed_in_admin(&app, Role::Operator).await;
    let list = admin.html("/admin/merchants").await;
    assert_eq!(
        list.matches("Review: name resembles Frame Shop").count(),
        1,
        "{list}"
    );
    let page = admin.html(&format!("/admin/merchants/{copy_id}")).await;
    assert!(page.contains("Review: name resembles Frame Shop"), "{page}");
    let page = admin.html(&format!("/admin/merchants/{plain_id}")).await;
    assert!(!page.contains("Review: name resembles"), "{page}");

    // A rename through RFC 7592 is compared again.
    let mut renamed = kissa();
    renamed["client_name"] = json!("frame-shop");
    let r = manage(
        reqwest::Method::PUT,
        &plain,
        Some(token(&plain)),
        Some(&renamed),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(count_rows(&app, &flagged(plain_id)).await, 1);
}

#[tokio::test]
async fn registration_is_limited_per_client_address_with_retry_after() {
    let app = spawn_app_with(|c| c.registration_per_hour = 2).await;
    register(&app, &kissa()).await;
    // A refused registration counts too: the limit is on attempts.
    let r = post_register(&app, &json!({"client_name": "No URIs"})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = post_register(&app, &kissa()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    let (_, error, _) = oauth_error(r).await;
    assert_eq!(error, "too_many_requests");
    assert_eq!(count_rows(&app, "merchants").await, 1);
}

#[tokio::test]
async fn the_issuer_switches_registration_off_and_on_from_the_cli_and_the_console_audited() {
    let app = spawn_app().await;
    let show = |app: &TestApp| {
        let out = app
            .cli()
            .args(["registration", "show", "--json"])
            .output()
            .unwrap();
        crate::helpers::assert_success(&out);
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert_eq!(show(&app), json!({"open": true}), "open by default");

    let out = app
        .cli()
        .args(["registration", "disable", "--json"])
        .output()
        .unwrap();
    crate::helpers::assert_success(&out);
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!({"open": false})
    );
    assert_eq!(show(&app), json!({"open": false}));
    let meta = metadata(&app).await;
    assert!(meta.get("registration_endpoint").is_none(), "{meta}");
    assert_eq!(meta["require_pushed_authorization_requests"], true);
    let (status, error, _) = oauth_error(post_register(&app, &kissa()).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::FORBIDDEN, "registration_disabled")
    );
    assert_eq!(count_rows(&app, "merchants").await, 0);

    // Support may read the console but not switch; an operator opens it again.
    let support = signed_in_admin(&app, Role::Support).await;
    let page = support.html("/admin/merchants").await;
    assert!(page.contains("<strong>Closed.</strong>"), "{page}");
    assert!(!page.contains("Open registration"));
    let r = support
        .admin_post_form("/admin/registration", &[("registration", "open")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let operator = signed_in_admin(&app, Role::Operator).await;
    assert!(operator
        .html("/admin/merchants")
        .await
        .contains("Open registration"));
    let r = operator
        .admin_post_form("/admin/registration", &[("registration", "open")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(operator
        .html("/admin/merchants")
        .await
        .contains("<strong>Open.</strong>"));
    assert!(metadata(&app).await["registration_endpoint"].is_string());
    register(&app, &kissa()).await;

    let switches: Vec<(String, String)> = app
        .state
        .audit
        .list(
            &Query {
                target: Some("registration".into()),
                ..Query::default()
            },
            10,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.actor))
        .collect();
    assert_eq!(switches.len(), 2, "{switches:?}");
    assert!(switches.contains(&("registration.disabled".into(), "cli".into())));
    assert!(switches
        .iter()
        .any(|(action, actor)| action == "registration.enabled" && actor.starts_with("admin:")));
}

/// A shop that registered without webhooks and adds a webhook URL later gets the webhook
/// secret in that update's answer, once, and it is the secret its deliveries are signed with.
#[tokio::test]
async fn a_webhook_url_added_by_an_update_comes_with_its_secret_once() {
    let app = spawn_app().await;
    let plain = json!({"client_name": "Tea House", "redirect_uris": [CALLBACK]});
    let registered = register(&app, &plain).await;
    assert!(registered.get("webhook_secret").is_none());
    let client_id = registered["client_id"].as_str().unwrap().to_string();

    let mut with_hooks = plain.clone();
    with_hooks["client_id"] = json!(client_id);
    with_hooks["webhook_url"] = json!("https://tea-house.example/webhooks/saifu");
    let r = manage(
        reqwest::Method::PUT,
        &registered,
        Some(token(&registered)),
        Some(&with_hooks),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let updated: Value = r.json().await.unwrap();
    let secret = updated["webhook_secret"]
        .as_str()
        .expect("the new webhook's secret, shown once")
        .to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(
        app.state.webhooks.current_secret(&client_id).await.unwrap(),
        secret,
        "deliveries are signed with the secret the shop was given"
    );
    assert!(updated.get("client_secret").is_none());

    // The same webhook again: nothing new to give.
    let r = manage(
        reqwest::Method::PUT,
        &registered,
        Some(token(&registered)),
        Some(&with_hooks),
    )
    .await;
    let again: Value = r.json().await.unwrap();
    assert!(again.get("webhook_secret").is_none(), "{again}");
    assert_eq!(
        app.state.webhooks.current_secret(&client_id).await.unwrap(),
        secret
    );
}
