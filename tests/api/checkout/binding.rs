//! A consent belongs to the browser that opened it, by a key its session keeps (across the new
//! session id of a sign-in), without writing the session to open the consent; the approval's
//! ceremony is keyed by the session and the consent, without writing the session to start it:
//! two consents in two tabs each have their own, a second start replaces the first, and each
//! ceremony gets one attempt.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    count_rows, frames, merchant, offered_cards, open_consent, sdk, shopper, spawn_app,
    user_id_by_email, Shopper, TestApp,
};

/// Every stored session (its hashed id and data), to tell whether a step wrote one.
async fn sessions(app: &TestApp) -> Vec<(String, String)> {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let rows = sqlx::query("SELECT id_hash, data FROM sessions ORDER BY id_hash")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| (r.get("id_hash"), r.get("data")))
        .collect()
}

/// The passkey's signed answer to `options`.
fn signed(shopper: &mut Shopper, options: webauthn_rs_proto::RequestChallengeResponse) -> Value {
    serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap()
}

#[tokio::test]
async fn a_signed_in_shopper_opens_a_consent_and_begins_without_a_session_write() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "quiet@example.com").await;
    // A page first, as the shopper's browser has seen one (the CSRF token is read from one).
    shopper.browser.csrf().await;

    let before = sessions(&app).await;
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let card = offered_cards(&shopper.browser, &consent).await.remove(0);
    let options = shopper.begin(&consent, &card).await;
    assert_eq!(
        sessions(&app).await,
        before,
        "neither the consent nor the ceremony is kept in the session"
    );

    let assertion = signed(&mut shopper, options);
    let r = shopper.approve(&consent, &card, &assertion).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_consent_is_refused_in_another_browser_at_every_step() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut owner = shopper(&app, "owner@example.com").await;
    let other = shopper(&app, "other@example.com").await;
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&owner.browser, &url).await;
    let card = offered_cards(&owner.browser, &consent).await.remove(0);
    let options = owner.begin(&consent, &card).await;
    let owner_assertion = signed(&mut owner, options);

    // Another shopper's browser (with a key of its own) and a browser with no session at all.
    let other_id = user_id_by_email(&app, "other@example.com").await;
    let other_card = app.state.vault.cards(other_id).await.unwrap()[0]
        .id
        .to_string();
    let anonymous = app.browser();
    for browser in [&other.browser, &anonymous] {
        // Signed out, `begin` and `approve` ask for a sign-in first, as they always did.
        let refused = if std::ptr::eq(browser, &anonymous) {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(
            browser.get_html(&consent).await.status(),
            StatusCode::NOT_FOUND,
            "the consent page"
        );
        let r = browser
            .post_json(
                &format!("{consent}/begin"),
                &json!({ "card_id": other_card, "points": 0 }),
            )
            .await;
        assert_eq!(r.status(), refused, "begin");
        let r = browser
            .post_json(&format!("{consent}/one-touch/begin"), &json!({}))
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "one-touch begin");
        let r = browser
            .post_form(
                &format!("{consent}/approve"),
                &[
                    ("card_id", card.as_str()),
                    ("points", "0"),
                    ("credential", &owner_assertion.to_string()),
                ],
            )
            .await;
        assert_eq!(r.status(), refused, "approve");
        let r = browser
            .post_form(
                &format!("{consent}/one-touch"),
                &[("credential", &owner_assertion.to_string())],
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "one touch");
        let r = browser.post_form(&format!("{consent}/cancel"), &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "cancel");
    }
    assert_eq!(count_rows(&app, "auth_codes").await, 0);
    assert_eq!(
        count_rows(&app, "consents WHERE status = 'pending'").await,
        1,
        "still open"
    );

    // The browser that opened it still can, with the ceremony it started.
    let r = owner.approve(&consent, &card, &owner_assertion).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
}

#[tokio::test]
async fn a_consent_opened_signed_out_is_used_after_signing_in_in_the_same_browser() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let registered = shopper(&app, "later@example.com").await;

    // A browser with no session opens the consent, then signs in: a new session id.
    let browser = app.browser();
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&browser, &url).await;
    let page = browser.get_html(&consent).await;
    assert_eq!(page.status(), StatusCode::OK);
    let before = browser.session_cookie();
    let mut key = registered.key;
    let r = browser.sign_in(&mut key, &app.origin()).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_ne!(browser.session_cookie(), before, "a new session id");

    let mut shopper = Shopper {
        browser,
        key,
        origin: app.origin(),
    };
    let card = offered_cards(&shopper.browser, &consent).await.remove(0);
    let options = shopper.begin(&consent, &card).await;
    let assertion = signed(&mut shopper, options);
    let r = shopper.approve(&consent, &card, &assertion).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );

    // The browser the shopper signed up in is another one.
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    assert_eq!(
        registered.browser.get_html(&consent).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn two_consents_in_two_tabs_are_both_approved() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "tabs@example.com").await;
    let (first_url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let (second_url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let first = open_consent(&shopper.browser, &first_url).await;
    let second = open_consent(&shopper.browser, &second_url).await;
    let card = offered_cards(&shopper.browser, &first).await.remove(0);

    // Both started before either is confirmed: one ceremony each.
    let first_options = shopper.begin(&first, &card).await;
    let second_options = shopper.begin(&second, &card).await;
    assert_eq!(count_rows(&app, "ceremonies").await, 2);
    // The second tab confirmed first; each signs when confirmed (the counter moves on).
    let second_signed = signed(&mut shopper, second_options);
    let r = shopper.approve(&second, &card, &second_signed).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let first_signed = signed(&mut shopper, first_options);
    let r = shopper.approve(&first, &card, &first_signed).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    assert_eq!(count_rows(&app, "auth_codes").await, 2);
    assert_eq!(count_rows(&app, "ceremonies").await, 0);
}

#[tokio::test]
async fn a_second_begin_replaces_the_first_and_a_ceremony_gets_one_attempt() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "again@example.com").await;
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let card = offered_cards(&shopper.browser, &consent).await.remove(0);

    let replaced = shopper.begin(&consent, &card).await;
    let current = shopper.begin(&consent, &card).await;
    assert_eq!(
        count_rows(&app, "ceremonies").await,
        1,
        "the second start replaced the first"
    );
    let replaced_signed = signed(&mut shopper, replaced);
    let current_signed = signed(&mut shopper, current);

    // The answer to the replaced start fails, and uses the ceremony up.
    let r = shopper.approve(&consent, &card, &replaced_signed).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert_eq!(count_rows(&app, "ceremonies").await, 0);

    // So the answer to the current one, sent after, finds no ceremony.
    let r = shopper.approve(&consent, &card, &current_signed).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("ceremony_not_found"));
    assert_eq!(count_rows(&app, "auth_codes").await, 0);

    // A new start for the same consent, under the same id, is a fresh attempt.
    let options = shopper.begin(&consent, &card).await;
    let assertion = signed(&mut shopper, options);
    let r = shopper.approve(&consent, &card, &assertion).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let replay = shopper.approve(&consent, &card, &assertion).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(replay.text().await.unwrap().contains("ceremony_not_found"));
    assert_eq!(count_rows(&app, "auth_codes").await, 1);
}

#[tokio::test]
async fn a_consent_opened_before_the_browser_key_is_bound_by_the_session_list() {
    use sqlx::Row;
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "legacy@example.com").await;
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let consent_id = consent.rsplit('/').next().unwrap().to_string();

    // As a consent opened before consents carried the key: no key, and not listed yet.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    sqlx::query("UPDATE consents SET browser_hash = NULL WHERE id = $1")
        .bind(&consent_id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        shopper.browser.get_html(&consent).await.status(),
        StatusCode::NOT_FOUND
    );

    // Listed by the session, as `/oauth/authorize` used to do: usable in that browser.
    let rows = sqlx::query("SELECT id_hash, data FROM sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "the shopper's browser only");
    let mut data: Value = serde_json::from_str(&rows[0].get::<String, _>("data")).unwrap();
    data["consents"] = json!([consent_id]);
    sqlx::query("UPDATE sessions SET data = $1 WHERE id_hash = $2")
        .bind(data.to_string())
        .bind(rows[0].get::<String, _>("id_hash"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(
        app.browser().get_html(&consent).await.status(),
        StatusCode::NOT_FOUND,
        "another browser"
    );
    let card = offered_cards(&shopper.browser, &consent).await.remove(0);
    let options = shopper.begin(&consent, &card).await;
    let assertion = signed(&mut shopper, options);
    let r = shopper.approve(&consent, &card, &assertion).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
}
