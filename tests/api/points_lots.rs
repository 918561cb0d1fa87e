//! The points programme's lots through real payments: each earn makes a lot per funder (the
//! issuer's base, the merchant's campaign extra); refunds take points back lot by lot to their
//! funders and leave spent points spent; expiry gives each lot's points back to its funder;
//! rolling expiry moves every lot; the programme's redemption limits apply at consent; and a
//! payment keeps the programme version it was approved under.

use reqwest::StatusCode;
use saifu::audit::Actor;
use saifu::clock::unix_now;
use saifu::points::programme::{months_after, ProgrammeRules};
use saifu::points::NewCampaign;
use saifu_sdk::checkout::PaymentDetails;
use serde_json::json;
use sqlx::Row;

use crate::helpers::{
    merchant, only_user_id, open_consent, problem_code, sdk, shopper, spawn_app, TestApp,
};
use crate::points::{assert_ledger, grant_with_points, jpy};

async fn campaign(app: &TestApp, client_id: &str, percent: i64) {
    let now = unix_now();
    app.state
        .checkout
        .programmes
        .add_campaign(
            &NewCampaign {
                client_id: client_id.to_string(),
                multiplier_percent: percent,
                starts_at: now - 60,
                ends_at: now + 3600,
            },
            &Actor::Cli,
            now,
        )
        .await
        .unwrap();
}

/// The payment's lots as (funder, points, remaining, reversed, unreversed), by funder.
async fn lots_of(app: &TestApp, payment_id: &str) -> Vec<(String, i64, i64, i64, i64)> {
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    sqlx::query(
        "SELECT funder, points, remaining, reversed, unreversed FROM points_lots
         WHERE payment_id = $1 AND source = 'earn' ORDER BY funder",
    )
    .bind(payment_id)
    .fetch_all(&pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get("funder"),
            r.get("points"),
            r.get("remaining"),
            r.get("reversed"),
            r.get("unreversed"),
        )
    })
    .collect()
}

async fn balance(app: &TestApp, account: &str) -> i64 {
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    sqlx::query("SELECT balance FROM points_balances WHERE account = $1")
        .bind(account)
        .fetch_optional(&pool)
        .await
        .unwrap()
        .map_or(0, |r| r.get("balance"))
}

async fn available(app: &TestApp) -> i64 {
    let user = only_user_id(app).await.to_string();
    app.state
        .store
        .points_summary(&user, 0)
        .await
        .unwrap()
        .available
}

#[tokio::test]
async fn a_refund_takes_points_back_lot_by_lot_to_their_funders_and_spent_points_stay_spent() {
    let app = spawn_app().await;
    let shop = merchant(&app, "Campaign Shop", true).await;
    campaign(&app, &shop.client_id, 300).await;
    let client = sdk(&app, &shop).await;
    let mut s = shopper(&app, "lots@example.com").await;
    let g = grant_with_points(&client, &mut s, 1_000, 0).await;
    let p1 = client.pay(&g, &jpy(1_000), true, None).await.unwrap();
    assert_eq!(p1.points_earned, 30);
    let merchant_funder = format!("merchant:{}", shop.client_id);
    assert_eq!(
        lots_of(&app, &p1.id).await,
        vec![
            ("issuer".into(), 10, 10, 0, 0),
            (merchant_funder.clone(), 20, 20, 0, 0)
        ],
        "one lot per funder"
    );
    let campaign_account = format!("merchant:{}:campaign", shop.client_id);
    assert_eq!(balance(&app, &campaign_account).await, -20);

    // 15 of those points are spent at another shop (they expire first, so they go first).
    let plain = merchant(&app, "Plain Shop", true).await;
    let other = sdk(&app, &plain).await;
    let g = grant_with_points(&other, &mut s, 1_000, 15).await;
    let p2 = other.pay(&g, &jpy(1_000), true, None).await.unwrap();
    assert_eq!(p2.points_earned, 9, "earned on the ¥985 the card paid");
    let left: i64 = lots_of(&app, &p1.id).await.iter().map(|l| l.2).sum();
    assert_eq!(left, 15);
    assert_eq!(available(&app).await, 15 + 9);

    // A full refund of the first payment takes back what its lots still hold, each to its
    // funder; the 15 spent stay spent, and the other payment's lot is untouched.
    client.refund(&p1.id, &jpy(1_000), None).await.unwrap();
    let after = lots_of(&app, &p1.id).await;
    for (funder, points, remaining, reversed, unreversed) in &after {
        assert_eq!(*remaining, 0, "{funder}: nothing left");
        assert_eq!(
            reversed + unreversed,
            *points,
            "{funder}: its whole share settled"
        );
    }
    let reversed: i64 = after.iter().map(|l| l.3).sum();
    let unreversed: i64 = after.iter().map(|l| l.4).sum();
    assert_eq!((reversed, unreversed), (15, 15));
    let merchant_reversed = after.iter().find(|l| l.0 == merchant_funder).unwrap().3;
    assert_eq!(
        balance(&app, &campaign_account).await,
        -20 + merchant_reversed,
        "what the refund took from the campaign's lot goes back to the merchant"
    );
    assert_eq!(available(&app).await, 9);
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let row = sqlx::query("SELECT points_reversed, points_unreversed FROM payments WHERE id = $1")
        .bind(&p1.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<i64, _>("points_reversed"),
            row.get::<i64, _>("points_unreversed")
        ),
        (30, 15),
        "the payment records the share it could not take back"
    );
    assert_ledger(&app).await;
}

#[tokio::test]
async fn expiry_gives_each_lots_points_back_to_its_funder() {
    let app = spawn_app().await;
    let shop = merchant(&app, "Campaign Shop", true).await;
    campaign(&app, &shop.client_id, 200).await;
    let client = sdk(&app, &shop).await;
    let mut s = shopper(&app, "expiry@example.com").await;
    let g = grant_with_points(&client, &mut s, 5_000, 0).await;
    let p = client.pay(&g, &jpy(5_000), true, None).await.unwrap();
    assert_eq!(p.points_earned, 100);
    let campaign_account = format!("merchant:{}:campaign", shop.client_id);
    let issuer_before = balance(&app, "issuer:liability").await;
    // The default programme keeps points 12 calendar months: a day before, nothing expires.
    let expires = months_after(unix_now(), 12);
    assert_eq!(app.state.points.expire(expires - 86_400).await.unwrap(), 0);
    assert_eq!(app.state.points.expire(expires + 60).await.unwrap(), 100);
    assert_eq!(available(&app).await, 0);
    assert_eq!(
        balance(&app, &campaign_account).await,
        0,
        "the merchant's 50 back"
    );
    assert_eq!(
        balance(&app, "issuer:liability").await,
        issuer_before + 50,
        "the issuer's 50 back"
    );
    assert_ledger(&app).await;
}

#[tokio::test]
async fn rolling_expiry_moves_every_lot_to_the_latest_earn_and_payments_keep_their_version() {
    let app = spawn_app().await;
    let shop = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &shop).await;
    let mut s = shopper(&app, "rolling@example.com").await;
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let change = |rolling: bool| {
        let app = &app;
        async move {
            let mut rules = ProgrammeRules::default();
            rules.expiry.months = 6;
            rules.expiry.rolling = rolling;
            app.state
                .checkout
                .programmes
                .change(&rules, &Actor::Cli, unix_now())
                .await
                .unwrap()
                .version
        }
    };
    let soon = unix_now() + 10 * 86_400;
    // An older lot, due in ten days.
    let g = grant_with_points(&client, &mut s, 1_000, 0).await;
    let first = client.pay(&g, &jpy(1_000), true, None).await.unwrap();
    sqlx::query("UPDATE points_lots SET expires_at = $1 WHERE payment_id = $2")
        .bind(soon)
        .bind(&first.id)
        .execute(&pool)
        .await
        .unwrap();
    let expiry_of = |payment: String| {
        let pool = pool.clone();
        async move {
            sqlx::query("SELECT expires_at FROM points_lots WHERE payment_id = $1")
                .bind(payment)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<i64, _>("expires_at")
        }
    };

    // Fixed expiry: a new earn leaves the older lot's date alone.
    let fixed = change(false).await;
    let g = grant_with_points(&client, &mut s, 1_000, 0).await;
    let second = client.pay(&g, &jpy(1_000), true, None).await.unwrap();
    assert_eq!(expiry_of(first.id.clone()).await, soon);
    let six_months = expiry_of(second.id.clone()).await;
    assert!((six_months - months_after(unix_now(), 6)).abs() < 120);

    // Rolling expiry: the next earn moves every lot to its own date.
    let rolling = change(true).await;
    assert_eq!(rolling, fixed + 1);
    let g = grant_with_points(&client, &mut s, 1_000, 0).await;
    let third = client.pay(&g, &jpy(1_000), true, None).await.unwrap();
    let latest = expiry_of(third.id.clone()).await;
    assert_eq!(expiry_of(first.id.clone()).await, latest);
    assert_eq!(expiry_of(second.id.clone()).await, latest);

    let version_of = |payment: String| {
        let pool = pool.clone();
        async move {
            sqlx::query("SELECT points_programme_version FROM payments WHERE id = $1")
                .bind(payment)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<Option<i64>, _>("points_programme_version")
        }
    };
    assert_eq!(version_of(first.id).await, Some(1));
    assert_eq!(version_of(second.id).await, Some(fixed));
    assert_eq!(version_of(third.id).await, Some(rolling));
    assert_ledger(&app).await;
}

#[tokio::test]
async fn the_programmes_redemption_limits_apply_at_consent() {
    let app = spawn_app().await;
    let shop = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &shop).await;
    let mut s = shopper(&app, "limits@example.com").await;
    let g = grant_with_points(&client, &mut s, 30_000, 0).await;
    client.pay(&g, &jpy(30_000), true, None).await.unwrap();
    assert_eq!(available(&app).await, 300);
    let mut rules = ProgrammeRules::default();
    rules.redemption.min_points = 50;
    rules.redemption.max_points = Some(200);
    rules.redemption.max_percent = 50;
    app.state
        .checkout
        .programmes
        .change(&rules, &Actor::Cli, unix_now())
        .await
        .unwrap();

    let begin = |amount: &'static str, points: i64| {
        let client = &client;
        let s = &s;
        async move {
            let details = PaymentDetails::new("JPY", amount, &format!("L-{amount}-{points}"));
            let (url, _) = client.start_checkout(&details).await.unwrap();
            let consent = open_consent(&s.browser, &url).await;
            let html = s.browser.html(&consent).await;
            let marker = "name=\"card_id\" id=\"card-";
            let start = html.find(marker).unwrap() + marker.len();
            let card = html[start..start + 36].to_string();
            let r = s
                .browser
                .post_json(
                    &format!("{consent}/begin"),
                    &json!({ "card_id": card, "points": points }),
                )
                .await;
            if r.status() == StatusCode::OK {
                return (html, StatusCode::OK, String::new());
            }
            let (status, code) = problem_code(r).await;
            (html, status, code)
        }
    };
    let (html, status, code) = begin("1000", 30).await;
    assert!(
        html.contains("At least 50 and up") && html.contains("to 200 points, or none."),
        "the consent states the limits"
    );
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "points_below_minimum")
    );
    let (_, status, code) = begin("1000", 201).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "points_above_maximum")
    );
    // At most half of ¥100 is ¥50, 50 points.
    let (_, status, code) = begin("100", 51).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "points_above_maximum")
    );
    let (_, status, _) = begin("1000", 0).await;
    assert_eq!(status, StatusCode::OK, "no points is always allowed");
    let g = grant_with_points(&client, &mut s, 1_000, 200).await;
    let p = client.pay(&g, &jpy(1_000), true, None).await.unwrap();
    assert_eq!(p.points_redeemed, 200, "exactly at the maximum");
    assert_ledger(&app).await;
}
