//! The passkey sign-in's finish step, written in one transaction: one ceremony signs in once
//! however many nodes are asked at once, a refused attempt still uses its ceremony up, a
//! success clears the account's earlier failures, and the replaced session is gone.

use reqwest::{Response, StatusCode};
use serde_json::Value;
use webauthn_rs_proto::PublicKeyCredential;

use crate::helpers::{
    count_rows, problem_code, spawn_app, spawn_app_with, spawn_node, wrong_origin, Browser,
    TestPasskey,
};

/// Posts the assertion to `/signin/finish` with an already-read CSRF token (so that two
/// copies can leave at the same instant).
async fn finish(browser: &Browser, csrf: &str, credential: &PublicKeyCredential) -> Response {
    browser
        .http
        .post(browser.url("/signin/finish"))
        .header("x-csrf-token", csrf)
        .json(&serde_json::to_value(credential).unwrap())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_nodes_finishing_one_sign_in_ceremony_at_once_sign_in_once() {
    let first = spawn_app().await;
    let issuer = first.base.clone();
    let second = spawn_node(&first, move |c| c.issuer = issuer).await;
    let browser = first.browser();
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &first.origin(), "Twin", "twin@example.com")
        .await;
    browser.post_form("/signout", &[]).await;

    for round in 0..3 {
        let options = browser.begin_sign_in().await;
        let csrf = browser.csrf().await;
        let assertion = key.assert(&first.origin(), options).unwrap();
        // Two copies of the browser, cookie and all, each behind its own node: a refusal
        // that drops the cookie must not drop the winner's.
        let cookie = browser.session_cookie().expect("a session");
        let [a, b] = [&first, &second].map(|node| {
            let copy = first.browser();
            copy.jar
                .add_cookie_str(&format!("saifu_session={cookie}; Path=/"), &first.base);
            copy.on(node)
        });
        let answers = tokio::join!(finish(&a, &csrf, &assertion), finish(&b, &csrf, &assertion));
        let mut winners = Vec::new();
        for (answer, copy) in [(answers.0, &a), (answers.1, &b)] {
            if answer.status() == StatusCode::OK {
                winners.push(copy);
                continue;
            }
            // The loser finds the ceremony taken, or (when the winner has already ended the
            // session it came with) no session to check its CSRF token against.
            let (status, code) = problem_code(answer).await;
            assert!(
                (status, code.as_str()) == (StatusCode::BAD_REQUEST, "ceremony_not_found")
                    || (status, code.as_str()) == (StatusCode::FORBIDDEN, "csrf_failed"),
                "round {round}: {status} {code}"
            );
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one finish signs in"
        );
        assert_eq!(count_rows(&first, "ceremonies").await, 0, "round {round}");
        // The counter recorded is the assertion's, once.
        let counter = i64::from(assertion_counter(&assertion));
        assert_eq!(
            count_rows(&first, &format!("passkeys WHERE sign_count = {counter}")).await,
            1,
            "round {round}"
        );
        assert_eq!(winners[0].signed_in_as().await.as_deref(), Some("Twin"));
        // The session both came with is gone: the next round starts a new one.
        assert_eq!(browser.signed_in_as().await, None);
    }
}

/// The signature counter an assertion carries (the four bytes after the RP ID hash and flags).
fn assertion_counter(credential: &PublicKeyCredential) -> u32 {
    let data: &[u8] = credential.response.authenticator_data.as_ref();
    u32::from_be_bytes(data[33..37].try_into().unwrap())
}

#[tokio::test]
async fn a_refused_finish_uses_its_ceremony_up_and_a_valid_answer_to_it_is_refused_too() {
    let app = spawn_app().await;
    let browser = app.browser();
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &app.origin(), "Once", "once@example.com")
        .await;
    browser.post_form("/signout", &[]).await;

    let options = browser.begin_sign_in().await;
    let mut forged = key.assert(&app.origin(), options).unwrap();
    let valid = forged.clone();
    forged.response.signature[10] ^= 1;
    assert_eq!(
        browser.finish_sign_in(&forged).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(count_rows(&app, "ceremonies").await, 0);
    assert_eq!(
        problem_code(browser.finish_sign_in(&valid).await).await,
        (StatusCode::BAD_REQUEST, "ceremony_not_found".into())
    );
    assert_eq!(browser.signed_in_as().await, None);
    // A new ceremony signs in.
    assert_eq!(
        browser.sign_in(&mut key, &app.origin()).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_sign_in_clears_the_accounts_earlier_failures() {
    let app = spawn_app_with(|c| {
        c.signin_failures_per_account = 2;
        c.signin_failures_per_ip = 100;
    })
    .await;
    let browser = app.browser();
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &app.origin(), "Kai", "kai@example.com")
        .await;
    browser.post_form("/signout", &[]).await;

    // One failure, a success, one failure: never two in a row, so never locked.
    for _ in 0..3 {
        let failed = browser.sign_in(&mut key, &wrong_origin(&app)).await;
        assert_eq!(failed.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            browser.sign_in(&mut key, &app.origin()).await.status(),
            StatusCode::OK
        );
        browser.post_form("/signout", &[]).await;
    }
    assert_eq!(
        count_rows(&app, "rate_limits WHERE key LIKE 'signin:account:%'").await,
        0
    );
    // Without a success in between, two failures lock the account.
    for _ in 0..2 {
        let failed = browser.sign_in(&mut key, &wrong_origin(&app)).await;
        assert_eq!(failed.status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        problem_code(browser.sign_in(&mut key, &app.origin()).await).await,
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts".into())
    );
}

#[tokio::test]
async fn a_sign_in_leaves_one_session_the_new_one() {
    let app = spawn_app().await;
    let browser = app.browser();
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &app.origin(), "Solo", "solo@example.com")
        .await;
    browser.post_form("/signout", &[]).await;
    browser.get_html("/signin").await;
    assert_eq!(count_rows(&app, "sessions").await, 1);

    let signed_in = browser.sign_in(&mut key, &app.origin()).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let body: Value = signed_in.json().await.unwrap();
    assert_eq!(body["redirect"], "/");
    // The pre-sign-in session was deleted with the sign-in; only the new one is left.
    assert_eq!(count_rows(&app, "sessions").await, 1);
    assert_eq!(browser.signed_in_as().await.as_deref(), Some("Solo"));
}
