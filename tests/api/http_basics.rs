//! Cross-cutting HTTP behaviour: security headers, problem bodies, body limits, probes,
//! request ids and the integrity of the scripts the pages load.

use base64::{engine::general_purpose::STANDARD, Engine};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{captured_logs, problem_code, spawn_app, spawn_app_with, TestPasskey};

fn assert_security_headers(response: &reqwest::Response, what: &str) {
    let h = response.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{what}: {csp}"
    );
    assert_eq!(
        h.get("referrer-policy").map(|v| v.to_str().unwrap()),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(
        h.get("x-content-type-options").map(|v| v.to_str().unwrap()),
        Some("nosniff"),
        "{what}"
    );
    assert!(h.get("x-request-id").is_some(), "{what}: request id");
}

#[tokio::test]
async fn every_page_sends_the_security_headers() {
    let app = spawn_app().await;
    let browser = app.browser();
    for path in ["/", "/signup", "/signin", "/does-not-exist"] {
        let page = browser.get_html(path).await;
        assert_security_headers(&page, path);
        assert!(
            page.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
    }
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &app.origin(), "Head", "head@example.com")
        .await;
    for path in ["/", "/passkeys"] {
        let page = browser.get_html(path).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_security_headers(&page, path);
        assert_eq!(page.headers()["cache-control"], "no-store", "{path}");
    }
    assert_security_headers(
        &browser
            .http
            .get(browser.url("/healthz"))
            .send()
            .await
            .unwrap(),
        "/healthz",
    );
}

#[tokio::test]
async fn errors_are_problem_json_with_a_stable_code() {
    let app = spawn_app().await;
    let browser = app.browser();

    let missing = browser
        .http
        .get(browser.url("/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_code(missing).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );

    let wrong_method = browser
        .http
        .delete(browser.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_code(wrong_method).await,
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into())
    );

    let token = browser.csrf().await;
    let bad_json = browser
        .http
        .post(browser.url("/signup/begin"))
        .header("x-csrf-token", &token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_code(bad_json).await,
        (StatusCode::BAD_REQUEST, "invalid_json".into())
    );

    let missing_field = browser
        .post_json("/signup/begin", &json!({ "email": "x@example.com" }))
        .await;
    assert_eq!(problem_code(missing_field).await.1, "invalid_json");

    let not_json = browser
        .http
        .post(browser.url("/signup/begin"))
        .header("x-csrf-token", &token)
        .body("display_name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_code(not_json).await,
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type".into()
        )
    );
}

#[tokio::test]
async fn browsers_get_an_html_error_page_with_the_code() {
    let app = spawn_app().await;
    let page = app.browser().get_html("/nothing-here").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("not_found") && html.contains("<html"),
        "{html}"
    );
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = spawn_app_with(|c| c.body_limit_bytes = 4096).await;
    let browser = app.browser();
    let big = "x".repeat(10_000);

    let json_body = browser
        .post_json(
            "/signup/begin",
            &json!({ "display_name": big, "email": "a@example.com" }),
        )
        .await;
    assert_eq!(
        problem_code(json_body).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );

    let form = browser
        .post_form("/signout", &[("padding", big.as_str())])
        .await;
    assert_eq!(
        problem_code(form).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );

    let health = browser
        .http
        .post(browser.url("/healthz"))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn health_and_readiness_probes_answer() {
    let app = spawn_app().await;
    let browser = app.browser();
    let live: Value = browser
        .http
        .get(browser.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(live["status"], "ok");
    let ready = browser
        .http
        .get(browser.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["database"], "ok");
}

#[tokio::test]
async fn request_ids_are_generated_and_propagated() {
    let app = spawn_app().await;
    let browser = app.browser();
    let generated = browser
        .http
        .get(browser.url("/healthz"))
        .send()
        .await
        .unwrap();
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let given = browser
        .http
        .get(browser.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn request_ids_that_are_long_or_not_plain_are_replaced_not_echoed_or_logged() {
    let app = spawn_app().await;
    let browser = app.browser();
    let long = format!("long{}", "Qz7".repeat(1_332));
    assert_eq!(long.len(), 4_000);
    let sent: Vec<reqwest::header::HeaderValue> = [
        long.as_bytes(),
        b"tab\there",
        b"two words",
        "caf\u{e9}".as_bytes(),
        "rtl\u{202E}di".as_bytes(),
        b"semi;colon",
        b"",
    ]
    .iter()
    .map(|v| reqwest::header::HeaderValue::from_bytes(v).unwrap())
    .collect();
    for value in sent {
        let response = browser
            .http
            .get(browser.url("/healthz"))
            .header("x-request-id", value.clone())
            .send()
            .await
            .unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id.as_bytes(), value.as_bytes());
        assert!(uuid::Uuid::parse_str(id).is_ok(), "a new id: {id}");
    }
    assert!(
        !captured_logs().contains("Qz7Qz7Qz7"),
        "the long id is not logged"
    );
    let longest = "a".repeat(64);
    let kept = browser
        .http
        .get(browser.url("/healthz"))
        .header("x-request-id", &longest)
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], longest.as_str());
}

/// The methods an `Allow` header names.
fn allowed(response: &reqwest::Response) -> Vec<String> {
    let mut methods: Vec<String> = response.headers()["allow"]
        .to_str()
        .unwrap()
        .split(',')
        .map(|m| m.trim().to_string())
        .collect();
    methods.sort();
    methods
}

#[tokio::test]
async fn a_method_an_address_does_not_have_is_405_with_allow_before_any_other_check() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let cases: &[(&str, &str, &[&str])] = &[
        ("PUT", "/signin", &["GET", "HEAD"]),
        ("DELETE", "/cards", &["GET", "HEAD", "POST"]),
        ("PATCH", "/checkout/abc/approve", &["POST"]),
        ("PUT", "/", &["GET", "HEAD"]),
        ("PUT", "/oauth/token", &["POST"]),
        ("GET", "/oauth/par", &["POST"]),
        ("DELETE", "/v1/payments", &["GET", "HEAD", "POST"]),
        ("PUT", "/v1/payments/pay_1/capture", &["POST"]),
        ("POST", "/healthz", &["GET", "HEAD"]),
    ];
    for (method, path, methods) in cases {
        let response = http
            .request(method.parse().unwrap(), app.base.join(path).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(allowed(&response), *methods, "{method} {path}");
        assert_eq!(
            problem_code(response).await,
            (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed".to_string()
            ),
            "{method} {path}"
        );
    }
    // A browser gets the error page, with `Allow` too.
    let page = http
        .put(app.base.join("/signin").unwrap())
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(allowed(&page), ["GET", "HEAD"]);
    assert!(page.text().await.unwrap().contains("method_not_allowed"));
    // The checks still guard the methods an address has.
    let forged = http
        .post(app.base.join("/signout").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let anonymous = http
        .post(app.base.join("/v1/payments").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn page_scripts_and_styles_match_their_integrity_digests() {
    let app = spawn_app().await;
    let browser = app.browser();
    let html = browser.html("/signin").await;
    let mut checked = 0;
    for tag in html
        .split('<')
        .filter(|t| t.starts_with("script") || t.starts_with("link rel=\"stylesheet\""))
    {
        let attr = |name: &str| {
            let marker = format!("{name}=\"");
            let start = tag.find(&marker)? + marker.len();
            Some(tag[start..start + tag[start..].find('"')?].to_string())
        };
        let (Some(href), Some(integrity)) =
            (attr("src").or_else(|| attr("href")), attr("integrity"))
        else {
            panic!("asset without integrity: <{tag}");
        };
        assert!(href.starts_with("/static/"), "only our own origin: {href}");
        let body = browser
            .http
            .get(browser.url(&href))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let digest = ring::digest::digest(&ring::digest::SHA384, &body);
        assert_eq!(
            integrity,
            format!("sha384-{}", STANDARD.encode(digest.as_ref())),
            "{href}"
        );
        checked += 1;
    }
    assert_eq!(checked, 2, "one script and one stylesheet");
}
