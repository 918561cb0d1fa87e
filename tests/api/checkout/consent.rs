//! The consent page: cancelling answers `access_denied`, a suspended merchant gets nothing, and
//! a signed-out shopper signs up from the page and comes back to the same consent.

use reqwest::StatusCode;
use saifu::merchants::MerchantStatus;
use saifu_sdk::Error as SdkError;
use serde_json::{json, Value};
use url::Url;

use crate::helpers::{
    frames, merchant, open_consent, paid, param, sdk, set_merchant_status, shopper, spawn_app,
    TestPasskey,
};

#[tokio::test]
async fn cancelling_returns_access_denied_and_a_suspended_merchant_gets_nothing() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", false).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "cancel@example.com").await;

    let (url, pending) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let page = shopper.browser.html(&consent).await;
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
    set_merchant_status(&app, &creds.client_id, MerchantStatus::Suspended).await;
    let err = merchant_sdk
        .complete_checkout(&callback, &pending)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SdkError::OAuth { error, .. } if error == "unauthorized_client"),
        "{err:?}"
    );
    // And its checkouts are closed.
    set_merchant_status(&app, &creds.client_id, MerchantStatus::Verified).await;
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    set_merchant_status(&app, &creds.client_id, MerchantStatus::Suspended).await;
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
    let page = browser.html(&consent).await;
    let next = url::form_urlencoded::byte_serialize(consent.as_bytes()).collect::<String>();
    assert!(
        page.contains(&format!("/signin?next={next}"))
            && page.contains(&format!("/signup?next={next}"))
    );
    assert!(
        !page.contains("id=\"pay-form\"") && !page.contains("name=\"card_id\""),
        "no card chooser before sign-in"
    );
    assert!(
        page.contains("Pay ¥12,800 with a passkey"),
        "one touch for a returning shopper"
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
    let page = browser.html(&consent).await;
    assert!(
        page.contains(&format!("/cards/new?return_to={next}")),
        "add a card and come back"
    );

    // Another browser cannot use this consent.
    let r = app.browser().get_html(&consent).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
