//! `/openapi.json`: an OpenAPI 3 document that lists exactly the router's `/oauth` and `/v1`
//! operations, whose schemas real answers validate against, and whose code enums hold every
//! code the wallet's source can answer with.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use saifu::http::openapi::{CLI_CODES, OAUTH_ERRORS, PROBLEM_CODES};
use saifu_sdk::checkout::Amount;
use serde_json::{json, Value};

use crate::helpers::{merchant, paid, sdk, shopper, spawn_app, TestApp};

pub(crate) async fn document(app: &TestApp) -> Value {
    let response = reqwest::get(app.base.join("/openapi.json").unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    serde_json::from_slice(&response.bytes().await.unwrap()).expect("the document is JSON")
}

/// The document's operations on the merchant-facing paths: path → methods (upper case).
fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(|k| k.to_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of every `.rs` file under `dir` (of the crate), without its tests.
fn sources(dir: &str) -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    source_files(&root.join(dir), &mut files);
    files
        .into_iter()
        .filter(|f| !f.ends_with("tests.rs") && !f.components().any(|c| c.as_os_str() == "tests"))
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let code = match text.find("#[cfg(test)]") {
                Some(at) => text[..at].to_string(),
                None => text,
            };
            (f.strip_prefix(&root).unwrap().display().to_string(), code)
        })
        .collect()
}

/// The index of the `)` closing the `(` at `open`.
fn closing(code: &str, open: usize) -> usize {
    let mut depth = 0;
    for (i, c) in code[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return open + i;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses");
}

/// The routes `src/http/` declares with `.route("PATH", get(…).post(…))`: path → methods.
fn routes_in_source() -> BTreeMap<String, BTreeSet<String>> {
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, code) in sources("src/http") {
        for (at, _) in code.match_indices(".route(\"") {
            let open = at + ".route".len();
            let call = &code[open..=closing(&code, open)];
            let path = call[2..].split('"').next().unwrap().to_string();
            let methods = routes.entry(path).or_default();
            for method in ["get", "post", "put", "patch", "delete"] {
                for (i, _) in call.match_indices(&format!("{method}(")) {
                    let before = call[..i].chars().last().unwrap();
                    if !(before.is_alphanumeric() || before == '_') {
                        methods.insert(method.to_uppercase());
                    }
                }
            }
        }
    }
    routes
}

fn merchant_facing(path: &str) -> bool {
    path.starts_with("/oauth/") || path.starts_with("/v1/") || path.starts_with("/.well-known/")
}

#[tokio::test]
async fn the_openapi_document_is_openapi_3_with_basic_auth_and_idempotency_keys() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "OpenAPI 3.x: {}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Saifu");
    assert_eq!(
        doc["components"]["securitySchemes"]["merchant"],
        json!({"type": "http", "scheme": "basic", "description": doc["components"]["securitySchemes"]["merchant"]["description"]})
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !path.starts_with("/v1/") {
                continue;
            }
            assert_eq!(
                operation["security"],
                json!([{"merchant": []}]),
                "{method} {path} needs the merchant's credentials"
            );
            let key = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == "Idempotency-Key");
            if method == "post" {
                let key = key.unwrap_or_else(|| panic!("{method} {path} takes Idempotency-Key"));
                assert_eq!(
                    (&key["in"], &key["required"]),
                    (&json!("header"), &json!(true))
                );
                let problem = &operation["responses"]["400"]["content"]["application/problem+json"];
                assert_eq!(problem["schema"]["$ref"], "#/components/schemas/Problem");
            } else {
                assert!(key.is_none(), "{method} {path} takes no Idempotency-Key");
            }
        }
    }
    for form in ["/oauth/par", "/oauth/token"] {
        let body = &doc["paths"][form]["post"]["requestBody"]["content"];
        assert!(
            body["application/x-www-form-urlencoded"].is_object(),
            "{form} is form-encoded: {body}"
        );
    }
    let problem = &doc["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "code"] {
        assert!(problem["required"]
            .as_array()
            .unwrap()
            .contains(&json!(field)));
    }
    for field in ["detail", "field", "decline_code"] {
        assert!(problem["properties"][field].is_object(), "{field}");
    }
    let codes = problem["properties"]["code"]["enum"].as_array().unwrap();
    assert_eq!(codes.len(), PROBLEM_CODES.len());
    assert!(codes.contains(&json!("currency_mismatch")));
    let errors = &doc["components"]["schemas"]["OAuthErrorBody"]["properties"]["error"]["enum"];
    assert_eq!(errors.as_array().unwrap().len(), OAUTH_ERRORS.len());
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routers_oauth_and_v1_paths_and_methods() {
    let app = spawn_app().await;
    let doc = documented(&document(&app).await);
    let routed: BTreeMap<String, BTreeSet<String>> = routes_in_source()
        .into_iter()
        .filter(|(path, _)| merchant_facing(path))
        .collect();
    assert!(
        routed.contains_key("/v1/payments/{id}/refunds"),
        "{routed:?}"
    );
    assert_eq!(doc, routed, "the document and the routers disagree");
    let creds = merchant(&app, "Frame Shop", true).await;

    // The running router agrees: OPTIONS (which no route takes, and which the wallet pages' CSRF
    // check lets through) is 405 on each path, allowing exactly the documented methods.
    for (path, methods) in &doc {
        let url = app.base.join(&path.replace("{id}", "pay_x")).unwrap();
        let response = reqwest::Client::new()
            .request(Method::OPTIONS, url)
            .basic_auth(&creds.client_id, Some(&creds.client_secret))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "OPTIONS {path}"
        );
        let allowed: BTreeSet<String> = response.headers()["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| m != "HEAD")
            .collect();
        assert_eq!(&allowed, methods, "{path}");
    }
}

/// Codes the source answers with: the first argument of `Error::new(Kind::…, "code"`,
/// `Error::invalid|conflict|forbidden("code"`, a payment status check's code, and the
/// `("code", "Words…")` pairs that are turned into errors; and the RFC 6749 `error`s of
/// `OAuthFailure::new("error"`.
fn codes_in_source() -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut problems, mut oauth) = (BTreeSet::new(), BTreeSet::new());
    for (file, code) in sources("src") {
        for (at, _) in code.match_indices('"') {
            let rest = &code[at + 1..];
            let Some(len) = rest.find('"') else { continue };
            let literal = &rest[..len];
            if literal.is_empty()
                || !literal
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                continue;
            }
            let before = code[..at].trim_end();
            let after = rest[len + 1..].trim_start();
            let last_path = before
                .rsplit(|c: char| c.is_whitespace() || c == '(' || c == '!')
                .next()
                .unwrap_or("");
            let oauth_call = before.ends_with("OAuthFailure::new(")
                || (file.ends_with("failure.rs") && before.ends_with("Self::new("));
            if oauth_call {
                oauth.insert(literal.to_string());
            } else if before.ends_with("Error::invalid(")
                || before.ends_with("Error::conflict(")
                || before.ends_with("Error::forbidden(")
                || (last_path.starts_with("Kind::") && last_path.ends_with(','))
                || (last_path.starts_with("PaymentStatus::") && last_path.ends_with(','))
                || (before.ends_with('(')
                    && literal.contains('_')
                    && after.starts_with(',')
                    && after[1..]
                        .trim_start()
                        .strip_prefix('"')
                        .is_some_and(|words| words.starts_with(|c: char| c.is_ascii_uppercase())))
            {
                problems.insert(literal.to_string());
            }
        }
    }
    (problems, oauth)
}

#[test]
fn every_code_the_source_answers_with_is_in_the_one_list_of_codes() {
    let (problems, oauth) = codes_in_source();
    for sure in [
        "currency_mismatch",
        "payment_not_capturable",
        "not_found",
        "too_many_attempts",
    ] {
        assert!(
            problems.contains(sure),
            "the scan finds {sure}: {problems:?}"
        );
    }
    let listed: BTreeSet<&str> = PROBLEM_CODES.iter().chain(CLI_CODES).copied().collect();
    let missing: Vec<&String> = problems
        .iter()
        .filter(|c| !listed.contains(c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "add these codes to src/http/openapi/codes.rs: {missing:?}"
    );
    let missing: Vec<&String> = oauth
        .iter()
        .filter(|c| !OAUTH_ERRORS.contains(&c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "add these OAuth errors to src/http/openapi/codes.rs: {missing:?}"
    );
    let unused: Vec<&&str> = listed.iter().filter(|c| !problems.contains(**c)).collect();
    assert!(unused.is_empty(), "listed but never answered: {unused:?}");
    let all: Vec<&str> = PROBLEM_CODES.iter().chain(CLI_CODES).copied().collect();
    assert_eq!(all.len(), listed.len(), "a code is listed twice");
}

/// Validates `instance` against the document's `#/components/schemas/{name}`.
pub(crate) fn validate(doc: &Value, name: &str, instance: &Value) {
    let url = "http://saifu.invalid/openapi.json";
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(url, doc.clone()).unwrap();
    let index = compiler
        .compile(&format!("{url}#/components/schemas/{name}"), &mut schemas)
        .unwrap_or_else(|e| panic!("the {name} schema compiles: {e:#}"));
    if let Err(e) = schemas.validate(instance, index) {
        panic!("{instance} does not validate against {name}: {e:#}");
    }
}

#[tokio::test]
async fn real_answers_validate_against_their_schemas() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "schema@example.com").await;
    let (callback, pending) = paid(&client, &mut shopper).await;
    let grant = client.complete_checkout(&callback, &pending).await.unwrap();
    let payment = client
        .pay(&grant.token, &Amount::new("JPY", "12800"), false, None)
        .await
        .unwrap();

    let get = |path: String| {
        let url = app.base.join(&path).unwrap();
        let creds = creds.clone();
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .basic_auth(&creds.client_id, Some(&creds.client_secret))
                .send()
                .await
                .unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = get(format!("/v1/payments/{}", payment.id)).await;
    assert_eq!(status, StatusCode::OK);
    validate(&doc, "Payment", &body);
    let (status, body) = get("/v1/payments?order_reference=A-1001".into()).await;
    assert_eq!(status, StatusCode::OK);
    validate(&doc, "Payment", &body);
    let (status, body) = get("/v1/payments/pay_nope".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    validate(&doc, "Problem", &body);
    let (status, body) = get("/.well-known/oauth-authorization-server".into()).await;
    assert_eq!(status, StatusCode::OK);
    validate(&doc, "AuthorizationServerMetadata", &body);
    let (status, body) = get("/oauth/jwks".into()).await;
    assert_eq!(status, StatusCode::OK);
    validate(&doc, "JwkSet", &body);

    // A wrong answer is caught: the schemas are not empty.
    let mut broken = body.clone();
    broken["keys"][0]["kid"] = json!(7);
    let url = "http://saifu.invalid/openapi.json";
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(url, doc.clone()).unwrap();
    let index = compiler
        .compile(&format!("{url}#/components/schemas/JwkSet"), &mut schemas)
        .unwrap();
    assert!(schemas.validate(&broken, index).is_err());
}
