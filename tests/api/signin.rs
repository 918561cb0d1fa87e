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
        // One signed-in session per round: the loser wrote none.
        assert_eq!(
            count_rows(&first, "sessions WHERE data LIKE '%\"user_id\"%'").await,
            round + 1,
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

/// The stored key of the session a cookie names (the SHA-256 of its id, as the store keeps it).
fn session_key(cookie: &str) -> String {
    let id: tower_sessions::session::Id = cookie.parse().expect("a session id");
    let digest = ring::digest::digest(&ring::digest::SHA256, id.0.to_le_bytes().as_slice());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn the_session_a_sign_in_writes_is_the_one_its_new_cookie_names() {
    let app = spawn_app().await;
    let browser = app.browser();
    let mut key = TestPasskey::new();
    browser
        .sign_up(&mut key, &app.origin(), "Named", "named@example.com")
        .await;
    browser.post_form("/signout", &[]).await;
    browser.get_html("/signin?next=/cards").await;
    let before = browser
        .session_cookie()
        .expect("a session for the sign-in page");
    let csrf_before = browser.csrf().await;
    // An unfinished sign-up leaves its return path in the session, which the sign-in drops.
    let sign_up = browser
        .post_json(
            "/signup/begin",
            &serde_json::json!({"display_name": "Other", "email": "other@example.com", "next": "/cards"}),
        )
        .await;
    assert_eq!(sign_up.status(), StatusCode::OK);
    assert_eq!(
        count_rows(&app, "sessions WHERE data LIKE '%return_to%'").await,
        1
    );

    let options = browser.begin_sign_in().await;
    let assertion = key.assert(&app.origin(), options).unwrap();
    let signed_in = browser.finish_sign_in(&assertion).await;
    assert_eq!(signed_in.status(), StatusCode::OK);

    // A new id, the one row left is the one it names (no second row written beside the
    // sign-in's), and it holds the shopper.
    let after = browser.session_cookie().expect("a signed-in session");
    assert_ne!(after, before);
    assert_eq!(count_rows(&app, "sessions").await, 1);
    let signed_in_row = format!(
        "sessions WHERE id_hash = '{}' AND data LIKE '%\"user_id\"%'",
        session_key(&after)
    );
    assert_eq!(count_rows(&app, &signed_in_row).await, 1);
    assert_eq!(
        count_rows(&app, "sessions WHERE data LIKE '%return_to%'").await,
        0
    );
    assert_eq!(browser.signed_in_as().await.as_deref(), Some("Named"));
    // A new CSRF token, which the next state-changing request must carry.
    let csrf_after = browser.csrf().await;
    assert_ne!(csrf_after, csrf_before);
    let stale = browser
        .http
        .post(browser.url("/signout"))
        .header("x-csrf-token", &csrf_before)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::FORBIDDEN);
    assert_eq!(browser.signed_in_as().await.as_deref(), Some("Named"));
    // The session's sliding expiry works on the row the sign-in wrote.
    assert_eq!(
        count_rows(
            &app,
            &format!(
                "sessions WHERE id_hash = '{}' AND expires_at > {}",
                session_key(&after),
                saifu::clock::unix_now()
            )
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_refused_finish_writes_no_session_and_keeps_the_cookie() {
    let app = spawn_app().await;
    let owner = app.browser();
    let mut key = TestPasskey::new();
    owner
        .sign_up(&mut key, &app.origin(), "Kept", "kept@example.com")
        .await;
    owner.post_form("/signout", &[]).await;
    let signed_in_rows = "sessions WHERE data LIKE '%\"user_id\"%'";

    // A forged signature writes no session.
    let options = owner.begin_sign_in().await;
    let before = owner.session_cookie().expect("a session");
    let mut forged = key.assert(&app.origin(), options).unwrap();
    forged.response.signature[10] ^= 1;
    assert_eq!(
        owner.finish_sign_in(&forged).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(owner.session_cookie().as_deref(), Some(before.as_str()));
    assert_eq!(count_rows(&app, "sessions").await, 1);

    // Nor does a counter that did not move forward (verified, then refused in the write).
    let other = app.browser();
    let early = key
        .assert(&app.origin(), other.begin_sign_in().await)
        .unwrap();
    let late = key
        .assert(&app.origin(), owner.begin_sign_in().await)
        .unwrap();
    let other_before = other.session_cookie().expect("a session");
    assert_eq!(owner.finish_sign_in(&late).await.status(), StatusCode::OK);
    assert_eq!(count_rows(&app, signed_in_rows).await, 1);
    assert_eq!(
        problem_code(other.finish_sign_in(&early).await).await,
        (
            StatusCode::UNAUTHORIZED,
            "possible_cloned_authenticator".into()
        )
    );
    assert_eq!(
        other.session_cookie().as_deref(),
        Some(other_before.as_str())
    );
    assert_eq!(count_rows(&app, signed_in_rows).await, 1);
    assert_eq!(count_rows(&app, "sessions").await, 2);
    assert_eq!(other.signed_in_as().await, None);
    assert_eq!(owner.signed_in_as().await.as_deref(), Some("Kept"));
}

/// The SQL the wallet ran for the request sent with `request_id`, from the captured log: each
/// statement's summary (its first words), transaction control included.
pub(crate) fn statements_of(request_id: &str) -> Vec<String> {
    let span = format!("request_id={request_id}}}");
    crate::helpers::captured_logs()
        .lines()
        .filter(|line| line.contains(&span) && line.contains("sqlx::query"))
        .filter_map(|line| {
            let start = line.find("summary=\"")? + "summary=\"".len();
            let end = line[start..].find('"')? + start;
            Some(line[start..end].to_string())
        })
        .collect()
}

fn is_control(summary: &str) -> bool {
    ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"]
        .iter()
        .any(|word| summary.starts_with(word))
}

#[tokio::test]
async fn a_sign_in_from_a_fresh_browser_runs_eight_statements_and_writes_the_session_once() {
    let app = spawn_app().await;
    let mut key = TestPasskey::new();
    let owner = app.browser();
    owner
        .sign_up(&mut key, &app.origin(), "Counted", "counted@example.com")
        .await;
    let browser = app.browser();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let ids = ["page", "begin", "finish"].map(|step| format!("{step}-{run}"));

    let page = browser
        .http
        .get(browser.url("/signin"))
        .header("accept", "text/html")
        .header("x-request-id", &ids[0])
        .send()
        .await
        .unwrap();
    let csrf = crate::helpers::meta_csrf(&page.text().await.unwrap()).expect("a CSRF token");
    let begin = browser
        .http
        .post(browser.url("/signin/begin"))
        .header("x-csrf-token", &csrf)
        .header("x-request-id", &ids[1])
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(begin.status(), StatusCode::OK);
    let assertion = key
        .assert(&app.origin(), begin.json().await.unwrap())
        .unwrap();
    let finish = browser
        .http
        .post(browser.url("/signin/finish"))
        .header("x-csrf-token", &csrf)
        .header("x-request-id", &ids[2])
        .json(&serde_json::to_value(&assertion).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(finish.status(), StatusCode::OK);
    assert_eq!(browser.signed_in_as().await.as_deref(), Some("Counted"));

    let [page, begin, finish] = ids.clone().map(|id| {
        statements_of(&id)
            .into_iter()
            .filter(|s| !is_control(s))
            .collect::<Vec<_>>()
    });
    let starts = |statements: &[String], expected: &[&str]| {
        assert_eq!(statements.len(), expected.len(), "{statements:?}");
        for (statement, start) in statements.iter().zip(expected) {
            assert!(statement.starts_with(start), "{statements:?}");
        }
    };
    // The page writes the session that holds its CSRF token; starting reads it and writes the
    // ceremony; finishing reads the session and everything it checks, then writes once: the
    // ceremony taken, the counter, and the session moved to its new id with the shopper in it.
    starts(&page, &["INSERT INTO sessions"]);
    starts(
        &begin,
        &["SELECT data, expires_at FROM", "INSERT INTO ceremonies"],
    );
    starts(
        &finish,
        &[
            "SELECT data, expires_at FROM",
            "SELECT c.kind",
            "DELETE FROM ceremonies",
            "UPDATE passkeys",
            "UPDATE sessions SET id_hash",
        ],
    );
    let finish_commits = statements_of(&ids[2])
        .iter()
        .filter(|s| s.starts_with("COMMIT"))
        .count();
    assert!(finish_commits <= 1, "{finish_commits} commits");
}
