//! Merchants' monthly points statements through real payments: a campaign's points issued
//! (earned less reversed), points redeemed at the shop (less given back), valued at each
//! payment's programme version; the merchant's API, the console's page and CSV, the month's
//! bounds, and the ledger identity behind the numbers.

use reqwest::StatusCode;
use saifu::admin::Role;
use saifu::audit::Actor;
use saifu::clock::unix_now;
use saifu::points::{NewCampaign, StatementMonth, Statements};
use saifu_sdk::checkout::MerchantCredentials;
use saifu_sdk::{Error as SdkError, PointsStatement, SaifuClient};
use serde_json::{json, Value};
use sqlx::Row;

use crate::helpers::{
    create_merchant, jpy, merchant, new_merchant, problem_code, sdk, shopper, signed_in_admin,
    spawn_app, TestApp,
};
use crate::openapi::{document, validate};
use crate::points::grant_with_points;

/// What `scenario` did: three merchants, and the months it wrote to.
struct Scenario {
    /// "+Frames, Inc.", with a 300 % campaign.
    frames: MerchantCredentials,
    /// "Other Shop", with a 200 % campaign.
    other: MerchantCredentials,
    /// "Quiet Shop": nothing happened there.
    quiet: MerchantCredentials,
    month: StatementMonth,
    previous: StatementMonth,
}

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

/// Pays `amount` yen at `client`'s shop with `points`, captured at once; returns the payment.
async fn pay(
    client: &SaifuClient,
    s: &mut crate::helpers::Shopper,
    amount: i64,
    points: i64,
) -> saifu_sdk::Payment {
    let grant = grant_with_points(client, s, amount, points).await;
    client
        .pay(&grant, &jpy(&amount.to_string()), true, None)
        .await
        .unwrap()
}

/// One shopper's month:
/// - at Frames (300 %), ¥10,000 under programme version 1 (a point is worth ¥1): 100 base
///   points and 200 from the campaign;
/// - the programme's version 2 makes a point worth ¥2;
/// - at Frames, ¥5,000 using 100 points (¥200): the card pays ¥4,800, earning 48 + 96; a
///   refund of half takes back 48 campaign points (and 24 base) and gives back 50 points;
/// - at Other Shop (200 %), ¥2,000 using 50 points (¥100): the card's ¥1,900 earn 19 + 19;
/// - at Frames, ¥1,000 (10 + 20 points) moved to the last second of the previous month.
async fn scenario(app: &TestApp) -> Scenario {
    let frames = create_merchant(
        app,
        saifu::merchants::NewMerchant {
            name: "+Frames, Inc.".into(),
            domain: Some("frames.example".into()),
            ..new_merchant("Frames", true)
        },
    )
    .await;
    let other = merchant(app, "Other Shop", true).await;
    let quiet = merchant(app, "Quiet Shop", true).await;
    campaign(app, &frames.client_id, 300).await;
    campaign(app, &other.client_id, 200).await;
    let frames_client = sdk(app, &frames).await;
    let other_client = sdk(app, &other).await;
    let mut s = shopper(app, "statements@example.com").await;

    let p = pay(&frames_client, &mut s, 10_000, 0).await;
    assert_eq!(p.points_earned, 300, "100 base, tripled");

    let programmes = &app.state.checkout.programmes;
    let mut rules = programmes.current().await.unwrap().rules;
    rules.rates.value_jpy = 2;
    let v2 = programmes
        .change(&rules, &Actor::Cli, unix_now())
        .await
        .unwrap();
    assert_eq!(v2.version, 2);

    let p = pay(&frames_client, &mut s, 5_000, 100).await;
    assert_eq!((p.points_redeemed, p.points_earned), (100, 144));
    frames_client
        .refund(&p.id, &jpy("2500"), None)
        .await
        .unwrap();

    let p = pay(&other_client, &mut s, 2_000, 50).await;
    assert_eq!((p.points_redeemed, p.points_earned), (50, 38));

    let month = StatementMonth::containing(unix_now()).unwrap();
    let previous = StatementMonth::containing(month.from - 1).unwrap();
    let p = pay(&frames_client, &mut s, 1_000, 0).await;
    assert_eq!(p.points_earned, 30);
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let moved = sqlx::query("UPDATE points_entries SET created_at = $1 WHERE payment_id = $2")
        .bind(month.from - 1)
        .bind(&p.id)
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected();
    assert!(moved >= 2, "the earn's legs moved to the previous month");
    Scenario {
        frames,
        other,
        quiet,
        month,
        previous,
    }
}

fn statements(app: &TestApp) -> Statements {
    Statements::new(
        app.state.store.clone(),
        app.state.checkout.programmes.clone(),
    )
}

/// A line of the API's JSON, in yen.
fn yen_line(issued: i64, redeemed: i64, owed: &str, reimbursed: &str, net: &str) -> Value {
    json!({
        "currency": "JPY",
        "points_issued": issued,
        "points_redeemed": redeemed,
        "issued_amount": {"currency": "JPY", "amount": owed},
        "redeemed_amount": {"currency": "JPY", "amount": reimbursed},
        "net_amount": {"currency": "JPY", "amount": net},
    })
}

/// `GET /v1/points/statements` as `creds`, with the raw query string.
async fn statement_json(
    app: &TestApp,
    creds: &MerchantCredentials,
    query: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .get(
            app.base
                .join(&format!("/v1/points/statements{query}"))
                .unwrap(),
        )
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_statement_counts_the_months_campaign_points_and_redemptions_at_each_versions_value() {
    let app = spawn_app().await;
    let sc = scenario(&app).await;
    let month = sc.month.to_string();

    let response = statement_json(&app, &sc.frames, &format!("?month={month}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "object": "points_statement",
            "client_id": sc.frames.client_id,
            "month": month,
            "from": format!("{month}-01T00:00:00Z"),
            "to": format!("{}-01T00:00:00Z", sc.month.next().unwrap()),
            // 200 + 96 − 48 issued (200 at ¥1, 48 at ¥2); 100 − 50 redeemed at ¥2.
            "lines": [yen_line(248, 50, "296", "100", "-196")],
        })
    );
    validate(&document(&app).await, "PointsStatement", &body);

    // The SDK reads the same; another merchant's activity never appears in this one's.
    let other = sdk(&app, &sc.other).await;
    let theirs = other.points_statement(&month).await.unwrap();
    assert_eq!(theirs.client_id, sc.other.client_id);
    assert_eq!(
        serde_json::to_value(&theirs.lines).unwrap(),
        json!([yen_line(19, 50, "38", "100", "62")]),
        "the programme pays Other Shop"
    );
    let quiet = sdk(&app, &sc.quiet).await;
    let nothing: PointsStatement = quiet.points_statement(&month).await.unwrap();
    assert!(nothing.lines.is_empty(), "no activity, no lines");
    assert_eq!(nothing.object, "points_statement");

    // The payment moved to the previous month's last second counts there, not here.
    let frames = sdk(&app, &sc.frames).await;
    let before = frames
        .points_statement(&sc.previous.to_string())
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&before.lines).unwrap(),
        json!([yen_line(20, 0, "40", "0", "-40")]),
        "version 2: 20 campaign points at ¥2"
    );
    let empty = frames.points_statement("2001-01").await.unwrap();
    assert!(empty.lines.is_empty());
    assert_eq!(
        (empty.from.as_str(), empty.to.as_str()),
        ("2001-01-01T00:00:00Z", "2001-02-01T00:00:00Z")
    );
}

#[tokio::test]
async fn the_console_lists_every_merchant_with_totals_and_exports_them_as_csv() {
    let app = spawn_app().await;
    let sc = scenario(&app).await;
    let month = sc.month.to_string();
    let auditor = signed_in_admin(&app, Role::Auditor).await;

    let page = auditor.get_html("/admin/points/statements").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("value=\"{month}\"")),
        "the current month by default"
    );
    assert!(html.contains(&format!(
        "href=\"/admin/points/statements.csv?month={month}\""
    )));
    assert!(html.contains("href=\"/admin/points/statements\">Statements</a>"));
    for shown in [
        "+Frames, Inc.",
        "Other Shop",
        &sc.frames.client_id,
        "-¥196",
        "¥296",
        // Totals: 267 points issued (¥334), 100 redeemed (¥200), net −¥134.
        "<td data-label=\"Points issued\">267</td>",
        "¥334",
        "-¥134",
    ] {
        assert!(html.contains(shown), "the page shows {shown}");
    }
    assert!(!html.contains("Quiet Shop"), "only merchants with activity");

    let csv = auditor
        .http
        .get(auditor.url(&format!("/admin/points/statements.csv?month={month}")))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        csv.headers()["content-disposition"],
        format!("attachment; filename=\"saifu-points-statements-{month}.csv\"").as_str()
    );
    assert_eq!(
        csv.text().await.unwrap(),
        format!(
            "month,client_id,merchant,currency,points_issued,points_redeemed,issued_amount,redeemed_amount,net_amount\r\n\
             {month},{},\"'+Frames, Inc.\",JPY,248,50,296,100,-196\r\n\
             {month},{},Other Shop,JPY,19,50,38,100,62\r\n",
            sc.frames.client_id, sc.other.client_id
        ),
        "a formula-like name stays text, quoted for its comma"
    );

    let previous = auditor
        .html(&format!("/admin/points/statements?month={}", sc.previous))
        .await;
    assert!(previous.contains("+Frames, Inc.") && previous.contains("-¥40"));
    assert!(!previous.contains("Other Shop"));
    let empty = auditor.html("/admin/points/statements?month=2001-01").await;
    assert!(empty.contains("id=\"statements-empty\""));
}

#[tokio::test]
async fn issued_points_are_minus_the_merchants_campaign_entries_and_redeemed_the_programmes() {
    let app = spawn_app().await;
    let sc = scenario(&app).await;
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    for month in [sc.month, sc.previous] {
        for creds in [&sc.frames, &sc.other, &sc.quiet] {
            let campaign: i64 = sqlx::query(
                "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS s FROM points_entries
                 WHERE account = $1 AND kind IN ('earn', 'reverse') AND created_at >= $2 AND created_at < $3",
            )
            .bind(format!("merchant:{}:campaign", creds.client_id))
            .bind(month.from)
            .bind(month.to)
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("s");
            let programme: i64 = sqlx::query(
                "SELECT CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) AS s FROM points_entries e
                 JOIN payments p ON p.id = e.payment_id
                 WHERE e.account = 'issuer:liability' AND e.kind IN ('redeem', 'restore')
                   AND p.client_id = $1 AND e.created_at >= $2 AND e.created_at < $3",
            )
            .bind(&creds.client_id)
            .bind(month.from)
            .bind(month.to)
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("s");
            let statement = statements(&app)
                .of_merchant(&creds.client_id, month)
                .await
                .unwrap();
            let issued: i64 = statement.lines.iter().map(|l| l.points_issued).sum();
            let redeemed: i64 = statement.lines.iter().map(|l| l.points_redeemed).sum();
            assert_eq!(issued, -campaign, "{month}: issued = −Σ campaign entries");
            assert_eq!(
                redeemed, programme,
                "{month}: redeemed = Σ programme entries"
            );
        }
    }
    // Not a vacuous identity: the scenario's campaign did issue points this month.
    let frames = statements(&app)
        .of_merchant(&sc.frames.client_id, sc.month)
        .await
        .unwrap();
    assert_eq!(frames.lines[0].points_issued, 248);
}

#[tokio::test]
async fn a_month_is_yyyy_mm_from_2000_01_to_next_month() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let next = StatementMonth::containing(unix_now())
        .unwrap()
        .next()
        .unwrap();
    let after = next.next().unwrap();
    for query in [
        String::new(),
        "?month=".into(),
        "?month=2026-13".into(),
        "?month=2026-1".into(),
        "?month=November".into(),
        "?month=1999-12".into(),
        format!("?month={after}"),
    ] {
        let response = statement_json(&app, &creds, &query).await;
        let (status, code) = problem_code(response).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_month"),
            "{query}"
        );
    }
    let ok = statement_json(&app, &creds, &format!("?month={next}")).await;
    assert_eq!(ok.status(), StatusCode::OK, "next month can be asked for");
    let ok = statement_json(&app, &creds, "?month=2000-01").await;
    assert_eq!(ok.status(), StatusCode::OK);
    let stranger = MerchantCredentials {
        client_secret: "wrong".into(),
        ..creds.clone()
    };
    let refused = statement_json(&app, &stranger, "?month=2000-01").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let client = sdk(&app, &creds).await;
    match client.points_statement("1999-12").await {
        Err(SdkError::Problem { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (400, "invalid_month"))
        }
        other => panic!("expected invalid_month, got {other:?}"),
    }

    // The console shows the refusal next to the month, and the CSV refuses it too.
    let support = signed_in_admin(&app, Role::Support).await;
    let page = support
        .get_html("/admin/points/statements?month=2026-13")
        .await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"statements-month-error\""));
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("value=\"2026-13\""), "the month as typed");
    assert!(!html.contains("Download CSV"));
    let csv = support
        .http
        .get(support.url("/admin/points/statements.csv?month=1999-12"))
        .send()
        .await
        .unwrap();
    let (status, code) = problem_code(csv).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_month")
    );
    let signed_out = app.browser().get_html("/admin/points/statements").await;
    assert_eq!(
        signed_out.status(),
        StatusCode::SEE_OTHER,
        "console sign-in first"
    );
}
