//! Account recovery without SMS: recovery codes shown once and kept only as Argon2id hashes,
//! each signing in once (and a replaced set not at all), ending the shopper's other sessions
//! and allowing nothing but a new passkey; failed codes rate limited like sign-ins; recovery
//! links started from the console that wait out a cool-down, are cancelled by a passkey
//! sign-in meanwhile (and the shopper told), and sign in once after it. All audited.

use reqwest::{Response, StatusCode};
use saifu::admin::Role;
use serde_json::Value;
use webauthn_rs_proto::CreationChallengeResponse;

use crate::helpers::{
    count_rows, frames, merchant, sdk, signed_in_admin, spawn_app, spawn_app_with,
    user_id_by_email, Browser, Shopper, TestApp, TestPasskey,
};

/// The codes a page shows in its "Save your recovery codes" list.
fn shown_codes(html: &str) -> Vec<String> {
    let Some(start) = html.find("id=\"recovery-codes\"") else {
        return Vec::new();
    };
    let section = &html[start..html[start..].find("</section>").unwrap() + start];
    section
        .split("<code>")
        .skip(1)
        .map(|s| s[..s.find("</code>").unwrap()].to_string())
        .collect()
}

/// A new shopper signed up in a browser of their own; the codes the home page shows them.
async fn signed_up(app: &TestApp, email: &str) -> (Browser, TestPasskey, Vec<String>) {
    let browser = app.browser();
    let mut key = TestPasskey::new();
    let r = browser
        .sign_up(&mut key, &app.origin(), "Mika", email)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let codes = shown_codes(&browser.html("/").await);
    (browser, key, codes)
}

async fn recover_with(browser: &Browser, email: &str, code: &str) -> Response {
    browser
        .post_form("/recover", &[("email", email), ("code", code)])
        .await
}

fn location(r: &Response) -> &str {
    r.headers()["location"].to_str().unwrap()
}

/// The `data-code` of the error a re-rendered form shows.
async fn form_error(r: Response) -> (StatusCode, String) {
    let status = r.status();
    let html = r.text().await.unwrap();
    let code = html
        .split("data-code=\"")
        .nth(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .unwrap_or_default();
    (status, code)
}

/// Makes the new passkey a recovery sign-in leads to; the key, and where the wallet sends the
/// shopper next.
async fn new_passkey(app: &TestApp, browser: &Browser) -> (TestPasskey, String) {
    let begin = browser
        .post_json("/recover/passkey/begin", &serde_json::json!({}))
        .await;
    assert_eq!(begin.status(), StatusCode::OK);
    let options: CreationChallengeResponse = begin.json().await.unwrap();
    let mut key = TestPasskey::new();
    let credential = key.register(&app.origin(), options).unwrap();
    let finish = browser
        .post_json(
            "/recover/passkey/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await;
    assert_eq!(finish.status(), StatusCode::OK);
    let body: Value = finish.json().await.unwrap();
    (key, body["redirect"].as_str().unwrap().to_string())
}

async fn audited(app: &TestApp, action: &str) -> i64 {
    count_rows(app, &format!("audit_log WHERE action = '{action}'")).await
}

#[tokio::test]
async fn codes_are_shown_once_after_sign_up_and_kept_only_as_slow_hashes() {
    let app = spawn_app().await;
    let (browser, _key, codes) = signed_up(&app, "once@example.com").await;
    assert_eq!(codes.len(), 10, "ten codes on the home page after sign-up");
    for code in &codes {
        assert_eq!(code.len(), 11, "{code}");
        assert_eq!(&code[5..6], "-", "{code}");
    }
    let home = browser.html("/").await;
    assert!(shown_codes(&home).is_empty(), "shown only once");
    assert!(
        !home.contains("recovery-codes-missing"),
        "the shopper has codes"
    );

    let user = user_id_by_email(&app, "once@example.com").await;
    let mine = format!("recovery_codes WHERE user_id = '{user}'");
    assert_eq!(count_rows(&app, &mine).await, 10);
    assert_eq!(
        count_rows(&app, &format!("{mine} AND code_hash LIKE '$argon2id$%'")).await,
        10
    );
    for code in &codes {
        let bare = code.replace('-', "");
        let leaked = format!("{mine} AND (code_hash LIKE '%{bare}%' OR code_hash LIKE '%{code}%')");
        assert_eq!(count_rows(&app, &leaked).await, 0, "no code in the clear");
    }
    assert_eq!(
        audited(&app, "shopper.recovery_codes_replaced").await,
        0,
        "the first set is part of signing up"
    );
    let activity = browser.html("/activity").await;
    assert!(activity.contains("You made recovery codes."), "{activity}");
}

#[tokio::test]
async fn a_code_signs_in_once_ends_every_other_session_and_allows_only_a_new_passkey() {
    let app = spawn_app().await;
    let (old, _lost, codes) = signed_up(&app, "lost@example.com").await;
    assert!(old.signed_in_as().await.is_some());

    let browser = app.browser();
    // Capitals and spaces do not matter.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let r = recover_with(&browser, "Lost@Example.com", &typed).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/recover/passkey");
    assert_eq!(old.signed_in_as().await, None, "the other session ended");

    // Nothing but the new passkey: not signed in, no wallet page, no other passkey call.
    assert_eq!(browser.signed_in_as().await, None);
    let cards = browser.get_html("/cards").await;
    assert_ne!(cards.status(), StatusCode::OK);
    let add = browser
        .post_json("/passkeys/register/begin", &serde_json::json!({}))
        .await;
    assert_eq!(add.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        browser.get_html("/recover/passkey").await.status(),
        StatusCode::OK
    );
    // Another browser cannot make the passkey.
    let stranger = app
        .browser()
        .post_json("/recover/passkey/begin", &serde_json::json!({}))
        .await;
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);

    let (key, next) = new_passkey(&app, &browser).await;
    assert_eq!(next, "/passkeys");
    assert_eq!(browser.signed_in_as().await.as_deref(), Some("Mika"));
    assert!(browser.html("/passkeys").await.contains("Passkey 2"));
    // The recovery session is over once the passkey is made.
    assert_eq!(
        browser.get_html("/recover/passkey").await.status(),
        StatusCode::SEE_OTHER
    );

    // The same code again is refused, from any browser.
    let again = recover_with(&app.browser(), "lost@example.com", &codes[0]).await;
    assert_eq!(
        form_error(again).await,
        (StatusCode::BAD_REQUEST, "invalid_recovery_code".to_string())
    );
    assert_eq!(audited(&app, "shopper.recovery_code_used").await, 1);

    // The new passkey pays.
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut shopper = Shopper {
        browser,
        key,
        origin: app.origin(),
    };
    let added = shopper
        .browser
        .post_form(
            "/cards",
            &[
                ("number", "4242424242424242"),
                ("expiry", "12/39"),
                ("cvc", "123"),
                ("holder", "Mika Sato"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let (url, pending) = client.start_checkout(&frames()).await.unwrap();
    let callback = shopper.pay(&url).await;
    assert!(client.complete_checkout(&callback, &pending).await.is_ok());

    let activity = shopper.browser.html("/activity").await;
    assert!(
        activity.contains("You signed in with a recovery code"),
        "{activity}"
    );
}

#[tokio::test]
async fn a_code_of_a_replaced_set_is_refused() {
    let app = spawn_app().await;
    let (browser, _key, first) = signed_up(&app, "rotate@example.com").await;
    let page = browser.post_form("/recovery-codes", &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    let second = shown_codes(&page.text().await.unwrap());
    assert_eq!(second.len(), 10);
    assert!(first.iter().all(|c| !second.contains(c)));
    let user = user_id_by_email(&app, "rotate@example.com").await;
    assert_eq!(
        count_rows(&app, &format!("recovery_codes WHERE user_id = '{user}'")).await,
        10,
        "the old set is gone"
    );
    assert!(browser
        .html("/recovery-codes")
        .await
        .contains("You have 10 unused codes left."));

    let old = recover_with(&app.browser(), "rotate@example.com", &first[0]).await;
    assert_eq!(
        form_error(old).await,
        (StatusCode::BAD_REQUEST, "invalid_recovery_code".to_string())
    );
    let new = recover_with(&app.browser(), "rotate@example.com", &second[0]).await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
    assert_eq!(audited(&app, "shopper.recovery_codes_replaced").await, 1);
}

#[tokio::test]
async fn failed_codes_are_rate_limited_like_sign_ins() {
    let app = spawn_app_with(|c| c.signin_failures_per_account = 3).await;
    let (_browser, _key, codes) = signed_up(&app, "guess@example.com").await;
    let attacker = app.browser();
    for wrong in ["aaaaa-aaaaa", "bbbbb-bbbbb", "ccccc-ccccc"] {
        let r = recover_with(&attacker, "guess@example.com", wrong).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    // Past the limit even the right code is refused, and the code is not used up.
    let r = recover_with(&app.browser(), "guess@example.com", &codes[0]).await;
    assert_eq!(
        form_error(r).await,
        (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts".to_string()
        )
    );
    let user = user_id_by_email(&app, "guess@example.com").await;
    assert_eq!(
        count_rows(
            &app,
            &format!("recovery_codes WHERE user_id = '{user}' AND used_at IS NULL")
        )
        .await,
        10
    );
    assert_eq!(audited(&app, "shopper.recovery_locked").await, 1);
    // An unknown address gets the same answer as a wrong code, and counts against the address.
    let unknown = recover_with(&app.browser(), "nobody@example.com", &codes[1]).await;
    assert_eq!(
        form_error(unknown).await,
        (StatusCode::BAD_REQUEST, "invalid_recovery_code".to_string())
    );
}

/// Support starts a recovery on the console; the link it shows.
async fn start_recovery(app: &TestApp, email: &str) -> String {
    let support = signed_in_admin(app, Role::Support).await;
    let user = user_id_by_email(app, email).await;
    let r = support
        .admin_post_form(&format!("/admin/shoppers/{user}/recovery"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let start = html
        .find("/recover/link?token=")
        .expect("the link is shown");
    let rest = &html[start + "/recover/link?token=".len()..];
    let token = rest[..rest.find('"').unwrap()].to_string();
    let page = support.html(&format!("/admin/shoppers/{user}")).await;
    assert!(
        page.contains("recovery-pending"),
        "the shopper page shows it"
    );
    assert!(!page.contains(&token), "the link is shown only once");
    token
}

async fn use_link(browser: &Browser, token: &str) -> Response {
    browser
        .post_form("/recover/link", &[("token", token)])
        .await
}

#[tokio::test]
async fn a_recovery_link_works_once_and_only_after_its_cool_down() {
    let app = spawn_app_with(|c| c.recovery_cooldown_secs = 3).await;
    let (old, _lost, _codes) = signed_up(&app, "link@example.com").await;
    let token = start_recovery(&app, "link@example.com").await;
    let user = user_id_by_email(&app, "link@example.com").await;
    assert_eq!(
        count_rows(
            &app,
            &format!("recovery_requests WHERE token_hash = '{token}'")
        )
        .await,
        0,
        "only the token's hash is kept"
    );

    let browser = app.browser();
    let waiting = browser.html(&format!("/recover/link?token={token}")).await;
    assert!(waiting.contains("recovery-waiting"), "{waiting}");
    let early = use_link(&browser, &token).await;
    assert_eq!(
        form_error(early).await,
        (StatusCode::CONFLICT, "recovery_not_ready".to_string())
    );
    assert!(old.signed_in_as().await.is_some(), "nothing changed");

    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let r = use_link(&browser, &token).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/recover/passkey");
    assert_eq!(old.signed_in_as().await, None, "the other session ended");
    let twice = use_link(&app.browser(), &token).await;
    assert_eq!(
        form_error(twice).await,
        (StatusCode::GONE, "recovery_link_invalid".to_string())
    );
    let (_key, _next) = new_passkey(&app, &browser).await;
    assert_eq!(browser.signed_in_as().await.as_deref(), Some("Mika"));

    assert_eq!(audited(&app, "shopper.recovery_started").await, 1);
    assert_eq!(audited(&app, "shopper.recovery_completed").await, 1);
    assert_eq!(
        count_rows(
            &app,
            &format!("audit_log WHERE action = 'shopper.recovery_started' AND target = 'shopper:{user}' AND actor LIKE 'admin:%'")
        )
        .await,
        1
    );
    let activity = browser.html("/activity").await;
    assert!(activity.contains("Saifu support started a recovery"));
    assert!(activity.contains("You signed in with a recovery link"));
}

#[tokio::test]
async fn a_passkey_sign_in_during_the_cool_down_cancels_the_recovery_and_tells_the_shopper() {
    let app = spawn_app().await;
    let (_first, mut key, _codes) = signed_up(&app, "mine@example.com").await;
    let token = start_recovery(&app, "mine@example.com").await;

    let browser = app.browser();
    let r = browser.sign_in(&mut key, &app.origin()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let home = browser.html("/").await;
    assert!(
        home.contains("recovery-cancelled"),
        "the shopper is told: {home}"
    );
    assert!(browser
        .html("/activity")
        .await
        .contains("was cancelled because you signed in"));
    assert_eq!(audited(&app, "shopper.recovery_cancelled").await, 1);

    // The link no longer works at all: not "not yet" (409) but "no longer" (410).
    let late = use_link(&app.browser(), &token).await;
    assert_eq!(
        form_error(late).await,
        (StatusCode::GONE, "recovery_link_invalid".to_string())
    );
    assert!(
        browser.signed_in_as().await.is_some(),
        "the shopper stays signed in"
    );

    // The notice goes once dismissed; a sign-in after it changes nothing more.
    let dismissed = browser.post_form("/recovery/notices/dismiss", &[]).await;
    assert_eq!(dismissed.status(), StatusCode::SEE_OTHER);
    assert!(!browser.html("/").await.contains("recovery-cancelled"));
    assert_eq!(audited(&app, "shopper.recovery_cancelled").await, 1);
}

#[tokio::test]
async fn a_new_recovery_replaces_the_waiting_one() {
    let app = spawn_app_with(|c| c.recovery_cooldown_secs = 0).await;
    signed_up(&app, "twice@example.com").await;
    let first = start_recovery(&app, "twice@example.com").await;
    let second = start_recovery(&app, "twice@example.com").await;
    let r = use_link(&app.browser(), &first).await;
    assert_eq!(
        form_error(r).await,
        (StatusCode::GONE, "recovery_link_invalid".to_string())
    );
    let r = use_link(&app.browser(), &second).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

/// Support calls off a waiting recovery from the console: the link stops working, the shopper
/// is told, the change is audited once, and cancelling again records nothing.
#[tokio::test]
async fn support_cancels_a_waiting_recovery_and_its_link_stops_working() {
    let app = spawn_app().await;
    let (shopper, _key, _codes) = signed_up(&app, "called-off@example.com").await;
    let token = start_recovery(&app, "called-off@example.com").await;
    let user = user_id_by_email(&app, "called-off@example.com").await;
    let support = signed_in_admin(&app, Role::Support).await;
    let page = support.html(&format!("/admin/shoppers/{user}")).await;
    assert!(page.contains("Cancel this recovery"), "{page}");

    let r = support
        .admin_post_form(&format!("/admin/shoppers/{user}/recovery/cancel"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/admin/shoppers/{user}"));
    let page = support.html(&format!("/admin/shoppers/{user}")).await;
    assert!(!page.contains("recovery-pending"), "{page}");

    let r = use_link(&app.browser(), &token).await;
    assert_eq!(
        form_error(r).await,
        (StatusCode::GONE, "recovery_link_invalid".to_string())
    );
    assert_eq!(
        count_rows(
            &app,
            &format!("audit_log WHERE action = 'shopper.recovery_cancelled' AND target = 'shopper:{user}' AND actor LIKE 'admin:%'")
        )
        .await,
        1
    );
    // The shopper's Activity says support called it off.
    let activity = shopper.html("/activity").await;
    assert!(
        activity.contains("Saifu support cancelled a recovery of your account"),
        "{activity}"
    );
    // Nothing left to cancel: back to the page, nothing recorded.
    let r = support
        .admin_post_form(&format!("/admin/shoppers/{user}/recovery/cancel"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(audited(&app, "shopper.recovery_cancelled").await, 1);
}
