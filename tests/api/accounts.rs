//! Shopper sign-up, sign-in and sign-out with passkeys, and the ways they must fail.

use reqwest::StatusCode;
use serde_json::{json, Value};
use webauthn_rs_proto::UserVerificationPolicy;

use crate::helpers::{
    problem_code, spawn_app, spawn_app_with, user_verified, wrong_origin, TestPasskey,
};

#[tokio::test]
async fn sign_up_sign_out_and_sign_in_again_with_a_soft_passkey() {
    let app = spawn_app().await;
    let browser = app.browser();
    let mut key = TestPasskey::new();

    let finish = browser
        .sign_up(&mut key, &app.origin(), "Hanako", "hanako@example.com")
        .await;
    assert_eq!(finish.status(), StatusCode::OK);
    let body: Value = finish.json().await.unwrap();
    assert_eq!(body["redirect"], "/");
    assert_eq!(browser.signed_in_as().await.as_deref(), Some("Hanako"));

    let out = browser.post_form("/signout", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(browser.signed_in_as().await, None);

    let again = browser.sign_in(&mut key, &app.origin()).await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "{}",
        again.text().await.unwrap()
    );
    assert_eq!(browser.signed_in_as().await.as_deref(), Some("Hanako"));
}

#[tokio::test]
async fn sign_in_returns_to_a_safe_next_path_only() {
    let app = spawn_app().await;
    let browser = app.browser();
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &app.origin(), "Ken", "ken@example.com")
        .await;
    browser.post_form("/signout", &[]).await;

    for (next, expected) in [
        ("/passkeys", "/passkeys"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
    ] {
        let begin = browser
            .post_json("/signin/begin", &json!({ "next": next }))
            .await;
        let options = begin.json().await.unwrap();
        let credential = key.assert(&app.origin(), options).unwrap();
        let done: Value = browser
            .finish_sign_in(&credential)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(done["redirect"], expected, "next={next}");
        browser.post_form("/signout", &[]).await;
    }
}

#[tokio::test]
async fn passkey_made_for_another_origin_is_refused() {
    let app = spawn_app().await;
    let browser = app.browser();
    let mut key = TestPasskey::new();
    let finish = browser
        .sign_up(&mut key, &wrong_origin(&app), "Eve", "eve@example.com")
        .await;
    assert_eq!(
        problem_code(finish).await,
        (StatusCode::BAD_REQUEST, "webauthn_wrong_origin".into())
    );
    assert_eq!(browser.signed_in_as().await, None);

    // An assertion for another origin fails too.
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &app.origin(), "Ann", "ann@example.com")
        .await;
    browser.post_form("/signout", &[]).await;
    let finish = browser.sign_in(&mut key, &wrong_origin(&app)).await;
    assert_eq!(
        problem_code(finish).await,
        (StatusCode::BAD_REQUEST, "webauthn_wrong_origin".into())
    );
    assert_eq!(browser.signed_in_as().await, None);
}

#[tokio::test]
async fn passkey_without_user_verification_is_refused() {
    let app = spawn_app().await;
    let browser = app.browser();

    // Registration: an authenticator that skips user verification.
    let begin = browser
        .post_json(
            "/signup/begin",
            &json!({ "display_name": "Uv", "email": "uv@example.com" }),
        )
        .await;
    let mut options: webauthn_rs_proto::CreationChallengeResponse = begin.json().await.unwrap();
    options
        .public_key
        .authenticator_selection
        .as_mut()
        .unwrap()
        .user_verification = UserVerificationPolicy::Discouraged_DO_NOT_USE;
    let mut lazy = TestPasskey::new();
    let credential = lazy.register(&app.origin(), options).unwrap();
    let finish = browser
        .post_json(
            "/signup/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await;
    assert_eq!(
        problem_code(finish).await,
        (StatusCode::BAD_REQUEST, "user_verification_required".into())
    );

    // Assertion: a registered passkey answering without verifying the user.
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &app.origin(), "Uv", "uv@example.com")
        .await;
    browser.post_form("/signout", &[]).await;
    let mut options = browser.begin_sign_in().await;
    options.public_key.user_verification = UserVerificationPolicy::Discouraged_DO_NOT_USE;
    let assertion = key.assert(&app.origin(), options).unwrap();
    assert!(!user_verified(&assertion), "the UV flag is off");
    let finish = browser.finish_sign_in(&assertion).await;
    assert_eq!(
        problem_code(finish).await,
        (StatusCode::BAD_REQUEST, "user_verification_required".into())
    );
    assert_eq!(browser.signed_in_as().await, None);

    // The same passkey, verifying its user, signs in.
    let options = browser.begin_sign_in().await;
    let assertion = key.assert(&app.origin(), options).unwrap();
    assert!(user_verified(&assertion));
    assert_eq!(
        browser.finish_sign_in(&assertion).await.status(),
        StatusCode::OK
    );
    assert_eq!(browser.signed_in_as().await.as_deref(), Some("Uv"));
}

#[tokio::test]
async fn replayed_ceremony_is_refused() {
    let app = spawn_app().await;
    let browser = app.browser();
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &app.origin(), "Rui", "rui@example.com")
        .await;
    browser.post_form("/signout", &[]).await;

    let options = browser.begin_sign_in().await;
    let assertion = key.assert(&app.origin(), options).unwrap();
    assert_eq!(
        browser.finish_sign_in(&assertion).await.status(),
        StatusCode::OK
    );
    browser.post_form("/signout", &[]).await;

    // The same signed answer again: the ceremony state was taken out on first use.
    let replay = browser.finish_sign_in(&assertion).await;
    assert_eq!(
        problem_code(replay).await,
        (StatusCode::BAD_REQUEST, "ceremony_not_found".into())
    );
    // Also after a new ceremony was started: its challenge differs.
    browser.begin_sign_in().await;
    let replay = browser.finish_sign_in(&assertion).await;
    assert_eq!(
        problem_code(replay).await,
        (
            StatusCode::BAD_REQUEST,
            "webauthn_challenge_mismatch".into()
        )
    );
    assert_eq!(browser.signed_in_as().await, None);
}

#[tokio::test]
async fn expired_ceremony_is_refused() {
    let app = spawn_app_with(|c| c.ceremony_ttl_secs = 1).await;
    let browser = app.browser();
    let begin = browser
        .post_json(
            "/signup/begin",
            &json!({ "display_name": "Late", "email": "late@example.com" }),
        )
        .await;
    let options = begin.json().await.unwrap();
    let mut key = TestPasskey::new();
    let credential = key.register(&app.origin(), options).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let finish = browser
        .post_json(
            "/signup/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await;
    assert_eq!(
        problem_code(finish).await,
        (StatusCode::BAD_REQUEST, "ceremony_expired".into())
    );
    assert_eq!(browser.signed_in_as().await, None);
}

#[tokio::test]
async fn counter_regression_from_a_cloned_authenticator_is_refused() {
    let app = spawn_app().await;
    let owner = app.browser();
    let mut key = TestPasskey::new();
    owner
        .sign_up(&mut key, &app.origin(), "Clone", "clone@example.com")
        .await;
    owner.post_form("/signout", &[]).await;

    // Two sign-ins in two browsers: the first assertion carries counter 1, the second 2.
    let thief = app.browser();
    let early = key
        .assert(&app.origin(), thief.begin_sign_in().await)
        .unwrap();
    let late = key
        .assert(&app.origin(), owner.begin_sign_in().await)
        .unwrap();
    assert_eq!(owner.finish_sign_in(&late).await.status(), StatusCode::OK);
    // Counter 1 after 2 was seen: what a copy of the key would send.
    let refused = thief.finish_sign_in(&early).await;
    assert_eq!(
        problem_code(refused).await,
        (
            StatusCode::UNAUTHORIZED,
            "possible_cloned_authenticator".into()
        )
    );
    assert_eq!(thief.signed_in_as().await, None);
}

#[tokio::test]
async fn duplicate_email_is_refused_in_any_letter_case() {
    let app = spawn_app().await;
    let mut key = TestPasskey::new();
    let first = app.browser();
    assert_eq!(
        first
            .sign_up(&mut key, &app.origin(), "Aiko", "aiko@example.com")
            .await
            .status(),
        StatusCode::OK
    );

    let second = app.browser();
    let begin = second
        .post_json(
            "/signup/begin",
            &json!({ "display_name": "Other", "email": " AIKO@Example.com " }),
        )
        .await;
    let body: Value = {
        assert_eq!(begin.status(), StatusCode::CONFLICT);
        begin.json().await.unwrap()
    };
    assert_eq!(body["code"], "email_taken");
    assert_eq!(body["field"], "email");
}

#[tokio::test]
async fn two_concurrent_sign_ups_with_one_email_exactly_one_wins() {
    let app = spawn_app().await;
    let (a, b) = (app.browser(), app.browser());
    let (mut ka, mut kb) = (TestPasskey::new(), TestPasskey::new());
    async fn begin(
        browser: &crate::helpers::Browser,
    ) -> webauthn_rs_proto::CreationChallengeResponse {
        let body = json!({ "display_name": "Twin", "email": "twin@example.com" });
        browser
            .post_json("/signup/begin", &body)
            .await
            .json()
            .await
            .unwrap()
    }
    let (oa, ob) = (begin(&a).await, begin(&b).await);
    let ca = serde_json::to_value(ka.register(&app.origin(), oa).unwrap()).unwrap();
    let cb = serde_json::to_value(kb.register(&app.origin(), ob).unwrap()).unwrap();
    let (ra, rb) = tokio::join!(
        a.post_json("/signup/finish", &ca),
        b.post_json("/signup/finish", &cb)
    );
    let mut statuses = vec![ra.status(), rb.status()];
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::OK, StatusCode::CONFLICT]);
    let loser = if ra.status() == StatusCode::CONFLICT {
        ra
    } else {
        rb
    };
    assert_eq!(problem_code(loser).await.1, "email_taken");
}

#[tokio::test]
async fn many_concurrent_sign_ups_all_succeed_without_lock_errors() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let browser = app.browser();
        let origin = app.origin();
        tasks.push(tokio::spawn(async move {
            let mut key = TestPasskey::new();
            browser
                .sign_up(
                    &mut key,
                    &origin,
                    &format!("Shopper {i}"),
                    &format!("s{i}@example.com"),
                )
                .await
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
}

#[tokio::test]
async fn session_id_changes_at_sign_in_and_the_old_one_is_worthless() {
    let app = spawn_app().await;
    let browser = app.browser();
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &app.origin(), "Sora", "sora@example.com")
        .await;
    browser.post_form("/signout", &[]).await;

    browser.get_html("/signin").await;
    let before = browser.session_cookie().expect("anonymous session cookie");
    assert_eq!(
        browser.sign_in(&mut key, &app.origin()).await.status(),
        StatusCode::OK
    );
    let after = browser.session_cookie().expect("signed-in session cookie");
    assert_ne!(before, after, "session id must change at sign-in");

    // Someone holding the pre-sign-in id (session fixation) is not signed in.
    let planted = app.browser();
    planted
        .jar
        .add_cookie_str(&format!("saifu_session={before}; Path=/"), &app.base);
    assert_eq!(planted.signed_in_as().await, None);
    assert_eq!(browser.signed_in_as().await.as_deref(), Some("Sora"));
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site() {
    let app = spawn_app().await;
    let browser = app.browser();
    let page = browser.get_html("/signin").await;
    let cookie = page
        .headers()
        .get("set-cookie")
        .expect("session cookie")
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(
        cookie.contains("SameSite=Lax") || cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "development on http://localhost has no Secure flag: {cookie}"
    );

    let secure = spawn_app_with(|c| c.cookie_secure = Some(true)).await;
    let page = secure.browser().get_html("/signin").await;
    let cookie = page
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.starts_with("__Host-saifu_session=") && cookie.contains("Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn state_changing_calls_without_the_csrf_token_are_refused() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.get_html("/signin").await;

    let no_token = browser
        .http
        .post(browser.url("/signin/begin"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_code(no_token).await,
        (StatusCode::FORBIDDEN, "csrf_failed".into())
    );

    let wrong = browser
        .http
        .post(browser.url("/signin/begin"))
        .header("x-csrf-token", "forged")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_code(wrong).await,
        (StatusCode::FORBIDDEN, "csrf_failed".into())
    );

    let form = browser
        .http
        .post(browser.url("/signout"))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_code(form).await,
        (StatusCode::FORBIDDEN, "csrf_failed".into())
    );

    let token = browser.csrf().await;
    let cross_site = browser
        .http
        .post(browser.url("/signin/begin"))
        .header("x-csrf-token", &token)
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_code(cross_site).await,
        (StatusCode::FORBIDDEN, "csrf_failed".into())
    );

    let ok = browser
        .http
        .post(browser.url("/signin/begin"))
        .header("x-csrf-token", &token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    // A plain form post from a no-referrer page carries `Origin: null`: the token decides.
    let forged = browser
        .http
        .post(browser.url("/signout"))
        .header("origin", "null")
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_code(forged).await,
        (StatusCode::FORBIDDEN, "csrf_failed".into())
    );
    let null_origin = browser
        .http
        .post(browser.url("/signout"))
        .header("origin", "null")
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(null_origin.status(), StatusCode::SEE_OTHER);
    let token = browser.csrf().await;
    let cross_site_fetch = browser
        .http
        .post(browser.url("/signout"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_code(cross_site_fetch).await,
        (StatusCode::FORBIDDEN, "csrf_failed".into())
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_but_not_other_accounts() {
    let app = spawn_app_with(|c| c.signin_failures_per_account = 2).await;
    let victim = app.browser();
    let mut key = TestPasskey::new();
    victim
        .sign_up(&mut key, &app.origin(), "Mio", "mio@example.com")
        .await;
    victim.post_form("/signout", &[]).await;
    let other = app.browser();
    let mut other_key = TestPasskey::new();
    other
        .sign_up(&mut other_key, &app.origin(), "Yui", "yui@example.com")
        .await;
    other.post_form("/signout", &[]).await;

    for _ in 0..2 {
        let failed = victim.sign_in(&mut key, &wrong_origin(&app)).await;
        assert_eq!(failed.status(), StatusCode::BAD_REQUEST);
    }
    let locked = victim.sign_in(&mut key, &app.origin()).await;
    assert_eq!(
        problem_code(locked).await,
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts".into())
    );
    assert_eq!(victim.signed_in_as().await, None);

    assert_eq!(
        other.sign_in(&mut other_key, &app.origin()).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn repeated_failures_from_one_address_are_limited() {
    let app = spawn_app_with(|c| c.signin_failures_per_ip = 3).await;
    let browser = app.browser();
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &app.origin(), "Ip", "ip@example.com")
        .await;
    browser.post_form("/signout", &[]).await;
    for _ in 0..3 {
        let replay = browser
            .finish_sign_in(
                &key.assert(&app.origin(), browser.begin_sign_in().await)
                    .map(|mut c| {
                        c.response.signature[10] ^= 1;
                        c
                    })
                    .unwrap(),
            )
            .await;
        assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    }
    let blocked = browser.sign_in(&mut key, &app.origin()).await;
    assert_eq!(
        problem_code(blocked).await,
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts".into())
    );
}

#[tokio::test]
async fn sessions_end_after_idle_time_and_after_absolute_lifetime() {
    let idle = spawn_app_with(|c| c.session_idle_secs = 3).await;
    let browser = idle.browser();
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &idle.origin(), "Idle", "idle@example.com")
        .await;
    assert!(browser.signed_in_as().await.is_some());
    tokio::time::sleep(std::time::Duration::from_millis(4200)).await;
    assert_eq!(browser.signed_in_as().await, None);

    // The absolute lifetime ends a session however active it is (idle expiry is 30 min here).
    let absolute = spawn_app_with(|c| c.session_absolute_secs = 3).await;
    let browser = absolute.browser();
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &absolute.origin(), "Abs", "abs@example.com")
        .await;
    let signed_up = std::time::Instant::now();
    while signed_up.elapsed() < std::time::Duration::from_millis(1500) {
        assert!(
            browser.signed_in_as().await.is_some(),
            "active within the lifetime"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(4000).saturating_sub(signed_up.elapsed()))
        .await;
    assert_eq!(browser.signed_in_as().await, None);
}

#[tokio::test]
async fn malformed_sign_up_input_gets_field_errors() {
    let app = spawn_app().await;
    let browser = app.browser();
    let bad_email = browser
        .post_json(
            "/signup/begin",
            &json!({ "display_name": "X", "email": "not-an-email" }),
        )
        .await;
    let body: Value = bad_email.json().await.unwrap();
    assert_eq!(
        (body["code"].as_str(), body["field"].as_str()),
        (Some("invalid_email"), Some("email"))
    );
    let no_name = browser
        .post_json(
            "/signup/begin",
            &json!({ "display_name": "  ", "email": "x@example.com" }),
        )
        .await;
    let body: Value = no_name.json().await.unwrap();
    assert_eq!(
        (body["code"].as_str(), body["field"].as_str()),
        (Some("invalid_display_name"), Some("display_name"))
    );
}
