//! The console's admins: invitations (used, expired, unknown, wrong role), passkey sign-in
//! with user verification, sessions apart from the shopper's, a second passkey, and the last
//! owner who can neither be demoted nor removed.

use reqwest::StatusCode;
use saifu::admin::Role;
use saifu::audit::{Actor, Query};
use serde_json::{json, Value};
use webauthn_rs_proto::{CreationChallengeResponse, UserVerificationPolicy};

use crate::helpers::*;

async fn actions(app: &TestApp) -> Vec<(String, String)> {
    app.state
        .audit
        .list(&Query::default(), 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action))
        .collect()
}

#[tokio::test]
async fn an_invitation_makes_an_admin_with_a_passkey_once() {
    let app = spawn_app().await;
    let token = invite_token(&app, "first@issuer.example", Role::Owner).await;

    let page = app
        .browser()
        .get_html(&format!("/admin/invite?token={token}"))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("first@issuer.example") && html.contains("owner"),
        "{html}"
    );

    let browser = app.browser();
    let mut key = TestPasskey::new();
    let joined = browser.join_console(&mut key, &app.origin(), &token).await;
    assert_eq!(joined.status(), StatusCode::OK);
    let body: Value = joined.json().await.unwrap();
    assert_eq!(body["redirect"], "/admin/passkeys?welcome=1");
    let passkeys = browser.get_html("/admin/passkeys").await;
    assert_eq!(passkeys.status(), StatusCode::OK);
    let html = passkeys.text().await.unwrap();
    assert!(
        html.contains("Add a second passkey"),
        "one passkey: a second is suggested"
    );
    assert!(html.contains("role <strong>owner</strong>"), "{html}");

    // The link works once: its page and a second passkey from it are refused.
    let used = app
        .browser()
        .get_html(&format!("/admin/invite?token={token}"))
        .await;
    assert_eq!(used.status(), StatusCode::GONE);
    let html = used.text().await.unwrap();
    assert!(
        html.contains("can&#39;t be used") || html.contains("can't be used"),
        "{html}"
    );
    assert!(html.contains("invite_used"), "{html}");
    let again = app
        .browser()
        .join_console(&mut TestPasskey::new(), &app.origin(), &token)
        .await;
    assert_eq!(
        problem_code(again).await,
        (StatusCode::GONE, "invite_used".into())
    );

    let log = actions(&app).await;
    assert!(
        log.contains(&("cli".into(), "admin.invited".into())),
        "{log:?}"
    );
    assert!(log
        .iter()
        .any(|(actor, action)| actor.starts_with("admin:") && action == "admin.joined"));
    let admins = app.state.admins.list().await.unwrap();
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0].role, Role::Owner);
}

#[tokio::test]
async fn two_passkeys_from_one_link_at_once_make_one_admin() {
    let app = spawn_app().await;
    let token = invite_token(&app, "race@issuer.example", Role::Support).await;
    let (a, b) = (app.browser(), app.browser());
    let begin_a = a
        .admin_post_json("/admin/invite/begin", &json!({ "token": token }))
        .await;
    let begin_b = b
        .admin_post_json("/admin/invite/begin", &json!({ "token": token }))
        .await;
    let (mut key_a, mut key_b) = (TestPasskey::new(), TestPasskey::new());
    let cred_a = key_a
        .register(
            &app.origin(),
            begin_a.json::<CreationChallengeResponse>().await.unwrap(),
        )
        .unwrap();
    let cred_b = key_b
        .register(
            &app.origin(),
            begin_b.json::<CreationChallengeResponse>().await.unwrap(),
        )
        .unwrap();
    let first = a
        .admin_post_json(
            "/admin/invite/finish",
            &serde_json::to_value(&cred_a).unwrap(),
        )
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = b
        .admin_post_json(
            "/admin/invite/finish",
            &serde_json::to_value(&cred_b).unwrap(),
        )
        .await;
    assert_eq!(
        problem_code(second).await,
        (StatusCode::GONE, "invite_used".into())
    );
    assert_eq!(count_rows(&app, "admins").await, 1);
    assert_eq!(count_rows(&app, "admin_passkeys").await, 1);
}

#[tokio::test]
async fn expired_and_unknown_invitations_are_refused_with_a_clear_page() {
    let app = spawn_app().await;
    let email = saifu::accounts::account::Email::parse("late@issuer.example").unwrap();
    let old = saifu::clock::unix_now() - 25 * 60 * 60;
    let expired = app
        .state
        .admins
        .invite(&email, Role::Operator, &Actor::Cli, old)
        .await
        .unwrap();
    let page = app
        .browser()
        .get_html(&format!("/admin/invite?token={}", expired.token))
        .await;
    assert_eq!(page.status(), StatusCode::GONE);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("invite_expired") && html.contains("24 hours"),
        "{html}"
    );
    let join = app
        .browser()
        .join_console(&mut TestPasskey::new(), &app.origin(), &expired.token)
        .await;
    assert_eq!(
        problem_code(join).await,
        (StatusCode::GONE, "invite_expired".into())
    );

    let unknown = app
        .browser()
        .get_html("/admin/invite?token=not-a-real-token")
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.text().await.unwrap().contains("invite_not_found"));
    assert_eq!(count_rows(&app, "admins").await, 0);
}

#[tokio::test]
async fn saifu_admin_invite_prints_exactly_the_link_and_its_expiry() {
    let app = spawn_app().await;
    let mut cli = app.cli();
    cli.env("SAIFU_ISSUER", app.origin().as_str());
    cli.args([
        "admin",
        "invite",
        "--email",
        "ops@issuer.example",
        "--role",
        "operator",
        "--json",
    ]);
    let out = tokio::task::spawn_blocking(move || cli.output().unwrap())
        .await
        .unwrap();
    assert_success(&out);
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fields: Vec<&String> = printed.as_object().unwrap().keys().collect();
    assert_eq!(fields, ["expires_at", "invite_url"]);
    let url = url::Url::parse(printed["invite_url"].as_str().unwrap()).unwrap();
    assert_eq!(url.origin(), app.origin().origin());
    assert_eq!(url.path(), "/admin/invite");
    let expires = time::OffsetDateTime::parse(
        printed["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let ahead = expires.unix_timestamp() - saifu::clock::unix_now();
    assert!((24 * 3600 - 60..=24 * 3600).contains(&ahead), "{ahead}");
    let page = app
        .browser()
        .get_html(&format!("{}?{}", url.path(), url.query().unwrap()))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("operator"));

    // A role that does not exist is refused, and nothing is stored.
    let mut cli = app.cli();
    cli.args([
        "admin",
        "invite",
        "--email",
        "x@issuer.example",
        "--role",
        "king",
        "--json",
    ]);
    let out = tokio::task::spawn_blocking(move || cli.output().unwrap())
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("owner, operator, support or auditor"));
    assert_eq!(count_rows(&app, "admin_invites").await, 1);
}

#[tokio::test]
async fn an_owner_invites_in_the_console_and_a_wrong_role_is_refused() {
    let app = spawn_app().await;
    let owner = signed_in_admin(&app, Role::Owner).await;
    let bad = owner
        .admin_post_form(
            "/admin/admins/invite",
            &[("email", "x@issuer.example"), ("role", "king")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("invalid_role"));

    let made = owner
        .admin_post_form(
            "/admin/admins/invite",
            &[("email", "sup@issuer.example"), ("role", "support")],
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    let html = made.text().await.unwrap();
    let start = html
        .find("/admin/invite?token=")
        .expect("the link is shown");
    let token: String = html[start + "/admin/invite?token=".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let listed = owner.get_html("/admin/admins").await.text().await.unwrap();
    assert!(
        listed.contains("sup@issuer.example"),
        "an open invitation is listed"
    );
    assert!(!listed.contains(&token), "the token is shown only once");

    let support = app.browser();
    let joined = support
        .join_console(&mut TestPasskey::new(), &app.origin(), &token)
        .await;
    assert_eq!(joined.status(), StatusCode::OK);
    let home = support
        .get_html("/admin/passkeys")
        .await
        .text()
        .await
        .unwrap();
    assert!(home.contains("role <strong>support</strong>"));
    let invited_by_owner = app
        .state
        .audit
        .list(
            &Query {
                action: Some("admin.invited".into()),
                ..Query::default()
            },
            10,
        )
        .await
        .unwrap();
    assert!(invited_by_owner
        .iter()
        .any(|e| e.actor.starts_with("admin:")));
}

#[tokio::test]
async fn admins_sign_in_with_their_passkey_and_add_a_second_one() {
    let app = spawn_app().await;
    let (first, mut key) = admin_with_key(&app, Role::Auditor).await;
    drop(first);
    let browser = app.browser();
    let page = browser.get_html("/admin/audit?actor=cli").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page.headers()["location"],
        "/admin/signin?next=%2Fadmin%2Faudit%3Factor%3Dcli"
    );
    let signed = browser.admin_sign_in(&mut key, &app.origin()).await;
    assert_eq!(signed.status(), StatusCode::OK);
    assert_eq!(
        browser.get_html("/admin/passkeys").await.status(),
        StatusCode::OK
    );

    let begin = browser
        .admin_post_json("/admin/passkeys/begin", &json!({}))
        .await;
    assert_eq!(begin.status(), StatusCode::OK);
    let mut second = TestPasskey::new();
    let credential = second
        .register(&app.origin(), begin.json().await.unwrap())
        .unwrap();
    let added = browser
        .admin_post_json(
            "/admin/passkeys/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await;
    assert_eq!(added.status(), StatusCode::OK);
    let html = browser
        .get_html("/admin/passkeys")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Passkey 2") && !html.contains("Add a second passkey"));

    let other = app.browser();
    assert_eq!(
        other
            .admin_sign_in(&mut second, &app.origin())
            .await
            .status(),
        StatusCode::OK
    );
    assert!(actions(&app)
        .await
        .iter()
        .any(|(_, a)| a == "admin.passkey_added"));
}

#[tokio::test]
async fn admin_passkeys_must_verify_the_user() {
    let app = spawn_app().await;
    let token = invite_token(&app, "uv@issuer.example", Role::Owner).await;
    let browser = app.browser();
    let begin = browser
        .admin_post_json("/admin/invite/begin", &json!({ "token": token }))
        .await;
    let mut options: CreationChallengeResponse = begin.json().await.unwrap();
    assert_eq!(
        options
            .public_key
            .authenticator_selection
            .as_ref()
            .unwrap()
            .user_verification,
        UserVerificationPolicy::Required
    );
    options
        .public_key
        .authenticator_selection
        .as_mut()
        .unwrap()
        .user_verification = UserVerificationPolicy::Discouraged_DO_NOT_USE;
    let credential = TestPasskey::new().register(&app.origin(), options).unwrap();
    let finish = browser
        .admin_post_json(
            "/admin/invite/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await;
    assert_eq!(
        problem_code(finish).await,
        (StatusCode::BAD_REQUEST, "user_verification_required".into())
    );
    assert_eq!(count_rows(&app, "admins").await, 0);
}

#[tokio::test]
async fn shopper_and_admin_sessions_never_stand_in_for_each_other() {
    let app = spawn_app().await;
    let mut shopper = shopper(&app, "mika@example.com").await;
    // A signed-in shopper is a stranger to the console.
    let console = shopper.browser.get_html("/admin/admins").await;
    assert_eq!(console.status(), StatusCode::SEE_OTHER);
    assert!(console.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/admin/signin"));
    let audit = shopper.browser.get_html("/admin/audit").await;
    assert_eq!(audit.status(), StatusCode::SEE_OTHER);
    // Their passkey does not open it either.
    let refused = try_console(&shopper.browser, &mut shopper.key, &shopper.origin).await;
    assert_eq!(
        problem_code(refused).await,
        (StatusCode::UNAUTHORIZED, "not_an_admin".into())
    );

    // A signed-in admin is signed out as far as the wallet is concerned.
    let admin = signed_in_admin(&app, Role::Owner).await;
    assert_eq!(admin.signed_in_as().await, None);
    let cards = admin.get_html("/cards").await;
    assert_eq!(cards.status(), StatusCode::SEE_OTHER);
    assert!(cards.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/signin"));
}

#[tokio::test]
async fn the_console_cookie_is_its_own_and_the_session_has_an_absolute_end() {
    let app = spawn_app_with(|c| c.admin_session_absolute_secs = 2).await;
    let token = invite_token(&app, "short@issuer.example", Role::Owner).await;
    let browser = app.browser();
    let begin = browser
        .admin_post_json("/admin/invite/begin", &json!({ "token": token }))
        .await;
    let options: CreationChallengeResponse = begin.json().await.unwrap();
    let credential = TestPasskey::new().register(&app.origin(), options).unwrap();
    let finish = browser
        .admin_post_json(
            "/admin/invite/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await;
    let cookie = finish
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("saifu_admin="))
        .expect("the console sets its own cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("saifu_session"));
    assert_eq!(
        saifu::http::admin::cookie(true),
        ("__Host-saifu_admin", "/")
    );
    assert_eq!(
        browser.get_html("/admin/passkeys").await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        browser.get_html("/admin/passkeys").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_last_owner_can_be_neither_demoted_nor_removed() {
    let app = spawn_app().await;
    let owner = signed_in_admin(&app, Role::Owner).await;
    let me = app.state.admins.list().await.unwrap()[0].id.to_string();
    let demote = owner
        .admin_post_form(&format!("/admin/admins/{me}/role"), &[("role", "auditor")])
        .await;
    assert_eq!(demote.status(), StatusCode::CONFLICT);
    assert!(demote.text().await.unwrap().contains("last_owner"));
    let remove = owner
        .admin_post_form(&format!("/admin/admins/{me}/remove"), &[])
        .await;
    assert_eq!(remove.status(), StatusCode::CONFLICT);

    // With a second owner, the first can step down; a removed admin's session ends.
    let second = signed_in_admin(&app, Role::Owner).await;
    let demoted = owner
        .admin_post_form(&format!("/admin/admins/{me}/role"), &[("role", "auditor")])
        .await;
    assert_eq!(demoted.status(), StatusCode::SEE_OTHER);
    let removed = second
        .admin_post_form(&format!("/admin/admins/{me}/remove"), &[])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        owner.get_html("/admin/passkeys").await.status(),
        StatusCode::SEE_OTHER
    );
    let log = actions(&app).await;
    assert!(log.iter().any(|(_, a)| a == "admin.role_changed"));
    assert!(log.iter().any(|(_, a)| a == "admin.removed"));
    assert_eq!(count_rows(&app, "admin_passkeys").await, 1);
}

/// A console sign-in attempt with `key`.
async fn try_console(
    browser: &Browser,
    key: &mut TestPasskey,
    origin: &url::Url,
) -> reqwest::Response {
    let begin = browser
        .admin_post_json("/admin/signin/begin", &json!({}))
        .await;
    let credential = key.assert(origin, begin.json().await.unwrap()).unwrap();
    browser
        .admin_post_json(
            "/admin/signin/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await
}

#[tokio::test]
async fn failed_console_sign_ins_are_throttled_apart_from_the_wallets_and_the_lock_out_is_audited()
{
    let app = spawn_app_with(|c| c.signin_failures_per_ip = 2).await;
    let mut shopper = shopper(&app, "stranger@example.com").await;
    for _ in 0..2 {
        let refused = try_console(&shopper.browser, &mut shopper.key, &app.origin()).await;
        assert_eq!(
            problem_code(refused).await,
            (StatusCode::UNAUTHORIZED, "not_an_admin".into())
        );
    }
    let throttled = try_console(&shopper.browser, &mut shopper.key, &app.origin()).await;
    assert_eq!(
        problem_code(throttled).await,
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts".into())
    );
    let locked = app
        .state
        .audit
        .list(
            &Query {
                action: Some("admin.signin_locked".into()),
                ..Query::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].actor, "system");
    assert_eq!(locked[0].target, "ip:127.0.0.1");
    // The wallet's own sign-in counts apart: the shopper still signs in.
    let wallet = app.browser();
    let origin = app.origin();
    assert_eq!(
        wallet.sign_in(&mut shopper.key, &origin).await.status(),
        StatusCode::OK
    );
}
