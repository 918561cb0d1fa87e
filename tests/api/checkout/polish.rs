//! The checkout as a shopper meets it: one touch for a returning shopper who is signed out, no
//! dead ends after the consent is closed, sign-in and sign-up paths that come back, the card
//! just added selected, and Japanese.

use reqwest::StatusCode;
use serde_json::{json, Value};
use url::Url;

use crate::helpers::{frames, merchant, offered_cards, open_consent, sdk, shopper, spawn_app};

/// The card a consent page has selected.
pub(super) fn checked_card(html: &str) -> Option<String> {
    html.split("name=\"card_id\" id=\"card-")
        .skip(1)
        .find(|radio| radio[..radio.find('>').unwrap_or(radio.len())].contains(" checked"))
        .map(|radio| radio[..36].to_string())
}

#[tokio::test]
async fn a_signed_out_shopper_pays_with_one_touch_using_their_default_card() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "one-touch@example.com").await;
    // The default card, as a signed-in consent selects it.
    let (url, _) = shop.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let default = checked_card(&shopper.browser.html(&consent).await).expect("a default card");
    let r = shopper.browser.post_form("/signout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let (url, pending) = shop.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let page = shopper.browser.html(&consent).await;
    assert!(page.contains("Pay ¥12,800 with a passkey"), "{page}");
    assert!(page.contains("Sign in to choose a card or use points"));
    let r = shopper
        .browser
        .post_json(&format!("{consent}/one-touch/begin"), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let options: Value = r.json().await.unwrap();
    let allowed = &options["publicKey"]["allowCredentials"];
    assert!(
        allowed.is_null() || allowed.as_array().is_some_and(Vec::is_empty),
        "the passkey names the shopper: {options}"
    );
    let options = serde_json::from_value(options).unwrap();
    let assertion =
        serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
    let r = shopper
        .browser
        .post_form(
            &format!("{consent}/one-touch"),
            &[("credential", &assertion.to_string())],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let callback = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let grant = shop.complete_checkout(&callback, &pending).await.unwrap();
    let stored = app
        .state
        .store
        .find_grant(&grant.claims.jti)
        .await
        .unwrap()
        .expect("grant recorded")
        .grant;
    assert_eq!(stored.card_id, default, "the default card is charged");
    assert_eq!(grant.claims.authorization_details, vec![frames()]);
    assert!(
        shopper.browser.signed_in_as().await.is_some(),
        "the one touch signed the shopper in"
    );

    // The same assertion is used up: it approves nothing else.
    let (url, _) = shop.start_checkout(&frames()).await.unwrap();
    let other = open_consent(&shopper.browser, &url).await;
    let r = shopper
        .browser
        .post_form(
            &format!("{other}/approve"),
            &[
                ("card_id", &default),
                ("points", "0"),
                ("credential", &assertion.to_string()),
            ],
        )
        .await;
    assert_ne!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_one_touch_assertion_signed_for_another_payment_is_refused() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "one-touch-swap@example.com").await;
    shopper.browser.post_form("/signout", &[]).await;
    let (first_url, _) = shop.start_checkout(&frames()).await.unwrap();
    let first = open_consent(&shopper.browser, &first_url).await;
    let (second_url, _) = shop.start_checkout(&frames()).await.unwrap();
    let second = open_consent(&shopper.browser, &second_url).await;
    let assertion = shopper.one_touch_assertion(&first).await;
    let r = shopper
        .browser
        .post_form(
            &format!("{second}/one-touch"),
            &[("credential", &assertion.to_string())],
        )
        .await;
    assert_ne!(r.status(), StatusCode::SEE_OTHER);
    assert!(shopper.browser.signed_in_as().await.is_none());
}

#[tokio::test]
async fn back_after_paying_offers_the_shop_and_the_order_not_a_conflict() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "back@example.com").await;
    let (url, _) = shop.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    shopper.confirm(&consent, 0).await;

    let r = shopper.browser.get_html(&consent).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let page = r.text().await.unwrap();
    for shown in [
        "This payment is already finished",
        "Back to Frame Shop",
        "href=\"http://localhost:3000/\"",
        "href=\"/activity\"",
        "Sign out",
    ] {
        assert!(page.contains(shown), "the page shows {shown}: {page}");
    }
    assert!(!page.contains(">Conflict<"), "{page}");
    assert!(!page.contains(">Sign in<"), "the header knows the shopper");

    shopper
        .browser
        .post_form("/language", &[("lang", "ja"), ("next", "/")])
        .await;
    let page = shopper.browser.html(&consent).await;
    for shown in [
        "この支払いはすでに終わっています",
        "Frame Shop に戻る",
        "利用履歴で注文を見る",
    ] {
        assert!(page.contains(shown), "the page shows {shown}: {page}");
    }
}

#[tokio::test]
async fn a_cancelled_consent_offers_the_way_back_to_the_shop() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let shopper = shopper(&app, "cancelled@example.com").await;
    let (url, _) = shop.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    shopper
        .browser
        .post_form(&format!("{consent}/cancel"), &[])
        .await;
    let page = shopper.browser.html(&consent).await;
    assert!(page.contains("Back to Frame Shop"), "{page}");
    assert!(
        !page.contains("See your orders in Activity"),
        "nothing was ordered"
    );
}

#[tokio::test]
async fn sign_in_and_sign_up_from_a_consent_come_back_to_it() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let browser = app.browser();
    let (url, _) = shop.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&browser, &url).await;
    let next: String = url::form_urlencoded::byte_serialize(consent.as_bytes()).collect();
    let page = browser.html(&consent).await;
    assert!(page.contains(&format!("/signin?next={next}")), "{page}");
    assert!(page.contains(&format!("/signup?next={next}")));
    // The header's links get the consent from the page (the script reads it here).
    assert!(page.contains(&format!("data-consent-page=\"{next}\"")));

    let signin = browser.html(&format!("/signin?next={next}")).await;
    assert!(signin.contains(&format!("/signup?next={next}")), "{signin}");
    assert!(signin.contains("After signing in you return to your payment."));
    let signup = browser.html(&format!("/signup?next={next}")).await;
    assert!(signup.contains(&format!("/signin?next={next}")), "{signup}");
    // Without a way back, the pages link each other plainly.
    assert!(browser.html("/signin").await.contains("href=\"/signup\""));
}

#[tokio::test]
async fn a_card_added_from_the_consent_is_selected_there() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let shopper = shopper(&app, "added@example.com").await;
    let (url, _) = shop.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let cards = offered_cards(&shopper.browser, &consent).await;
    let default = checked_card(&shopper.browser.html(&consent).await).unwrap();
    let added = cards.iter().find(|c| **c != default).unwrap();

    let page = shopper
        .browser
        .html(&format!("{consent}?card={added}"))
        .await;
    assert_eq!(checked_card(&page).as_deref(), Some(added.as_str()));
    assert!(page.contains("The card you added is selected."));

    // Someone else's card (or nonsense) selects nothing new.
    let stranger = "00000000-0000-4000-8000-000000000000";
    let page = shopper
        .browser
        .html(&format!("{consent}?card={stranger}"))
        .await;
    assert_eq!(checked_card(&page).as_deref(), Some(default.as_str()));
    assert!(!page.contains("The card you added is selected."));
}

#[tokio::test]
async fn the_consent_and_its_errors_speak_japanese() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let shopper = shopper(&app, "ja@example.com").await;
    shopper
        .browser
        .post_form("/language", &[("lang", "ja"), ("next", "/")])
        .await;
    let (url, _) = shop.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let page = shopper.browser.html(&consent).await;
    for shown in [
        "<html lang=\"ja\"",
        "Frame Shop への支払い",
        "¥12,800 を支払う",
        "注文番号",
        "支払い方法",
        "キャンセルして Frame Shop に戻る",
        "data-msg-cancelled=\"パスキーの操作がキャンセルされたか",
    ] {
        assert!(page.contains(shown), "the page shows {shown}: {page}");
    }
    // The JSON answers the consent's script reads are in Japanese too.
    let r = shopper
        .browser
        .post_json(
            &format!("{consent}/begin"),
            &json!({ "card_id": "00000000-0000-4000-8000-000000000000", "points": 0 }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "unknown_card");
    assert_eq!(problem["detail"], "お持ちのカードから選んでください。");
}

#[tokio::test]
async fn the_order_number_wraps_only_at_its_separators() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let shopper = shopper(&app, "wrap@example.com").await;
    let details = saifu_sdk::checkout::PaymentDetails::new("JPY", "12800", "ORDER-2026-11-000123")
        .with_item("Frames", 1, "12800");
    let (url, _) = shop.start_checkout(&details).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let page = shopper.browser.html(&consent).await;
    assert!(
        page.contains("ORDER-<wbr>2026-<wbr>11-<wbr>000123<wbr>"),
        "{page}"
    );
}

#[tokio::test]
async fn one_touch_without_a_usable_card_signs_in_and_comes_back_to_the_consent() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let browser = app.browser();
    let mut key = crate::helpers::TestPasskey::new();
    let r = browser
        .sign_up(&mut key, &app.origin(), "Nao", "no-card@example.com")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    browser.post_form("/signout", &[]).await;

    let (url, _) = shop.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&browser, &url).await;
    let r = browser
        .post_json(&format!("{consent}/one-touch/begin"), &json!({}))
        .await;
    let options = serde_json::from_value(r.json::<Value>().await.unwrap()).unwrap();
    let assertion = serde_json::to_value(key.assert(&app.origin(), options).unwrap()).unwrap();
    let r = browser
        .post_form(
            &format!("{consent}/one-touch"),
            &[("credential", &assertion.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"].to_str().unwrap(), consent);
    let page = browser.html(&consent).await;
    assert!(
        page.contains("You have no cards in your wallet yet."),
        "{page}"
    );
    assert!(page.contains("Add a card"));
}

#[tokio::test]
async fn one_touch_is_not_offered_when_the_shop_asks_for_an_address() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let shop = sdk(&app, &creds).await;
    let browser = app.browser();
    let mut details = frames();
    details.shipping = Some(saifu_sdk::checkout::Shipping {
        required: true,
        address: None,
    });
    let (url, _) = shop.start_checkout(&details).await.unwrap();
    let consent = open_consent(&browser, &url).await;
    let page = browser.html(&consent).await;
    assert!(!page.contains("one-touch-form"), "{page}");
    assert!(page.contains("Sign in to pay"));
    let r = browser
        .post_json(&format!("{consent}/one-touch/begin"), &json!({}))
        .await;
    let (status, code) = crate::helpers::problem_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "one_touch_unavailable")
    );
}
