//! Frozen shoppers: a freeze (made through the accounts service, as the console makes it)
//! refuses the shopper's sign-in without counting it as a failed passkey, ends their open
//! session, refuses their approvals and the merchant's payment with a grant issued before the
//! freeze, charging nothing; an unfreeze gives all of it back. Both are audited.

use reqwest::StatusCode;
use saifu::accounts::account::Email;
use saifu::accounts::freeze::FreezeReason;
use saifu::audit::{Actor, Query, Verdict};
use saifu::checkout::approval::{ApprovalRequest, ApprovalStart, PaymentChoice};
use saifu::clock::unix_now;
use saifu::error::Kind;
use saifu_sdk::{Error as SdkError, SaifuClient};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{
    consent_browser, count_rows, frames, grant, jpy, merchant, offered_cards, open_consent, sdk,
    shopper, spawn_app, spawn_app_with, user_id_by_email, Shopper, TestApp,
};

const SUPPORT: &str = "00000000-0000-4000-8000-000000000013";

fn support() -> Actor {
    Actor::Admin(SUPPORT.into())
}

fn reason(text: &str) -> FreezeReason {
    FreezeReason::parse(text).unwrap()
}

async fn freeze(app: &TestApp, user: Uuid) {
    app.state
        .accounts
        .freeze(
            user,
            &reason("card reported stolen"),
            &support(),
            unix_now(),
        )
        .await
        .unwrap();
}

async fn unfreeze(app: &TestApp, user: Uuid) {
    app.state
        .accounts
        .unfreeze(
            user,
            Some(&reason("shopper called")),
            &support(),
            unix_now(),
        )
        .await
        .unwrap();
}

/// A signed-up shopper, signed out again.
async fn signed_out_shopper(app: &TestApp, email: &str) -> (Shopper, Uuid) {
    let s = shopper(app, email).await;
    s.browser.post_form("/signout", &[]).await;
    assert_eq!(s.browser.signed_in_as().await, None);
    (s, user_id_by_email(app, email).await)
}

fn sdk_problem(err: SdkError) -> (u16, String) {
    match err {
        SdkError::Problem { status, code, .. } => (status, code),
        other => panic!("expected a problem, got {other:?}"),
    }
}

#[tokio::test]
async fn a_frozen_shopper_cannot_sign_in_and_that_is_no_failed_passkey() {
    let app = spawn_app_with(|c| c.signin_failures_per_account = 1).await;
    let (mut s, id) = signed_out_shopper(&app, "frozen@example.com").await;
    freeze(&app, id).await;

    // Refused every time with the clear answer, never locked out (the limit is one failure).
    for _ in 0..3 {
        let refused = s.browser.sign_in(&mut s.key, &app.origin()).await;
        let body: Value = serde_json::from_str(&refused.text().await.unwrap()).unwrap();
        assert_eq!(body["status"], 403, "{body}");
        assert_eq!(body["code"], "account_frozen", "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains("frozen"),
            "{body}"
        );
    }
    assert_eq!(s.browser.signed_in_as().await, None);
    assert_eq!(
        count_rows(&app, "rate_limits").await,
        0,
        "no failure counted"
    );
    assert_eq!(
        count_rows(&app, "sessions WHERE data LIKE '%\"user_id\"%'").await,
        0,
        "no signed-in session written"
    );

    unfreeze(&app, id).await;
    let back = s.browser.sign_in(&mut s.key, &app.origin()).await;
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(s.browser.signed_in_as().await.as_deref(), Some("Mika"));
}

#[tokio::test]
async fn freezing_signs_the_shopper_out_of_an_open_session() {
    let app = spawn_app().await;
    let mut s = shopper(&app, "session@example.com").await;
    let id = user_id_by_email(&app, "session@example.com").await;
    assert_eq!(s.browser.signed_in_as().await.as_deref(), Some("Mika"));

    freeze(&app, id).await;
    assert_eq!(s.browser.signed_in_as().await, None);
    let cards = s.browser.get_html("/cards").await;
    assert_eq!(cards.status(), StatusCode::SEE_OTHER);
    assert!(cards.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/signin"));

    // The ended session stays ended; after the unfreeze the shopper signs in again.
    unfreeze(&app, id).await;
    assert_eq!(s.browser.signed_in_as().await, None);
    let back = s.browser.sign_in(&mut s.key, &app.origin()).await;
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(s.browser.get_html("/cards").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_frozen_shopper_cannot_approve_a_consent() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut s = shopper(&app, "approve@example.com").await;
    let id = user_id_by_email(&app, "approve@example.com").await;

    // Through the pages: the confirmation is signed, then the shopper is frozen; the approval
    // finds the session ended and gives no code.
    let (url, _) = client.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&s.browser, &url).await;
    let card = offered_cards(&s.browser, &consent).await.remove(0);
    let options = s.begin(&consent, &card).await;
    let assertion = serde_json::to_value(s.key.assert(&s.origin, options).unwrap()).unwrap();
    freeze(&app, id).await;
    let refused = s.approve(&consent, &card, &assertion).await;
    assert_ne!(
        refused.status(),
        StatusCode::SEE_OTHER,
        "no redirect to the merchant"
    );
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(count_rows(&app, "auth_codes").await, 0);
    unfreeze(&app, id).await;

    // A freeze that lands while the approval is under way: the approval's own write refuses.
    let consent_id = consent.rsplit('/').next().unwrap().to_string();
    let before = app.state.accounts.user(id).await.unwrap().unwrap();
    let choice = PaymentChoice {
        card_id: card.parse().unwrap(),
        points: 0,
        address_id: None,
    };
    let browser = consent_browser(&app, &consent_id).await;
    let ceremony_id = uuid::Uuid::new_v4().to_string();
    let start = ApprovalStart {
        consent_id: &consent_id,
        browser: &browser,
        ceremony_id: &ceremony_id,
    };
    let options = app
        .state
        .checkout
        .begin_approval(start, &before, choice, unix_now())
        .await
        .unwrap();
    let credential = s.key.assert(&s.origin, options).unwrap();
    freeze(&app, id).await;
    let request = ApprovalRequest {
        consent_id: consent_id.clone(),
        ceremony_id,
        choice,
        credential,
    };
    let err = app
        .state
        .checkout
        .approve(&before, &browser, &request, unix_now())
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        ("account_frozen", Kind::Forbidden)
    );
    assert_eq!(count_rows(&app, "auth_codes").await, 0);
    assert_eq!(
        count_rows(
            &app,
            &format!("consents WHERE id = '{consent_id}' AND status = 'pending'")
        )
        .await,
        1,
        "the consent is still open"
    );

    // Unfrozen, the shopper signs in again and approves a new checkout.
    unfreeze(&app, id).await;
    assert_eq!(
        s.browser.sign_in(&mut s.key, &app.origin()).await.status(),
        StatusCode::OK
    );
    let (url, _) = client.start_checkout(&frames()).await.unwrap();
    s.pay(&url).await;
    assert_eq!(count_rows(&app, "auth_codes").await, 1);
}

#[tokio::test]
async fn a_grant_issued_before_the_freeze_is_refused_and_nothing_is_charged() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client: SaifuClient = sdk(&app, &creds).await;
    let mut s = shopper(&app, "grant@example.com").await;
    let id = user_id_by_email(&app, "grant@example.com").await;
    let g = grant(&client, &mut s).await;
    let effects = app.state.simulator.effects().await.unwrap();

    freeze(&app, id).await;
    for key in [None, Some("order-1")] {
        let err = client.pay(&g, &jpy("12800"), true, key).await.unwrap_err();
        assert_eq!(sdk_problem(err), (403, "shopper_frozen".into()));
    }
    assert_eq!(count_rows(&app, "payments").await, 0, "no payment row");
    assert_eq!(
        count_rows(&app, "grants WHERE consumed_at IS NOT NULL").await,
        0,
        "the grant is not used up"
    );
    assert_eq!(app.state.simulator.effects().await.unwrap(), effects);

    // Unfrozen, the same grant pays once.
    unfreeze(&app, id).await;
    let paid = client.pay(&g, &jpy("12800"), true, None).await.unwrap();
    assert_eq!(paid.status, "captured");
    // The capture: the card was authorized when the shopper approved.
    assert_eq!(app.state.simulator.effects().await.unwrap(), effects + 1);
}

#[tokio::test]
async fn freezes_are_audited_with_who_and_why_and_the_chain_stays_whole() {
    let app = spawn_app().await;
    let (_s, id) = signed_out_shopper(&app, "Audit.Me@Example.com").await;
    let found = app
        .state
        .accounts
        .find_by_email(&Email::parse("audit.me@EXAMPLE.com").unwrap())
        .await
        .unwrap()
        .expect("found in any letter case");
    assert_eq!((found.id, found.frozen.is_none()), (id, true));

    freeze(&app, id).await;
    let frozen = app.state.accounts.user(id).await.unwrap().unwrap();
    let state = frozen.frozen.expect("frozen");
    assert_eq!(state.reason, "card reported stolen");
    assert!(state.at > 0);
    unfreeze(&app, id).await;
    assert!(app
        .state
        .accounts
        .user(id)
        .await
        .unwrap()
        .unwrap()
        .frozen
        .is_none());

    let entries = app
        .state
        .audit
        .list(
            &Query {
                target: Some(format!("shopper:{id}")),
                ..Query::default()
            },
            10,
        )
        .await
        .unwrap();
    let seen: Vec<(&str, &str, Value)> = entries
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.actor.as_str(),
                serde_json::from_str(&e.details).unwrap(),
            )
        })
        .collect();
    let actor = format!("admin:{SUPPORT}");
    assert_eq!(
        seen,
        vec![
            (
                "shopper.frozen",
                actor.as_str(),
                serde_json::json!({ "reason": "card reported stolen" })
            ),
            (
                "shopper.unfrozen",
                actor.as_str(),
                serde_json::json!({ "reason": "shopper called" })
            ),
        ]
    );
    assert!(matches!(
        app.state.audit.verify(None).await.unwrap(),
        Verdict::Whole { .. }
    ));
}

#[tokio::test]
async fn freezing_twice_unfreezing_a_shopper_not_frozen_or_an_unknown_one_changes_nothing() {
    let app = spawn_app().await;
    let (_s, id) = signed_out_shopper(&app, "twice@example.com").await;
    let accounts = &app.state.accounts;
    let err = accounts
        .unfreeze(id, None, &support(), unix_now())
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.kind()), ("not_frozen", Kind::Conflict));

    freeze(&app, id).await;
    let head = app.state.audit.head().await.unwrap();
    let err = accounts
        .freeze(id, &reason("again"), &support(), unix_now())
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.kind()), ("already_frozen", Kind::Conflict));
    let still = accounts.user(id).await.unwrap().unwrap().frozen.unwrap();
    assert_eq!(
        still.reason, "card reported stolen",
        "the first reason stays"
    );

    let unknown = Uuid::new_v4();
    let err = accounts
        .freeze(unknown, &reason("who?"), &support(), unix_now())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), Kind::NotFound);
    let err = accounts
        .unfreeze(unknown, None, &support(), unix_now())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), Kind::NotFound);
    assert_eq!(
        app.state.audit.head().await.unwrap(),
        head,
        "nothing recorded"
    );

    // Unfreezing without a reason is recorded without one.
    accounts
        .unfreeze(id, None, &support(), unix_now())
        .await
        .unwrap();
    let last = app
        .state
        .audit
        .list(&Query::default(), 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (last.action.as_str(), last.details.as_str()),
        ("shopper.unfrozen", "{}")
    );
}
