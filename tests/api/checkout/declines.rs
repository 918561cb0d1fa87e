//! Declines told in the wallet: the card is authorized when the shopper approves, so a decline
//! (or a card network that does not answer) brings the shopper back to the consent, which says
//! why and offers another card. The payment that redeems the grant uses that authorization; one
//! that no payment uses is released by the reconciler.

use reqwest::StatusCode;
use sqlx::Row;
use url::Url;
use uuid::Uuid;

use super::polish::checked_card;
use crate::helpers::{
    count_rows, frames, jpy, merchant, offered_cards, open_consent, param, problem, sdk, shopper,
    spawn_app, user_id_by_email, Shopper, TestApp,
};

/// The card that verifies but is declined when it is authorized.
const DECLINED_AT_AUTHORIZATION: &str = "4000000000000341";

/// Adds the card that is declined at authorization and makes it the default; gives its id.
async fn add_declining_default(app: &TestApp, shopper: &Shopper, email: &str) -> String {
    let added = shopper
        .browser
        .post_form(
            "/cards",
            &[
                ("number", DECLINED_AT_AUTHORIZATION),
                ("expiry", "12/39"),
                ("cvc", "123"),
                ("holder", "Mika Sato"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let card = app
        .state
        .vault
        .cards(user_id_by_email(app, email).await)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.last4 == "0341")
        .unwrap();
    let r = shopper
        .browser
        .post_form(&format!("/cards/{}/default", card.id), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    card.id.to_string()
}

/// Signs and sends the approval of `consent` with `card`; gives the wallet's answer.
async fn approve_with(shopper: &mut Shopper, consent: &str, card: &str) -> reqwest::Response {
    let options = shopper.begin(consent, card).await;
    let assertion =
        serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
    shopper.approve(consent, card, &assertion).await
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

async fn authorization_states(app: &TestApp) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let mut states: Vec<String> = sqlx::query("SELECT state FROM approval_authorizations")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("state"))
        .collect();
    states.sort();
    states
}

#[tokio::test]
async fn a_card_declined_at_the_approval_is_told_on_the_consent_and_another_card_pays() {
    let app = spawn_app().await;
    let shop = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let email = "declined@example.com";
    let mut shopper = shopper(&app, email).await;
    let declining = add_declining_default(&app, &shopper, email).await;
    let before = app.state.simulator.effects().await.unwrap();

    let (url, pending) = shop.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    assert_eq!(
        checked_card(&shopper.browser.html(&consent).await).as_deref(),
        Some(declining.as_str())
    );
    let r = approve_with(&mut shopper, &consent, &declining).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), consent, "back to the consent, not the shop");

    // Japanese: the card, the issuer's reason, and the way on; another card is selected.
    let page = shopper.browser.html_in(&consent, "ja").await;
    assert!(page.contains("カードが承認されませんでした"), "{page}");
    assert!(
        page.contains(
            "Visa •••• 0341 は承認されませんでした：カード会社がお支払いを承認しませんでした。"
        ),
        "{page}"
    );
    assert!(page.contains("請求はされていません。"));
    let other = checked_card(&page).expect("a card selected");
    assert_ne!(other, declining, "the declined card is not offered first");
    // Told once.
    assert!(!shopper
        .browser
        .html(&consent)
        .await
        .contains("card-declined"));

    // English, after a second try with the same card.
    let r = approve_with(&mut shopper, &consent, &declining).await;
    assert_eq!(location(&r), consent);
    let page = shopper.browser.html_in(&consent, "en").await;
    assert!(
        page.contains("Visa •••• 0341 was declined: the card issuer refused the payment."),
        "{page}"
    );
    assert!(page.contains("Nothing was charged. Choose another card, or add one, and pay again."));
    assert_eq!(count_rows(&app, "auth_codes").await, 0, "no code was given");
    assert_eq!(
        app.state.simulator.effects().await.unwrap(),
        before,
        "a decline moves no money"
    );

    // Another card, from the same consent: the shop gets its code, and its payment uses the
    // authorization the approval made (one authorization and one capture at the network).
    let r = approve_with(&mut shopper, &consent, &other).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let callback = Url::parse(&location(&r)).unwrap();
    assert!(param(&callback, "code").is_some(), "{callback}");
    let grant = shop
        .complete_checkout(&callback, &pending)
        .await
        .unwrap()
        .token;
    assert_eq!(
        authorization_states(&app).await,
        ["approved", "declined", "declined"]
    );
    let paid = shop.pay(&grant, &jpy("12800"), true, None).await.unwrap();
    assert_eq!(paid.status, "captured");
    assert_eq!(app.state.simulator.effects().await.unwrap(), before + 2);
    assert_eq!(
        authorization_states(&app).await,
        ["adopted", "declined", "declined"]
    );
    assert_eq!(count_rows(&app, "sim_authorizations").await, 1);
    assert_eq!(
        count_rows(&app, "payments WHERE card_last4 = '0341'").await,
        0,
        "the declined card was never charged"
    );
}

#[tokio::test]
async fn a_card_network_that_does_not_answer_charges_nothing_and_the_shopper_pays_again() {
    let app = spawn_app().await;
    let shop = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let mut shopper = shopper(&app, "silent@example.com").await;
    let before = app.state.simulator.effects().await.unwrap();
    let (url, pending) = shop.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let card = offered_cards(&shopper.browser, &consent).await.remove(0);

    app.state.simulator.set_faulty_operation(Some("authorize"));
    app.state.simulator.set_fault_rate(1.0);
    let r = approve_with(&mut shopper, &consent, &card).await;
    app.state.simulator.set_fault_rate(0.0);
    app.state.simulator.set_faulty_operation(None);
    assert_eq!(location(&r), consent);
    let page = shopper.browser.html(&consent).await;
    assert!(page.contains("The card network did not answer"), "{page}");
    assert!(page.contains("Nothing was charged."));
    assert_eq!(app.state.simulator.effects().await.unwrap(), before);
    assert_eq!(authorization_states(&app).await, ["failed"]);

    let r = approve_with(&mut shopper, &consent, &card).await;
    let callback = Url::parse(&location(&r)).unwrap();
    let grant = shop
        .complete_checkout(&callback, &pending)
        .await
        .unwrap()
        .token;
    let paid = shop.pay(&grant, &jpy("12800"), true, None).await.unwrap();
    assert_eq!(paid.status, "captured");
    assert_eq!(app.state.simulator.effects().await.unwrap(), before + 2);
}

#[tokio::test]
async fn one_touch_with_a_declined_default_card_signs_in_and_offers_another_card() {
    let app = spawn_app().await;
    let shop = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let email = "one-touch-declined@example.com";
    let mut shopper = shopper(&app, email).await;
    let declining = add_declining_default(&app, &shopper, email).await;
    let r = shopper.browser.post_form("/signout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let (url, _) = shop.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&shopper.browser, &url).await;
    let r = shopper.one_touch(&consent).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), consent);
    let page = shopper.browser.html(&consent).await;
    assert!(
        page.contains("Visa •••• 0341 was declined: the card issuer refused the payment."),
        "{page}"
    );
    assert!(
        page.contains("Sign out"),
        "signed in by the passkey: {page}"
    );
    let other = checked_card(&page).expect("a card selected");
    assert_ne!(other, declining);
    assert_eq!(authorization_states(&app).await, ["declined"]);
}

#[tokio::test]
async fn an_authorization_no_payment_used_is_released_and_its_grant_can_no_longer_pay() {
    let app = spawn_app().await;
    let shop = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let mut shopper = shopper(&app, "lapsed@example.com").await;
    let (url, pending) = shop.start_checkout(&frames()).await.unwrap();
    let callback = shopper.pay(&url).await;
    let grant = shop
        .complete_checkout(&callback, &pending)
        .await
        .unwrap()
        .token;
    let now = saifu::clock::unix_now();
    // While the grant can be redeemed, the reconciler leaves its authorization alone.
    let done = app.state.payments.reconcile(now).await.unwrap();
    assert_eq!(done.authorizations, 0);
    assert_eq!(
        count_rows(&app, "sim_authorizations WHERE state = 'open'").await,
        1
    );

    // Past the grant's life (and a margin), it is released at the card network, once.
    let later = now + 3_600;
    let done = app.state.payments.reconcile(later).await.unwrap();
    assert_eq!(done.authorizations, 1);
    assert_eq!(authorization_states(&app).await, ["voided"]);
    assert_eq!(
        count_rows(&app, "sim_authorizations WHERE state = 'voided'").await,
        1
    );
    let done = app.state.payments.reconcile(later).await.unwrap();
    assert_eq!(done.authorizations, 0, "released once");

    // A grant whose authorization was released cannot take the money.
    let (status, code, decline) = problem(
        shop.pay(&grant, &jpy("12800"), true, None)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, code.as_str(), decline.as_deref()),
        (402, "card_declined", Some("authorization_expired"))
    );
    assert_eq!(count_rows(&app, "sim_captures").await, 0);
}

/// What a node that stopped in the middle of an approval leaves: the authorization recorded
/// and, when it stopped after the card network answered, made there; the approval never
/// committed. The reconciler releases it once the node's lease has passed.
#[tokio::test]
async fn an_approval_cut_off_around_the_card_network_call_is_released_by_the_reconciler() {
    use saifu::card::Expiry;
    use saifu::money::{Currency, Money};
    use saifu::processor::{CardDetails, IdempotencyKey, Outcome, Processor};
    use saifu::store::checkout::authorizations::NewAuthorization;

    let app = spawn_app().await;
    let email = "cut-off@example.com";
    let _shopper = shopper(&app, email).await;
    let user = user_id_by_email(&app, email).await;
    let card = app.state.vault.cards(user).await.unwrap().remove(0);
    let now = saifu::clock::unix_now();
    for (jti, called) in [
        (Uuid::new_v4().to_string(), true),
        (Uuid::new_v4().to_string(), false),
    ] {
        app.state
            .store
            .start_approval_authorization(
                NewAuthorization {
                    grant_jti: &jti,
                    consent_id: "consent-cut-off",
                    user_id: &user.to_string(),
                    card_id: &card.id.to_string(),
                    currency: "JPY",
                    amount_minor: 12_800,
                    lease_until: now + 30,
                    void_after: now + 900,
                },
                now,
            )
            .await
            .unwrap();
        if called {
            let (card, number) = app.state.vault.card_number(user, card.id).await.unwrap();
            let details = CardDetails {
                number: &number,
                expiry: Expiry::new(card.exp_month as u8, card.exp_year as u16).unwrap(),
                holder: &card.holder,
            };
            let made = app
                .state
                .simulator
                .authorize(
                    &IdempotencyKey::new(format!("authorize:{jti}")),
                    details,
                    Money::new(Currency::Jpy, 12_800),
                )
                .await
                .unwrap();
            assert!(matches!(made, Outcome::Approved { .. }));
        }
    }
    assert_eq!(count_rows(&app, "sim_authorizations").await, 1);
    // Within the lease the approving node may still be at work.
    assert_eq!(
        app.state
            .payments
            .reconcile(now)
            .await
            .unwrap()
            .authorizations,
        0
    );

    assert_eq!(
        app.state
            .payments
            .reconcile(now + 30)
            .await
            .unwrap()
            .authorizations,
        0,
        "not before the whole lease has passed"
    );
    let done = app.state.payments.reconcile(now + 31).await.unwrap();
    assert_eq!(done.authorizations, 2);
    assert_eq!(authorization_states(&app).await, ["voided", "voided"]);
    // Asking again replays the authorization made, or makes it to release it at once: none
    // is left open either way.
    assert_eq!(
        count_rows(&app, "sim_authorizations WHERE state = 'open'").await,
        0
    );
}
