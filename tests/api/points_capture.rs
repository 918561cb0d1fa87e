//! The points a capture writes, checked row by row: one entry per leg of each posting (written
//! together), a shopper's first balance created by the capture that earns it, and points
//! redeemed and earned on the same payment both right afterwards. Also the SQL a payment
//! captured at once runs: the grant consumed with the limits' re-check read in the same
//! statement, and a posting's entries and balances in one statement each.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{count_rows, merchant, sdk, shopper, spawn_app, user_id_by_email, TestApp};
use crate::points::{assert_ledger, grant_with_points, jpy};

/// One number read from the app's database directly: `None` when the query finds no row.
async fn scalar(app: &TestApp, sql: &str) -> Option<i64> {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let n = sqlx::query(sql)
        .fetch_optional(&pool)
        .await
        .unwrap()
        .map(|r| r.get::<i64, _>(0));
    pool.close().await;
    n
}

/// The balance of `account`, `None` when it has no row.
async fn balance(app: &TestApp, account: &str) -> Option<i64> {
    let sql = format!("SELECT balance FROM points_balances WHERE account = '{account}'");
    scalar(app, &sql).await
}

/// The entries of payment `id` of `kind`: how many, over how many postings and instants.
async fn entries(app: &TestApp, id: &str, kind: &str) -> (i64, i64, i64) {
    let of = format!("points_entries WHERE payment_id = '{id}' AND kind = '{kind}'");
    let distinct = |column: &str| format!("(SELECT DISTINCT {column} FROM {of}) d");
    (
        count_rows(app, &of).await,
        count_rows(app, &distinct("posting_id")).await,
        count_rows(app, &distinct("created_at")).await,
    )
}

/// The amount payment `id`'s entries of `kind` moved on `account`.
async fn moved(app: &TestApp, id: &str, kind: &str, account: &str) -> Option<i64> {
    let sql = format!(
        "SELECT CAST(SUM(amount) AS BIGINT) FROM points_entries
         WHERE payment_id = '{id}' AND kind = '{kind}' AND account = '{account}'"
    );
    scalar(app, &sql).await
}

#[tokio::test]
async fn a_shoppers_first_capture_creates_their_balance_with_one_entry_per_leg() {
    let app = spawn_app().await;
    let client = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let email = "first-balance@example.com";
    let mut s = shopper(&app, email).await;
    let available = format!("shopper:{}:available", user_id_by_email(&app, email).await);
    assert_eq!(balance(&app, &available).await, None, "no balance before");

    let g = grant_with_points(&client, &mut s, 12_800, 0).await;
    let p = client.pay(&g, &jpy(12_800), true, None).await.unwrap();
    assert_eq!(p.points_earned, 128);
    assert_eq!(balance(&app, &available).await, Some(128));
    assert_eq!(
        entries(&app, &p.id, "earn").await,
        (2, 1, 1),
        "two legs of one posting, at one instant"
    );
    assert_eq!(moved(&app, &p.id, "earn", &available).await, Some(128));
    let lot = format!(
        "points_lots WHERE payment_id = '{}' AND points = 128 AND remaining = 128",
        p.id
    );
    assert_eq!(count_rows(&app, &lot).await, 1);
    assert_ledger(&app).await;

    // Another shopper's first capture creates theirs, and the first shopper's next capture
    // adds to the balance the first created.
    let other_email = "second-balance@example.com";
    let mut other = shopper(&app, other_email).await;
    let theirs = format!(
        "shopper:{}:available",
        user_id_by_email(&app, other_email).await
    );
    let g = grant_with_points(&client, &mut other, 5_000, 0).await;
    client.pay(&g, &jpy(5_000), true, None).await.unwrap();
    let g = grant_with_points(&client, &mut s, 12_800, 0).await;
    client.pay(&g, &jpy(12_800), true, None).await.unwrap();
    assert_eq!(balance(&app, &theirs).await, Some(50));
    assert_eq!(balance(&app, &available).await, Some(256));
    assert_ledger(&app).await;
}

#[tokio::test]
async fn points_redeemed_and_earned_on_one_payment_are_both_right_afterwards() {
    let app = spawn_app().await;
    let client = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let email = "redeem-and-earn@example.com";
    let mut s = shopper(&app, email).await;
    let user = user_id_by_email(&app, email).await;
    let (available, held) = (
        format!("shopper:{user}:available"),
        format!("shopper:{user}:held"),
    );
    let g = grant_with_points(&client, &mut s, 12_800, 0).await;
    client.pay(&g, &jpy(12_800), true, None).await.unwrap();

    // 100 of the 128 points held at approval, spent at capture; the card's ¥4,900 earns 49.
    let g = grant_with_points(&client, &mut s, 5_000, 100).await;
    assert_eq!(balance(&app, &held).await, Some(100));
    assert_eq!(balance(&app, &available).await, Some(28));
    let p = client.pay(&g, &jpy(5_000), true, None).await.unwrap();
    assert_eq!((p.points_redeemed, p.points_earned), (100, 49));
    assert_eq!(balance(&app, &held).await, Some(0));
    assert_eq!(balance(&app, &available).await, Some(28 + 49));
    assert_eq!(entries(&app, &p.id, "redeem").await, (2, 1, 1));
    assert_eq!(entries(&app, &p.id, "earn").await, (2, 1, 1));
    assert_eq!(moved(&app, &p.id, "redeem", &held).await, Some(-100));
    assert_eq!(moved(&app, &p.id, "earn", &available).await, Some(49));
    assert_ledger(&app).await;

    // Refunded in full: the earned points reversed, the redeemed ones given back.
    client.refund(&p.id, &jpy(5_000), None).await.unwrap();
    assert_eq!(balance(&app, &available).await, Some(128));
    assert_eq!(balance(&app, &held).await, Some(0));
    assert_ledger(&app).await;
}

/// The SQL the wallet ran for the request sent with `request_id`, transaction control left
/// out.
fn statements_of(request_id: &str) -> Vec<String> {
    crate::signin::statements_of(request_id)
        .into_iter()
        .filter(|s| !crate::signin::is_control(s))
        .collect()
}

#[tokio::test]
async fn a_payment_captured_at_once_reads_the_limits_with_the_grant_and_posts_each_posting_in_two_statements(
) {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut s = shopper(&app, "counted-pay@example.com").await;
    // A first capture creates the balances; the one counted redeems points and earns more.
    let g = grant_with_points(&client, &mut s, 12_800, 0).await;
    client.pay(&g, &jpy(12_800), true, None).await.unwrap();
    let g = grant_with_points(&client, &mut s, 5_000, 100).await;

    let request_id = format!("pay-{}", uuid::Uuid::new_v4().simple());
    let r = reqwest::Client::new()
        .post(app.base.join("/v1/payments").unwrap())
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .header("x-request-id", &request_id)
        .json(&json!({
            "grant": g,
            "amount": { "currency": "JPY", "amount": "5000" },
            "capture": true,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let paid: Value = r.json().await.unwrap();
    assert_eq!(paid["points_earned"], 49);

    let statements = statements_of(&request_id);
    let count = |start: &str| statements.iter().filter(|s| s.starts_with(start)).count();
    // The grant is consumed by the statement that reads the limits' re-check.
    assert_eq!(count("WITH recheck_limits"), 1, "{statements:?}");
    assert_eq!(count("SELECT per_payment"), 0, "{statements:?}");
    // Two postings (the redeemed points spent, the earned ones credited): one statement each
    // for their entries and for their balances, which all exist.
    assert_eq!(count("INSERT INTO points_entries"), 2, "{statements:?}");
    let balances = count("UPDATE points_balances") + count("INSERT INTO points_balances");
    assert_eq!(balances, 2, "{statements:?}");
    assert_ledger(&app).await;
}
