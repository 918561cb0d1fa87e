//! The passkey approval: a confirmation signed for another card or amount, replayed, sent
//! twice at once, or signed by a passkey that is not (or no longer) the shopper's approves once
//! at the most; and what each consent step reads.

use reqwest::StatusCode;
use saifu_sdk::checkout::PaymentDetails;
use serde_json::json;
use webauthn_rs_proto::UserVerificationPolicy;

use crate::helpers::{
    add_passkey, count_rows, frames, merchant, meta_csrf, offered_card_ids, offered_cards,
    open_consent, problem_code, sdk, shopper, spawn_app, user_verified,
};
use crate::signin::statements_of;

#[tokio::test]
async fn a_confirmation_made_for_another_card_or_amount_or_replayed_is_refused() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "attack@example.com").await;

    // Signed for card A, submitted for card B.
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let cards = offered_cards(&shopper.browser, &consent).await;
    assert_eq!(cards.len(), 2);
    let options = shopper.begin(&consent, &cards[0]).await;
    assert_eq!(
        count_rows(&app, "ceremonies").await,
        1,
        "the approval's ceremony"
    );
    let signed =
        serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
    let r = shopper.approve(&consent, &cards[1], &signed).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("webauthn_challenge_mismatch"));
    assert_eq!(
        count_rows(&app, "ceremonies").await,
        0,
        "a failed confirmation uses up its ceremony"
    );
    assert_eq!(count_rows(&app, "auth_codes").await, 0);

    // Signed for a small payment, submitted for a large one opened in the same browser.
    let (small, _) = merchant_sdk
        .start_checkout(&PaymentDetails::new("JPY", "100", "SMALL"))
        .await
        .unwrap();
    let (large, _) = merchant_sdk
        .start_checkout(&PaymentDetails::new("JPY", "99000", "LARGE"))
        .await
        .unwrap();
    let small_consent = open_consent(&shopper.browser, &small).await;
    let large_consent = open_consent(&shopper.browser, &large).await;
    let small_options = shopper.begin(&small_consent, &cards[0]).await;
    let small_signed =
        serde_json::to_value(shopper.key.assert(&shopper.origin, small_options).unwrap()).unwrap();
    shopper.begin(&large_consent, &cards[0]).await;
    let r = shopper
        .approve(&large_consent, &cards[0], &small_signed)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("webauthn_challenge_mismatch"));

    // Replayed: the first use succeeds, the second finds no ceremony.
    let options = shopper.begin(&large_consent, &cards[0]).await;
    let signed =
        serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
    let first = shopper.approve(&large_consent, &cards[0], &signed).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let replay = shopper.approve(&large_consent, &cards[0], &signed).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(replay.headers().get("location").is_none());
    assert!(replay.text().await.unwrap().contains("ceremony_not_found"));

    // Another shopper's card is not accepted.
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let stranger = self::shopper(&app, "stranger@example.com").await;
    let consent = open_consent(&stranger.browser, &url).await;
    let r = stranger
        .browser
        .post_json(
            &format!("{consent}/begin"),
            &json!({ "card_id": cards[0], "points": 0 }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let _ = shopper
        .pay(&merchant_sdk.start_checkout(&frames()).await.unwrap().0)
        .await;
}

/// The same confirmation sent twice at once (a double click, a retrying proxy): one approval,
/// one code, one counter step, and the ceremony gone.
#[tokio::test]
async fn a_confirmation_sent_twice_at_once_approves_once() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "twice@example.com").await;
    for round in 0..3 {
        let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
        let consent = open_consent(&shopper.browser, &url).await;
        let card = offered_cards(&shopper.browser, &consent).await.remove(0);
        let options = shopper.begin(&consent, &card).await;
        let signed =
            serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
        let (a, b) = tokio::join!(
            shopper.approve(&consent, &card, &signed),
            shopper.approve(&consent, &card, &signed)
        );
        let mut statuses = [a.status(), b.status()];
        statuses.sort();
        // The loser is refused either because its ceremony is gone (400) or, when it reads
        // the consent after the winner committed, because the consent is closed (409).
        assert_eq!(statuses[0], StatusCode::SEE_OTHER, "round {round}");
        assert!(
            [StatusCode::BAD_REQUEST, StatusCode::CONFLICT].contains(&statuses[1]),
            "round {round}: {statuses:?}"
        );
        let consent_id = consent.rsplit('/').next().unwrap();
        assert_eq!(
            count_rows(
                &app,
                &format!("auth_codes WHERE consent_id = '{consent_id}'")
            )
            .await,
            1
        );
        assert_eq!(count_rows(&app, "ceremonies").await, 0);
    }
    assert_eq!(count_rows(&app, "auth_codes").await, 3);
}

/// The approval asks for user verification, and an assertion from a passkey that only saw the
/// shopper present (no PIN, no biometrics) approves nothing, even signed for the exact payment.
#[tokio::test]
async fn a_confirmation_without_user_verification_approves_nothing() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "present@example.com").await;

    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let card = offered_cards(&shopper.browser, &consent).await.remove(0);
    let mut options = shopper.begin(&consent, &card).await;
    assert_eq!(
        options.public_key.user_verification,
        UserVerificationPolicy::Required
    );
    options.public_key.user_verification = UserVerificationPolicy::Preferred;
    let unverified = shopper.key.assert(&shopper.origin, options).unwrap();
    assert!(!user_verified(&unverified), "the UV flag is off");
    let r = shopper
        .approve(&consent, &card, &serde_json::to_value(&unverified).unwrap())
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("user_verification_required"));
    assert_eq!(count_rows(&app, "auth_codes").await, 0, "no code");
    assert_eq!(
        count_rows(&app, "consents WHERE status <> 'pending'").await,
        0,
        "nothing approved"
    );
    assert_eq!(
        count_rows(&app, "ceremonies").await,
        0,
        "its ceremony is used up"
    );

    // The same shopper, verified this time, approves the same consent.
    let options = shopper.begin(&consent, &card).await;
    let verified = shopper.key.assert(&shopper.origin, options).unwrap();
    assert!(user_verified(&verified));
    let r = shopper
        .approve(&consent, &card, &serde_json::to_value(&verified).unwrap())
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    assert_eq!(count_rows(&app, "auth_codes").await, 1);
}

/// A confirmation signed by another shopper's passkey fails its signature check as it always
/// did; one signed by a passkey of the shopper's removed since the approval started is an
/// unknown passkey. Neither approves anything, and each uses up its ceremony.
#[tokio::test]
async fn a_confirmation_signed_by_another_shopper_s_passkey_or_a_removed_one_approves_nothing() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "owner@example.com").await;
    let mut stranger = self::shopper(&app, "stranger@example.com").await;
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let card = offered_cards(&shopper.browser, &consent).await.remove(0);

    // Another shopper's passkey signs this very payment's challenge.
    let options = shopper.begin(&consent, &card).await;
    let signed =
        serde_json::to_value(stranger.key.assert(&stranger.origin, options).unwrap()).unwrap();
    let r = shopper.approve(&consent, &card, &signed).await;
    assert!(r.headers().get("location").is_none());
    assert_eq!(
        problem_code(r).await,
        (StatusCode::BAD_REQUEST, "webauthn_failed".into())
    );
    assert_eq!(count_rows(&app, "ceremonies").await, 0, "used up");

    // A second passkey of the shopper's signs, and is removed before the answer arrives.
    let mut phone = add_passkey(&app, &shopper.browser, "Phone").await;
    let options = shopper.begin(&consent, &card).await;
    let signed = serde_json::to_value(phone.assert(&shopper.origin, options).unwrap()).unwrap();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let phone_id: String = sqlx::Row::get(
        &sqlx::query("SELECT id FROM passkeys WHERE name = 'Phone'")
            .fetch_one(&pool)
            .await
            .unwrap(),
        "id",
    );
    pool.close().await;
    let removed = shopper
        .browser
        .post_form(&format!("/passkeys/{phone_id}/delete"), &[])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let r = shopper.approve(&consent, &card, &signed).await;
    assert!(r.headers().get("location").is_none());
    assert_eq!(
        problem_code(r).await,
        (StatusCode::UNAUTHORIZED, "unknown_passkey".into())
    );
    assert_eq!(count_rows(&app, "ceremonies").await, 0, "used up");
    assert_eq!(count_rows(&app, "auth_codes").await, 0, "no code");
    assert_eq!(
        count_rows(&app, "consents WHERE status <> 'pending'").await,
        0,
        "nothing approved"
    );

    // The shopper's own remaining passkey still approves; the stranger's own checkouts too.
    let callback = shopper.confirm(&consent, 0).await;
    assert!(callback.as_str().contains("code="), "{callback}");
    let callback = stranger
        .pay(&merchant_sdk.start_checkout(&frames()).await.unwrap().0)
        .await;
    assert!(callback.as_str().contains("code="), "{callback}");
}

/// The consent page, the approval's start and its confirmation each read the shopper's
/// standing at the shop (their settings there and the risk limits, and on the page their
/// points balance) in one statement, and the confirmation reads the passkey that signed
/// with the consent.
#[tokio::test]
async fn each_consent_step_reads_the_shopper_s_standing_once_and_approve_the_passkey_with_the_consent(
) {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let merchant_sdk = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "standing@example.com").await;
    let (url, _) = merchant_sdk.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let steps = ["page", "begin", "approve"];
    let ids = steps.map(|step| format!("{step}-{run}"));
    let browser = &shopper.browser;

    let page = browser
        .http
        .get(browser.url(&consent))
        .header("accept", "text/html")
        .header("x-request-id", &ids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let card = offered_card_ids(&html).remove(0);
    let csrf = meta_csrf(&html).expect("a CSRF token");
    let begin = browser
        .http
        .post(browser.url(&format!("{consent}/begin")))
        .header("x-csrf-token", &csrf)
        .header("x-request-id", &ids[1])
        .json(&json!({ "card_id": card, "points": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(begin.status(), StatusCode::OK);
    let options = begin.json().await.unwrap();
    let signed =
        serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
    let approved = browser
        .post_form_with(
            &format!("{consent}/approve"),
            &[
                ("card_id", card.as_str()),
                ("points", "0"),
                ("credential", &signed.to_string()),
            ],
            &[("x-request-id", &ids[2])],
        )
        .await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let location = approved.headers()["location"].to_str().unwrap();
    assert!(location.contains("code="), "{location}");

    for (step, id) in steps.iter().zip(&ids) {
        let statements = statements_of(id);
        let count = |start: &str| statements.iter().filter(|s| s.starts_with(start)).count();
        assert_eq!(
            count("SELECT s.blocked_at, s.cap_minor,"),
            1,
            "{step}: {statements:?}"
        );
        assert_eq!(
            count("SELECT c.id, c.client_id,"),
            1,
            "{step}: {statements:?}"
        );
        // The shop's settings, the limits and the points balance are read nowhere else.
        for apart in [
            "SELECT (SELECT s.blocked_at",
            "SELECT per_payment,",
            "SELECT span, amount_minor",
            "SELECT CAST(COALESCE((SELECT balance",
        ] {
            assert_eq!(count(apart), 0, "{step}: {statements:?}");
        }
    }
    // Starting lists the shopper's passkeys for the browser; confirming reads none apart.
    let approve = statements_of(&ids[2]);
    assert!(
        !approve
            .iter()
            .any(|s| s.starts_with("SELECT id, user_id, credential_id")),
        "{approve:?}"
    );
}
