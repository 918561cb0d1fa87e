//! The checkout flow end to end, with the Rust SDK as the merchant, soft passkeys as the
//! shopper and a cookie-keeping client as the browser; and every attack the contract lists,
//! each refused with the right error and without a code or a grant. Here: the whole journey
//! and the discovery metadata; then one module per step, as in the source: the pushed request,
//! the consent, the approval, the token exchange and its grants.

mod approval;
mod binding;
mod consent;
mod declines;
mod par;
mod polish;
mod token;

use reqwest::StatusCode;
use saifu::clock::unix_now;
use saifu_sdk::checkout::MerchantCredentials;
use serde_json::{json, Value};
use url::Url;

use crate::helpers::{
    assert_success, frames, merchant, offered_cards, open_consent, param, sdk, shopper, spawn_app,
    TestApp, CALLBACK,
};

#[tokio::test]
async fn a_cli_registered_merchant_gets_a_verified_one_time_grant_through_the_sdk() {
    let app = spawn_app().await;
    let out = app
        .cli()
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
        .env("SAIFU_ISSUER", app.base.as_str())
        .output()
        .unwrap();
    assert_success(&out);
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
    let page = shopper.browser.html(&consent).await;
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
        .expect("grant recorded")
        .grant;
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
