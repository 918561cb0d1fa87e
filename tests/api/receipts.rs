//! Signed receipts: made at approval with what the shopper approved, stored before the grant
//! exists and found by payment id afterwards; refused once changed by one byte; still valid
//! from a retired key while the JWKS lists it; never taken for a grant (nor a grant for a
//! receipt); only for the payment's own merchant and shopper; checked offline by the CLI.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use saifu::clock::unix_now;
use saifu_sdk::checkout::{JwkSet, MerchantCredentials};
use saifu_sdk::receipts::{verify_receipt, ReceiptError, SignedReceipt, RECEIPT_TYP};
use saifu_sdk::{Error, SaifuClient};
use serde_json::Value;

use crate::helpers::{
    count_rows, frames, jpy, merchant, open_consent, problem_code, sdk, shopper, spawn_app,
    Shopper, TestApp,
};

/// A captured payment of `frames()` and everything about it the tests look at.
struct Paid {
    app: TestApp,
    creds: MerchantCredentials,
    client: SaifuClient,
    shopper: Shopper,
    consent_id: String,
    grant: String,
    payment_id: String,
}

/// A verified shop, a shopper who approves `frames()`, the merchant's grant and payment.
async fn paid(app: TestApp) -> Paid {
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "receipts@example.com").await;
    let (url, pending) = client.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let consent_id = consent.rsplit('/').next().unwrap().to_string();
    let callback = shopper.confirm(&consent, 0).await;
    // Stored with the approval, before any grant or payment.
    assert!(
        app.state
            .receipts
            .of_approval(&consent_id)
            .await
            .unwrap()
            .is_some(),
        "the receipt is stored at approval"
    );
    let grant = client
        .complete_checkout(&callback, &pending)
        .await
        .unwrap()
        .token;
    let payment = client.pay(&grant, &jpy("12800"), true, None).await.unwrap();
    Paid {
        app,
        creds,
        client,
        shopper,
        consent_id,
        grant,
        payment_id: payment.id,
    }
}

async fn jwks(app: &TestApp) -> JwkSet {
    reqwest::get(app.base.join("/oauth/jwks").unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn encode(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
}

/// The verdict the `/receipts/verify` page gives `text`.
async fn page_verdict(shopper: &Shopper, text: &str) -> (String, String) {
    let r = shopper
        .browser
        .post_form("/receipts/verify", &[("receipt", text)])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let verdict = html
        .split("data-verdict=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string();
    (verdict, html)
}

/// The shopper's download of a payment's receipt.
async fn download(shopper: &Shopper, payment_id: &str) -> reqwest::Response {
    let browser = &shopper.browser;
    browser
        .http
        .get(browser.url(&format!("/activity/{payment_id}/receipt")))
        .header("accept", "application/jwt")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_receipt_is_signed_at_approval_with_what_the_shopper_approved() {
    let p = paid(spawn_app().await).await;
    let receipt = p.client.receipt(&p.payment_id).await.unwrap();

    // Its own typ, the wallet's key, ES256.
    let parts: Vec<&str> = receipt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = decode(parts[0]);
    assert_eq!(header["typ"], RECEIPT_TYP);
    assert_eq!(header["alg"], "ES256");
    let keys = jwks(&p.app).await;
    assert_eq!(header["kid"], keys.keys[0].kid.as_str());

    let claims = verify_receipt(&receipt, &keys).unwrap();
    assert_eq!(claims.iss, p.app.state.checkout.issuer());
    assert!((unix_now() - claims.iat).abs() < 60, "approved just now");
    assert_eq!(claims.receipt_version, 1);
    assert_eq!(claims.payment_reference, p.consent_id);
    let grant_claims = decode(p.grant.split('.').nth(1).unwrap());
    assert_eq!(
        claims.grant_id,
        grant_claims["jti"].as_str().unwrap(),
        "the grant carries the id the receipt named at approval"
    );
    assert_eq!(claims.merchant.client_id, p.creds.client_id);
    assert_eq!(claims.merchant.name, "Frame Shop");
    assert_eq!(claims.merchant.domain, "frame-shop.example");
    assert_eq!(claims.merchant.status, "verified");
    assert_eq!(claims.order_reference, "A-1001");
    assert_eq!(claims.amount, jpy("12800"));
    assert_eq!(claims.line_items, frames().line_items);
    assert_eq!(claims.points_used, 0);
    assert_eq!(
        claims.points_earned_estimate, 128,
        "¥12,800 at 1 point per ¥100"
    );
    assert_eq!(claims.card.brand, "Visa");
    assert_eq!(claims.card.last4, "4242");
    let digest = URL_SAFE_NO_PAD.decode(&claims.confirmation_sha256).unwrap();
    assert_eq!(digest.len(), 32, "a SHA-256 digest");

    // The shopper downloads the same receipt from Activity.
    let activity = p.shopper.browser.html("/activity").await;
    assert!(activity.contains(&format!("/activity/{}/receipt", p.payment_id)));
    let r = download(&p.shopper, &p.payment_id).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/jwt");
    let disposition = r.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;") && disposition.contains(".jws"));
    assert_eq!(r.text().await.unwrap(), receipt);

    // And the verify page says it is genuine, showing what it says.
    let (verdict, html) = page_verdict(&p.shopper, &receipt).await;
    assert_eq!(verdict, "valid");
    assert!(html.contains("Frame Shop") && html.contains("A-1001") && html.contains("4242"));
    assert_eq!(count_rows(&p.app, "receipts").await, 1);
}

#[tokio::test]
async fn a_receipt_changed_by_one_byte_is_refused() {
    let p = paid(spawn_app().await).await;
    let receipt = p.client.receipt(&p.payment_id).await.unwrap();
    let keys = jwks(&p.app).await;
    let parts: Vec<&str> = receipt.split('.').collect();

    // One byte of the content: 12800 becomes 12900, the signature kept.
    let mut claims = decode(parts[1]);
    let amount = claims["amount"]["amount"]
        .as_str()
        .unwrap()
        .replace("128", "129");
    claims["amount"]["amount"] = Value::String(amount);
    let changed = format!("{}.{}.{}", parts[0], encode(&claims), parts[2]);
    assert_eq!(
        verify_receipt(&changed, &keys).unwrap_err(),
        ReceiptError::SignatureInvalid
    );
    assert_eq!(
        page_verdict(&p.shopper, &changed).await.0,
        "signature_invalid"
    );

    // One character of the compact form, in the signature (not its last, whose low bits the
    // encoding may ignore).
    let mut bytes = receipt.clone().into_bytes();
    let at = receipt.len() - 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(bytes).unwrap();
    assert_ne!(flipped, receipt);
    assert!(verify_receipt(&flipped, &keys).is_err());
    assert_ne!(page_verdict(&p.shopper, &flipped).await.0, "valid");

    // The original still verifies.
    assert!(verify_receipt(&receipt, &keys).is_ok());
    assert_eq!(page_verdict(&p.shopper, &receipt).await.0, "valid");
}

#[tokio::test]
async fn a_receipt_signed_by_a_retired_key_verifies_while_the_jwks_lists_it() {
    let p = paid(spawn_app().await).await;
    let receipt = p.client.receipt(&p.payment_id).await.unwrap();
    let signed_by = SignedReceipt::parse(&receipt).unwrap().kid;
    let active = p
        .app
        .state
        .checkout
        .signer
        .rotate(unix_now(), 720, &saifu::audit::Actor::Cli)
        .await
        .unwrap();
    assert_ne!(active, signed_by);
    let keys = jwks(&p.app).await;
    assert_eq!(keys.keys.len(), 2, "the retired key is still published");
    assert!(verify_receipt(&receipt, &keys).is_ok());
    assert_eq!(page_verdict(&p.shopper, &receipt).await.0, "valid");
    let checked = p
        .app
        .state
        .receipts
        .verify(&receipt, unix_now())
        .await
        .unwrap();
    assert_eq!(checked.kid.as_deref(), Some(signed_by.as_str()));

    // A key set without it (once the retired key is no longer listed): unknown key.
    let mut unlisted = keys.clone();
    unlisted.keys.retain(|k| k.kid != signed_by);
    assert_eq!(
        verify_receipt(&receipt, &unlisted).unwrap_err(),
        ReceiptError::UnknownKey(signed_by)
    );
}

#[tokio::test]
async fn a_receipt_is_not_a_grant_and_a_grant_is_not_a_receipt() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "typ@example.com").await;
    let (url, pending) = client.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let consent_id = consent.rsplit('/').next().unwrap().to_string();
    let callback = shopper.confirm(&consent, 0).await;
    let grant = client
        .complete_checkout(&callback, &pending)
        .await
        .unwrap()
        .token;
    let receipt = app
        .state
        .receipts
        .of_approval(&consent_id)
        .await
        .unwrap()
        .unwrap();

    // The receipt presented as a grant: refused, nothing paid.
    match client.pay(&receipt, &jpy("12800"), true, None).await {
        Err(Error::Problem { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (400, "invalid_grant"));
        }
        other => panic!("a receipt was taken as a grant: {other:?}"),
    }
    assert_eq!(count_rows(&app, "payments").await, 0);

    // The grant presented as a receipt: not a receipt, on the page and offline.
    let (verdict, _) = page_verdict(&shopper, &grant).await;
    assert_eq!(verdict, "not_a_receipt");
    assert!(matches!(
        verify_receipt(&grant, &jwks(&app).await).unwrap_err(),
        ReceiptError::NotAReceipt(_)
    ));

    // The real grant still pays.
    let payment = client.pay(&grant, &jpy("12800"), true, None).await.unwrap();
    assert_eq!(client.receipt(&payment.id).await.unwrap(), receipt);
}

#[tokio::test]
async fn only_the_payments_merchant_and_shopper_get_its_receipt() {
    let p = paid(spawn_app().await).await;
    let other = merchant(&p.app, "Other Shop", true).await;
    let other_client = sdk(&p.app, &other).await;
    match other_client.receipt(&p.payment_id).await {
        Err(Error::Problem { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (404, "not_found"));
        }
        other => panic!("another merchant fetched the receipt: {other:?}"),
    }
    // Without credentials.
    let r = reqwest::get(
        p.app
            .base
            .join(&format!("/v1/payments/{}/receipt", p.payment_id))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let stranger = shopper(&p.app, "stranger@example.com").await;
    let (status, code) = problem_code(download(&stranger, &p.payment_id).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, _) = problem_code(download(&p.shopper, "pay_unknown").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Signed out: no receipt.
    let r = p
        .app
        .browser()
        .get_html(&format!("/activity/{}/receipt", p.payment_id))
        .await;
    assert_ne!(r.status(), StatusCode::OK);

    // The owners still get it.
    assert_eq!(
        download(&p.shopper, &p.payment_id).await.status(),
        StatusCode::OK
    );
    assert!(p.client.receipt(&p.payment_id).await.is_ok());
}

async fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    let mut cmd = app.cli();
    cmd.env("SAIFU_ISSUER", app.origin().as_str()).args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_cli_verifies_a_receipt_offline_with_a_jwks_file() {
    let p = paid(spawn_app().await).await;
    let receipt = p.client.receipt(&p.payment_id).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipt.jws");
    let keys_file = dir.path().join("jwks.json");
    std::fs::write(&file, format!("{receipt}\n")).unwrap();
    std::fs::write(&keys_file, serde_json::to_vec(&jwks(&p.app).await).unwrap()).unwrap();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();

    let out = cli(
        &p.app,
        &[
            "receipt",
            "verify",
            &path(&file),
            "--jwks",
            &path(&keys_file),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["payment_reference"], p.consent_id.as_str());
    assert_eq!(printed["merchant"]["name"], "Frame Shop");
    assert_eq!(printed["amount"]["amount"], "12800");

    // Without --jwks: the keys come from the configured issuer.
    let out = cli(&p.app, &["receipt", "verify", &path(&file)]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Changed by one byte of its content: refused, with the reason.
    let parts: Vec<&str> = receipt.split('.').collect();
    let mut claims = decode(parts[1]);
    claims["points_used"] = Value::from(1);
    let tampered = dir.path().join("tampered.jws");
    std::fs::write(
        &tampered,
        format!("{}.{}.{}", parts[0], encode(&claims), parts[2]),
    )
    .unwrap();
    let out = cli(
        &p.app,
        &[
            "receipt",
            "verify",
            &path(&tampered),
            "--jwks",
            &path(&keys_file),
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing printed as if it were valid");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("signature"), "{stderr}");

    // A grant is not a receipt.
    let grant_file = dir.path().join("grant.jws");
    std::fs::write(&grant_file, &p.grant).unwrap();
    let out = cli(
        &p.app,
        &[
            "receipt",
            "verify",
            &path(&grant_file),
            "--jwks",
            &path(&keys_file),
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Saifu receipt"));
}
