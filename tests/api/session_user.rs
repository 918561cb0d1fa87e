//! A signed-in page reads its session and its shopper in one statement: the session's row
//! names its shopper (`sessions.user_id`), and loading it reads the account with it. The
//! account read so still ends the session of a frozen shopper or of one signed in before the
//! account's session epoch was raised; a row written before the column (or whose column
//! names someone else) signs the session's own shopper in, read on its own.

use reqwest::StatusCode;
use saifu_sdk::SaifuClient;

use crate::helpers::{
    count_rows, frames, merchant, open_consent, sdk, shopper, spawn_app, user_id_by_email, Browser,
    TestApp,
};
use crate::signin::{is_control, statements_of};

/// Runs `statement` on the app's database directly.
async fn execute(app: &TestApp, statement: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    sqlx::query(statement).execute(&pool).await.unwrap();
    pool.close().await;
}

/// The page at `path` as the browser gets it, sent with a request id of its own; gives the
/// status and the SQL the wallet ran for it (transaction control left out).
async fn page(browser: &Browser, path: &str) -> (StatusCode, Vec<String>) {
    let id = format!("page-{}", uuid::Uuid::new_v4().simple());
    let r = browser
        .http
        .get(browser.url(path))
        .header("accept", "text/html")
        .header("x-request-id", &id)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let statements = statements_of(&id)
        .into_iter()
        .filter(|s| !is_control(s))
        .collect();
    (status, statements)
}

const LOAD: &str = "SELECT s.data, s.expires_at, s.user_id";
const USER: &str = "SELECT id, email, display_name";

fn count(statements: &[String], start: &str) -> usize {
    statements.iter().filter(|s| s.starts_with(start)).count()
}

#[tokio::test]
async fn a_signed_in_page_reads_the_session_and_its_shopper_in_one_statement() {
    let app = spawn_app().await;
    let s = shopper(&app, "one-read@example.com").await;

    let (status, statements) = page(&s.browser, "/cards").await;
    assert_eq!(status, StatusCode::OK);
    // The session with its shopper, then the shopper's cards: nothing else.
    assert_eq!(statements.len(), 2, "{statements:?}");
    assert!(statements[0].starts_with(LOAD), "{statements:?}");
    assert!(
        statements[1].starts_with("SELECT id, user_id, brand,"),
        "{statements:?}"
    );

    // The consent page: one read of the session with its shopper, none of the shopper alone.
    let creds = merchant(&app, "One Read Shop", true).await;
    let client: SaifuClient = sdk(&app, &creds).await;
    let (url, _) = client.start_checkout(&frames()).await.unwrap();
    let consent = open_consent(&s.browser, &url).await;
    let (status, statements) = page(&s.browser, &consent).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&statements, LOAD), 1, "{statements:?}");
    assert_eq!(count(&statements, USER), 0, "{statements:?}");
    assert_eq!(
        count_rows(&app, "sessions WHERE user_id IS NOT NULL").await,
        1,
        "the signed-in session names its shopper"
    );
}

#[tokio::test]
async fn signing_out_and_in_again_keeps_the_sessions_shopper_right() {
    let app = spawn_app().await;
    let mut s = shopper(&app, "out@example.com").await;
    let me = user_id_by_email(&app, "out@example.com").await;
    let named = format!("sessions WHERE user_id = '{me}'");
    assert_eq!(count_rows(&app, &named).await, 1);
    s.browser.post_form("/signout", &[]).await;
    assert_eq!(s.browser.signed_in_as().await, None);
    assert_eq!(
        count_rows(&app, "sessions WHERE user_id IS NOT NULL").await,
        0
    );
    // The passkey sign-in writes the signed-in session in its own transaction, naming the
    // shopper: the next page reads the shopper with the session.
    let back = s.browser.sign_in(&mut s.key, &app.origin()).await;
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(count_rows(&app, &named).await, 1);
    let (status, statements) = page(&s.browser, "/cards").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&statements, USER), 0, "{statements:?}");
}

#[tokio::test]
async fn a_frozen_shopper_or_a_raised_session_epoch_still_ends_the_session() {
    let app = spawn_app().await;
    let frozen = shopper(&app, "cold@example.com").await;
    let recovered = shopper(&app, "epoch@example.com").await;
    let cold = user_id_by_email(&app, "cold@example.com").await;
    let epoch = user_id_by_email(&app, "epoch@example.com").await;
    assert_eq!(frozen.browser.signed_in_as().await.as_deref(), Some("Mika"));
    assert_eq!(
        recovered.browser.signed_in_as().await.as_deref(),
        Some("Mika")
    );

    execute(
        &app,
        &format!("UPDATE users SET frozen_at = 1, frozen_reason = 'test' WHERE id = '{cold}'"),
    )
    .await;
    execute(
        &app,
        &format!("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = '{epoch}'"),
    )
    .await;
    for browser in [&frozen.browser, &recovered.browser] {
        let cards = browser.get_html("/cards").await;
        assert_eq!(cards.status(), StatusCode::SEE_OTHER);
        assert!(cards.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/signin"));
        assert_eq!(browser.signed_in_as().await, None);
    }
    assert_eq!(
        count_rows(&app, "sessions WHERE user_id IS NOT NULL").await,
        0,
        "both sessions ended"
    );
}

#[tokio::test]
async fn a_session_stored_before_its_shopper_column_still_signs_the_shopper_in() {
    let app = spawn_app().await;
    let s = shopper(&app, "old-row@example.com").await;
    // As a row written before the column: signed in, its shopper not named.
    execute(&app, "UPDATE sessions SET user_id = NULL").await;

    let (status, statements) = page(&s.browser, "/cards").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&statements, LOAD), 1, "{statements:?}");
    assert_eq!(
        count(&statements, USER),
        1,
        "read on its own: {statements:?}"
    );
    assert_eq!(s.browser.signed_in_as().await.as_deref(), Some("Mika"));
    // Its next save named the shopper: the next page reads the shopper with the session.
    assert_eq!(
        count_rows(&app, "sessions WHERE user_id IS NOT NULL").await,
        1
    );
    let (status, statements) = page(&s.browser, "/cards").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&statements, USER), 0, "{statements:?}");
}

#[tokio::test]
async fn a_column_naming_another_shopper_never_gives_their_account() {
    let app = spawn_app().await;
    let mine = shopper(&app, "mine@example.com").await;
    let theirs = app.browser();
    let mut key = crate::helpers::TestPasskey::new();
    theirs
        .sign_up(&mut key, &app.origin(), "Other", "theirs@example.com")
        .await;
    let other = user_id_by_email(&app, "theirs@example.com").await;
    let me = user_id_by_email(&app, "mine@example.com").await;
    execute(
        &app,
        &format!("UPDATE sessions SET user_id = '{other}' WHERE user_id = '{me}'"),
    )
    .await;

    let (status, statements) = page(&mine.browser, "/cards").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&statements, USER), 1, "{statements:?}");
    assert_eq!(mine.browser.signed_in_as().await.as_deref(), Some("Mika"));
    assert_eq!(theirs.signed_in_as().await.as_deref(), Some("Other"));
    assert_eq!(
        count_rows(&app, &format!("sessions WHERE user_id = '{me}'")).await,
        1,
        "the column was written right again"
    );
}
