//! The points ledger through real payments: earned on capture, redeemed at consent (held,
//! posted, released), reversed and given back on refunds, expired oldest first; and a property
//! test over random sequences of all of these.

use proptest::prelude::*;
use reqwest::StatusCode;
use saifu::clock::unix_now;
use saifu_sdk::checkout::{Amount, PaymentDetails};
use saifu_sdk::SaifuClient;
use serde_json::json;

use crate::helpers::{
    merchant, only_user_id, open_consent, sdk, shopper, spawn_app, Shopper, TestApp,
};

pub(crate) fn jpy(amount: i64) -> Amount {
    Amount {
        currency: "JPY".into(),
        amount: amount.to_string(),
    }
}

async fn summary(app: &TestApp, s: &Shopper) -> saifu::store::points::PointsSummary {
    let html = s.browser.get_html("/activity").await;
    assert_eq!(html.status(), StatusCode::OK);
    let user = only_user_id(app).await.to_string();
    app.state.store.points_summary(&user, 0).await.unwrap()
}

/// A checkout using `points`, approved by the shopper; returns the grant.
pub(crate) async fn grant_with_points(
    client: &SaifuClient,
    s: &mut Shopper,
    amount: i64,
    points: i64,
) -> String {
    let details = PaymentDetails::new(
        "JPY",
        &amount.to_string(),
        &format!("P-{}", uuid::Uuid::new_v4().simple()),
    );
    let (url, pending) = client.start_checkout(&details).await.unwrap();
    let callback = s.pay_with(&url, points).await;
    let grant = client.complete_checkout(&callback, &pending).await.unwrap();
    assert_eq!(
        grant.authorization_details[0].points_redeemed,
        (points > 0).then_some(points),
        "granted details carry the points"
    );
    grant.token
}

/// The ledger sums to zero, balances equal their entries, lots add up to the available
/// balances, stay within what they were credited, and agree with their funders' accounts.
pub(crate) async fn assert_ledger(app: &TestApp) {
    let (sum, balances_match, lots_match) = app.state.store.ledger_check().await.unwrap();
    assert_eq!(sum, 0, "the ledger sums to zero");
    assert!(balances_match, "balances equal their entries");
    assert!(lots_match, "lots add up to the available balances");
    let lots = app.state.store.lots_check().await.unwrap();
    assert_eq!(lots.lots_out_of_bounds, 0, "lots stay within their points");
    assert_eq!(
        lots.funders_off, 0,
        "campaign accounts agree with their lots"
    );
}

#[tokio::test]
async fn points_are_earned_redeemed_released_reversed_and_expire() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut s = shopper(&app, "points@example.com").await;

    // Earn: 1 point per ¥100 of card spending, credited at capture.
    let g = grant_with_points(&client, &mut s, 12_800, 0).await;
    let p = client.pay(&g, &jpy(12_800), true, None).await.unwrap();
    assert_eq!(p.points_earned, 128);
    assert_eq!(summary(&app, &s).await.available, 128);

    // Redeem 100 points at consent: held at approval, posted at capture; the card pays the rest.
    let g = grant_with_points(&client, &mut s, 5_000, 100).await;
    let held = summary(&app, &s).await;
    assert_eq!((held.available, held.held), (28, 100));
    let p = client.pay(&g, &jpy(5_000), true, None).await.unwrap();
    assert_eq!(
        (p.points_redeemed, p.points_earned),
        (100, 49),
        "earned on the ¥4,900 the card paid"
    );
    let after = summary(&app, &s).await;
    assert_eq!((after.available, after.held), (28 + 49, 0));

    // A refund of half reverses half the earned points and gives back half the redeemed ones.
    client.refund(&p.id, &jpy(2500), None).await.unwrap();
    assert_eq!(summary(&app, &s).await.available, 77 - 24 + 50);
    client.refund(&p.id, &jpy(2500), None).await.unwrap();
    assert_eq!(
        summary(&app, &s).await.available,
        128,
        "a full refund undoes the payment's points exactly"
    );
    assert_ledger(&app).await;

    // Void releases held points.
    let g = grant_with_points(&client, &mut s, 3_000, 120).await;
    let p = client.pay(&g, &jpy(3_000), false, None).await.unwrap();
    assert_eq!(summary(&app, &s).await.held, 120);
    client.void(&p.id, None).await.unwrap();
    let back = summary(&app, &s).await;
    assert_eq!((back.available, back.held), (128, 0));

    // A grant that lapses unused releases its hold.
    let _unused = grant_with_points(&client, &mut s, 3_000, 50).await;
    assert_eq!(summary(&app, &s).await.held, 50);
    app.state
        .points
        .release_lapsed_holds(unix_now() + 3_600)
        .await
        .unwrap();
    assert_eq!(
        summary(&app, &s).await,
        saifu::store::points::PointsSummary {
            available: 128,
            held: 0,
            expiring_soon: 0
        }
    );

    // More points than available, or than the payment, are refused at consent.
    let details = PaymentDetails::new("JPY", "100", "TOO-MANY");
    let (url, _) = client.start_checkout(&details).await.unwrap();
    let consent = open_consent(&s.browser, &url).await;
    let html = s.browser.html(&consent).await;
    assert!(
        html.contains("Points to use (you have 128)") && html.contains("max=\"100\""),
        "the control offers at most the amount"
    );
    let card = {
        let start =
            html.find("name=\"card_id\" id=\"card-").unwrap() + "name=\"card_id\" id=\"card-".len();
        html[start..start + 36].to_string()
    };
    let r = s
        .browser
        .post_json(
            &format!("{consent}/begin"),
            &json!({ "card_id": card, "points": 101 }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Expiry: everything earned a year ago is gone, oldest first.
    let expired = app
        .state
        .points
        .expire(unix_now() + 366 * 24 * 3600)
        .await
        .unwrap();
    assert_eq!(expired, 128);
    assert_eq!(summary(&app, &s).await.available, 0);
    assert_ledger(&app).await;

    let page = s.browser.html("/points").await;
    for shown in [
        "Available",
        "Held",
        "Expiring within 30 days",
        "Earned",
        "Expired",
        "Frame Shop",
        "/activity#pay_",
    ] {
        assert!(page.contains(shown), "points page shows {shown}");
    }
}

#[tokio::test]
async fn a_merchant_campaign_multiplies_points_at_its_expense() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Campaign Shop", true).await;
    let now = saifu::clock::unix_now();
    app.state
        .checkout
        .programmes
        .add_campaign(
            &saifu::points::NewCampaign {
                client_id: creds.client_id.clone(),
                multiplier_percent: 300,
                starts_at: now - 60,
                ends_at: now + 3600,
            },
            &saifu::audit::Actor::Cli,
            now,
        )
        .await
        .unwrap();
    let client = sdk(&app, &creds).await;
    let mut s = shopper(&app, "campaign@example.com").await;
    // The consent page previews the campaign's earn: 1 % of ¥1,000, tripled.
    let details = PaymentDetails::new("JPY", "1000", "PREVIEW");
    let (url, _) = client.start_checkout(&details).await.unwrap();
    let consent = open_consent(&s.browser, &url).await;
    let page = s.browser.html(&consent).await;
    assert!(
        page.contains("You earn about 30 points on this payment."),
        "earn preview with the campaign"
    );
    let g = grant_with_points(&client, &mut s, 1_000, 0).await;
    let p = client.pay(&g, &jpy(1_000), true, None).await.unwrap();
    assert_eq!(p.points_earned, 30, "10 base points, tripled");
    use sqlx::Row;
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let balance = |account: String| {
        let pool = pool.clone();
        async move {
            sqlx::query("SELECT balance FROM points_balances WHERE account = $1")
                .bind(account)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<i64, _>("balance")
        }
    };
    assert_eq!(
        balance(format!("merchant:{}:campaign", creds.client_id)).await,
        -20,
        "the merchant funds the extra 20"
    );
    assert_eq!(
        balance("issuer:liability".into()).await,
        -10,
        "the issuer owes the base 10"
    );
    assert_ledger(&app).await;
}

#[derive(Clone, Debug)]
enum Op {
    Pay {
        amount: i64,
        points_pct: i64,
        capture: bool,
    },
    Capture {
        pct: i64,
    },
    Refund {
        pct: i64,
    },
    Void,
    Lapse,
    Expire,
    /// A merchant-funded campaign of `percent` from now on (one at a time).
    Campaign {
        percent: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (100i64..20_000, 0i64..=100, any::<bool>()).prop_map(|(amount, points_pct, capture)| Op::Pay { amount, points_pct, capture }),
        2 => (1i64..=100).prop_map(|pct| Op::Capture { pct }),
        2 => (1i64..=100).prop_map(|pct| Op::Refund { pct }),
        1 => Just(Op::Void),
        1 => Just(Op::Lapse),
        1 => Just(Op::Expire),
        1 => (101i64..=400).prop_map(|percent| Op::Campaign { percent }),
    ]
}

/// Random sequences of payments, partial captures, refunds, voids, lapsed grants, expiry and
/// merchant-funded campaigns: the ledger always sums to zero, no shopper balance goes negative,
/// lots stay within their points and agree with their funders' accounts, and every payment's
/// points match the programme's rate and the campaign it was approved under.
#[test]
fn random_sequences_keep_the_ledger_balanced() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // PROPTEST_CASES raises the count for a longer hunt.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 4..9), |ops| {
            rt.block_on(run_sequence(ops));
            Ok(())
        })
        .unwrap();
}

async fn run_sequence(ops: Vec<Op>) {
    let app = spawn_app().await;
    let creds = merchant(&app, "Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut s = shopper(&app, "random@example.com").await;
    let user = only_user_id(&app).await.to_string();
    let mut last: Option<saifu_sdk::Payment> = None;
    let mut clock = unix_now();
    // The campaign multiplier in force, and the one the last payment was approved under.
    let (mut multiplier, mut last_multiplier) = (100, 100);
    let earned = |card: i64, percent: i64| {
        let base = card / 100;
        base * percent / 100
    };
    for op in ops {
        match op {
            Op::Pay {
                amount,
                points_pct,
                capture,
            } => {
                let available = app
                    .state
                    .store
                    .points_summary(&user, 0)
                    .await
                    .unwrap()
                    .available;
                let points = (available.min(amount) * points_pct) / 100;
                let g = grant_with_points(&client, &mut s, amount, points).await;
                let p = client.pay(&g, &jpy(amount), capture, None).await.unwrap();
                assert_eq!(p.points_redeemed, points);
                if capture {
                    assert_eq!(
                        p.points_earned,
                        earned(amount - points, multiplier),
                        "earned on the card part, at the campaign's rate"
                    );
                }
                last = Some(p);
                last_multiplier = multiplier;
            }
            Op::Capture { pct } => {
                if let Some(p) = last.as_ref().filter(|p| p.status == "authorized") {
                    let amount: i64 = p.amount.parse().unwrap();
                    let capture = (amount * pct / 100).max(p.points_redeemed).max(1);
                    let captured = client
                        .capture(&p.id, Some(&jpy(capture)), None)
                        .await
                        .unwrap();
                    assert_eq!(
                        captured.points_earned,
                        earned(capture - p.points_redeemed, last_multiplier)
                    );
                    last = Some(captured);
                }
            }
            Op::Refund { pct } => {
                if let Some(p) = last.as_ref().filter(|p| p.status == "captured") {
                    let left = p.captured_amount.parse::<i64>().unwrap()
                        - p.refunded_amount.parse::<i64>().unwrap();
                    let amount = (left * pct / 100).max(1);
                    if left > 0 {
                        last = Some(client.refund(&p.id, &jpy(amount), None).await.unwrap());
                    }
                }
            }
            Op::Void => {
                if let Some(p) = last.as_ref().filter(|p| p.status == "authorized") {
                    last = Some(client.void(&p.id, None).await.unwrap());
                }
            }
            Op::Lapse => {
                let _ = grant_with_points(&client, &mut s, 1_000, 0).await;
                app.state
                    .points
                    .release_lapsed_holds(unix_now() + 3_600)
                    .await
                    .unwrap();
            }
            Op::Expire => {
                clock += 200 * 24 * 3600;
                app.state.points.expire(clock).await.unwrap();
            }
            Op::Campaign { percent } => {
                let now = unix_now();
                if multiplier == 100 {
                    app.state
                        .checkout
                        .programmes
                        .add_campaign(
                            &saifu::points::NewCampaign {
                                client_id: creds.client_id.clone(),
                                multiplier_percent: percent,
                                starts_at: now - 1,
                                ends_at: now + 24 * 3600,
                            },
                            &saifu::audit::Actor::Cli,
                            now,
                        )
                        .await
                        .unwrap();
                    multiplier = percent;
                }
            }
        }
        let now = app.state.store.points_summary(&user, 0).await.unwrap();
        assert!(now.available >= 0 && now.held >= 0, "{now:?}");
        assert_ledger(&app).await;
    }
    assert_statement(&app, &creds.client_id).await;
}

/// The merchant's statement for this month agrees with the ledger: points issued are its
/// campaign's lots less what refunds took back (minus its campaign entries of earns and
/// reversals), points redeemed the programme's entries of its payments' redemptions less what
/// refunds gave back, each worth the default programme's ¥1.
async fn assert_statement(app: &TestApp, client_id: &str) {
    use sqlx::Row;
    let month = saifu::points::statement::StatementMonth::containing(unix_now()).unwrap();
    let statement = saifu::points::Statements::new(
        app.state.store.clone(),
        app.state.checkout.programmes.clone(),
    )
    .of_merchant(client_id, month)
    .await
    .unwrap();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let sum = |sql: &'static str| {
        let pool = pool.clone();
        let client_id = client_id.to_string();
        async move {
            sqlx::query(sql)
                .bind(client_id)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<i64, _>("n")
        }
    };
    let issued = sum(
        "SELECT CAST(COALESCE(SUM(points - reversed), 0) AS BIGINT) AS n FROM points_lots
         WHERE funder = 'merchant:' || $1",
    )
    .await;
    let funded_entries = sum(
        "SELECT CAST(COALESCE(-SUM(amount), 0) AS BIGINT) AS n FROM points_entries
         WHERE account = 'merchant:' || $1 || ':campaign' AND kind IN ('earn', 'reverse')",
    )
    .await;
    let redeemed = sum(
        "SELECT CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) AS n FROM points_entries e
         JOIN payments p ON p.id = e.payment_id
         WHERE e.account = 'issuer:liability' AND e.kind IN ('redeem', 'restore') AND p.client_id = $1",
    )
    .await;
    assert_eq!(issued, funded_entries, "lots and entries agree");
    let (line_issued, line_redeemed, net) = statement.lines.first().map_or((0, 0, 0), |l| {
        (l.points_issued, l.points_redeemed, l.net.minor)
    });
    assert_eq!(
        (line_issued, line_redeemed),
        (issued, redeemed),
        "{statement:?}"
    );
    assert_eq!(net, redeemed - issued, "at ¥1 a point");
}

#[tokio::test]
async fn a_payment_paid_entirely_with_points_never_calls_the_card_network() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut s = shopper(&app, "allpoints@example.com").await;
    let g = grant_with_points(&client, &mut s, 12_800, 0).await;
    client.pay(&g, &jpy(12_800), true, None).await.unwrap();
    let effects = app.state.simulator.effects().await.unwrap();
    let g = grant_with_points(&client, &mut s, 100, 100).await;
    let p = client.pay(&g, &jpy(100), false, None).await.unwrap();
    let p = client.capture(&p.id, None, None).await.unwrap();
    assert_eq!(
        (p.status.as_str(), p.points_redeemed, p.points_earned),
        ("captured", 100, 0)
    );
    client.refund(&p.id, &jpy(100), None).await.unwrap();
    let g = grant_with_points(&client, &mut s, 100, 100).await;
    let p = client.pay(&g, &jpy(100), false, None).await.unwrap();
    client.void(&p.id, None).await.unwrap();
    assert_eq!(
        app.state.simulator.effects().await.unwrap(),
        effects,
        "no card-network call for points-only payments"
    );
    assert_eq!(summary(&app, &s).await.available, 128);
    assert_ledger(&app).await;
}
