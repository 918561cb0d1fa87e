//! The token exchange and the grants it makes: codes are one-time and bound to the client, the
//! redirect URI and the verifier, and expire; forged grants are refused and rotated signing keys
//! stay published.

use reqwest::StatusCode;
use saifu::clock::unix_now;
use saifu::config::Config;
use saifu_sdk::checkout::{MerchantCredentials, OAuthErrorBody};
use saifu_sdk::{Error as SdkError, MerchantConfig, SaifuClient};
use serde_json::{json, Value};
use url::Url;

use crate::helpers::{
    merchant, paid, param, sdk, shopper, spawn_app, spawn_app_with, TestApp, CALLBACK,
};

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
    let revoked = app
        .state
        .store
        .find_grant(&jti)
        .await
        .unwrap()
        .unwrap()
        .grant;
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
        .rotate(unix_now(), 720, &saifu::audit::Actor::Cli)
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
async fn token_answers_are_never_cached_whether_granted_or_refused() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "nocache@example.com").await;
    let (callback, pending) = paid(&merchant_sdk, &mut shopper).await;
    let code = param(&callback, "code").unwrap();
    let exchange = |secret: &str| {
        reqwest::Client::new()
            .post(app.base.join("/oauth/token").unwrap())
            .basic_auth(&creds.client_id, Some(secret.to_string()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", pending.code_verifier()),
            ])
            .send()
    };
    let granted = exchange(&creds.client_secret).await.unwrap();
    let refused = exchange(&creds.client_secret).await.unwrap();
    let unauthenticated = exchange("saifu_sk_wrong").await.unwrap();
    for (response, status) in [
        (granted, StatusCode::OK),
        (refused, StatusCode::BAD_REQUEST),
        (unauthenticated, StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(response.status(), status);
        assert_eq!(response.headers()["cache-control"], "no-store", "{status}");
        assert_eq!(response.headers()["pragma"], "no-cache", "{status}");
    }
}
