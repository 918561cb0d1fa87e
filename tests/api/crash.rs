//! kill -9 under load: the `saifu` binary takes a bounded load of payments, captures and
//! refunds (the processor slowed down, so many are in flight), is killed with SIGKILL,
//! restarted on the same database, and the merchant retries every step with the same keys.
//! Afterwards, read by SQL: nothing is left in flight, nothing was done twice at the
//! processor, the points ledger balances, and every state change has exactly one event, all
//! delivered.

use std::collections::HashSet;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use saifu_sdk::checkout::MerchantCredentials;
use serde_json::{json, Value};
use sqlx::Row;
use url::Url;

use crate::helpers::{
    create_merchant, new_merchant, offered_cards, open_consent, paid, sdk, shopper, spawn_app_with,
    TestApp,
};

/// Payments in the load; a third of them redeem points.
const PAYMENTS: usize = 24;

/// Webhook deliveries received, by webhook-id.
#[derive(Clone, Default)]
struct Deliveries(Arc<Mutex<Vec<String>>>);

async fn receive(State(d): State<Deliveries>, headers: HeaderMap) -> StatusCode {
    if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
        d.0.lock().unwrap().push(id.to_string());
    }
    StatusCode::NO_CONTENT
}

async fn start_receiver() -> (Url, Deliveries) {
    let deliveries = Deliveries::default();
    let app = axum::Router::new()
        .route("/hooks", axum::routing::post(receive))
        .with_state(deliveries.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/hooks", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, deliveries)
}

/// A wallet process, killed with SIGKILL when dropped (also when the test fails).
struct Wallet(Child);

impl Wallet {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Wallet {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The wallet as a separate process, on `app`'s database, keys and issuer, at `listen`.
fn start_wallet(app: &TestApp, listen: &str, log: &std::path::Path) -> Wallet {
    start_wallet_slowed(app, listen, log, 40)
}

/// The same, its card network taking `latency_ms` per call.
fn start_wallet_slowed(
    app: &TestApp,
    listen: &str,
    log: &std::path::Path,
    latency_ms: u64,
) -> Wallet {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    app.cli()
        .env("SAIFU_ISSUER", app.base.as_str())
        .env("SAIFU_LISTEN", listen)
        .env("SAIFU_PROCESSOR_LATENCY_MS", latency_ms.to_string())
        .env("SAIFU_IN_FLIGHT_LEASE_SECS", "2")
        .env("SAIFU_IDEMPOTENCY_LEASE_SECS", "2")
        .env("SAIFU_RECONCILE_INTERVAL_SECS", "1")
        .env("SAIFU_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
        .env("SAIFU_WEBHOOK_POLL_MS", "50")
        // A delivery cut off by the kill is leased for twice this: sent again 4 s later.
        .env("SAIFU_WEBHOOK_TIMEOUT_SECS", "2")
        .env(
            "SAIFU_WEBHOOK_RETRY_SCHEDULE",
            "0ms,200ms,200ms,200ms,200ms",
        )
        .env("SAIFU_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .map(Wallet)
        .expect("start the saifu binary")
}

async fn wait_ready(base: &str) {
    let start = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the wallet never became ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts one step until it has an answer: a wallet that is down, a key whose first request
/// still runs (or was cut off by the kill and waits for its lease), a step in progress and a
/// processor failure are all retried with the same key; any other error fails the test.
async fn step(
    base: &str,
    creds: &MerchantCredentials,
    path: &str,
    key: &str,
    body: &Value,
) -> Value {
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut last = String::new();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(45),
            "{path} ({key}) never completed; last answer: {last}"
        );
        let sent = client
            .post(format!("{base}{path}"))
            .basic_auth(&creds.client_id, Some(&creds.client_secret))
            .header("Idempotency-Key", key)
            .timeout(Duration::from_secs(10))
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => {
                last = err.to_string();
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return answer;
        }
        last = format!("{status} {answer}");
        let code = answer["code"].as_str().unwrap_or_default();
        let retry = matches!(
            (status.as_u16(), code),
            (409, "idempotency_key_in_use") | (409, "payment_in_progress") | (502, _) | (503, _)
        );
        assert!(retry, "{path} ({key}): {status} {answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn query_i64(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(pool)
        .await
        .unwrap()
        .get::<i64, _>(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_sigkill_under_load_the_wallet_loses_and_repeats_nothing() {
    let started = Instant::now();
    let (hooks, deliveries) = start_receiver().await;
    // Grants are made by an in-process node, which then stops: the process below is alone.
    let mut app = spawn_app_with(|c| {
        c.webhook_allow_private_targets = Some(true);
        c.webhook_timeout_secs = 2;
    })
    .await;
    let creds = create_merchant(
        &app,
        saifu::merchants::NewMerchant {
            webhook_url: Some(hooks),
            ..new_merchant("Frame Shop", true)
        },
    )
    .await;
    let client = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "crash@example.com").await;
    // Two captured payments first, so that the shopper has points to redeem.
    for i in 0..2 {
        let (callback, pending) = paid(&client, &mut shopper).await;
        let g = client
            .complete_checkout(&callback, &pending)
            .await
            .unwrap()
            .token;
        let amount = saifu_sdk::checkout::Amount {
            currency: "JPY".into(),
            amount: "12800".into(),
        };
        client
            .pay(&g, &amount, true, Some(&format!("earn-{i}")))
            .await
            .unwrap();
    }
    let mut grants = Vec::new();
    for i in 0..PAYMENTS {
        let (url, pending) = client
            .start_checkout(&crate::helpers::frames())
            .await
            .unwrap();
        let points = if i % 3 == 0 { 20 } else { 0 };
        let callback = shopper.pay_with(&url, points).await;
        grants.push(
            client
                .complete_checkout(&callback, &pending)
                .await
                .unwrap()
                .token,
        );
    }
    app.stop();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let base = format!("http://{listen}");
    let log = std::env::temp_dir().join(format!("saifu-crash-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let mut wallet = start_wallet(&app, &listen, &log);
    wait_ready(&base).await;

    let mut load = tokio::task::JoinSet::new();
    for (i, g) in grants.into_iter().enumerate() {
        let (base, creds) = (base.clone(), creds.clone());
        load.spawn(async move {
            let pay = json!({"grant": g, "amount": {"currency": "JPY", "amount": "12800"}, "capture": false});
            let payment = step(&base, &creds, "/v1/payments", &format!("pay-{i}"), &pay).await;
            let id = payment["id"].as_str().expect("a payment id").to_string();
            let path = format!("/v1/payments/{id}/capture");
            step(&base, &creds, &path, &format!("capture-{i}"), &json!({})).await;
            let path = format!("/v1/payments/{id}/refunds");
            let refund = json!({"amount": {"currency": "JPY", "amount": "1000"}});
            step(&base, &creds, &path, &format!("refund-{i}"), &refund).await;
        });
    }
    // SIGKILL in the middle of the load (once some payments were captured while other steps
    // are at the processor), then a restart on the same database. Watching the database rather
    // than a clock keeps the kill inside the load however fast the machine is.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let watching = Instant::now();
    loop {
        let midway = query_i64(
            &pool,
            "SELECT CASE WHEN (SELECT COUNT(*) FROM payments WHERE status = 'captured') > 2
                          AND (SELECT COUNT(*) FROM payments WHERE operation IS NOT NULL)
                            + (SELECT COUNT(*) FROM refunds WHERE status = 'pending') > 0
                     THEN 1 ELSE 0 END",
        )
        .await;
        if midway == 1 {
            break;
        }
        assert!(
            watching.elapsed() < Duration::from_secs(20),
            "the load never reached the middle"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    wallet.kill();
    let in_flight = query_i64(
        &pool,
        "SELECT (SELECT COUNT(*) FROM payments WHERE operation IS NOT NULL)
              + (SELECT COUNT(*) FROM refunds WHERE status = 'pending')
              + (SELECT COUNT(*) FROM idempotency_keys WHERE status IS NULL)",
    )
    .await;
    assert!(
        in_flight > 0,
        "the kill left nothing in flight: the test tested nothing"
    );
    eprintln!("the kill left {in_flight} requests and money operations in flight");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut wallet = start_wallet(&app, &listen, &log);
    while let Some(done) = load.join_next().await {
        done.expect("a payment's steps completed");
    }

    // The reconciler and the webhook worker finish what the crash left.
    let settle = Instant::now();
    loop {
        let left = query_i64(
            &pool,
            "SELECT (SELECT COUNT(*) FROM payments WHERE operation IS NOT NULL)
                  + (SELECT COUNT(*) FROM refunds WHERE status = 'pending')
                  + (SELECT COUNT(*) FROM webhook_events WHERE state <> 'delivered')",
        )
        .await;
        if left == 0 {
            break;
        }
        if settle.elapsed() > Duration::from_secs(20) {
            let stuck: Vec<String> = sqlx::query(
                "SELECT id || ' ' || status || ' ' || COALESCE(operation, '-') FROM payments WHERE operation IS NOT NULL
                 UNION ALL SELECT id || ' pending refund' FROM refunds WHERE status = 'pending'
                 UNION ALL SELECT id || ' ' || event_type || ' ' || state || ' ' || CAST(attempts AS TEXT) || ' ' || COALESCE(last_error, '-')
                   FROM webhook_events WHERE state <> 'delivered'",
            )
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
            panic!(
                "{left} left after 20 s: {stuck:?} (the wallet's log: {})",
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wallet.kill();

    let total = PAYMENTS as i64 + 2;
    // Every payment captured once and refunded once, nothing reserved or in flight.
    assert_eq!(
        query_i64(&pool, "SELECT COUNT(*) FROM payments WHERE status = 'captured' AND operation IS NULL AND refunding_minor = 0").await,
        total
    );
    assert_eq!(
        query_i64(
            &pool,
            "SELECT COUNT(*) FROM payments WHERE refunded_minor = 1000"
        )
        .await,
        PAYMENTS as i64
    );
    assert_eq!(
        query_i64(
            &pool,
            "SELECT COUNT(*) FROM refunds WHERE status = 'succeeded'"
        )
        .await,
        PAYMENTS as i64
    );
    assert_eq!(
        query_i64(&pool, "SELECT COUNT(*) FROM refunds").await,
        PAYMENTS as i64
    );
    // At the processor: one authorization per payment that needed the card (all do: points
    // pay only part), one capture each, one refund each, never more.
    assert_eq!(
        query_i64(&pool, "SELECT COUNT(*) FROM sim_authorizations").await,
        total
    );
    assert_eq!(
        query_i64(&pool, "SELECT COUNT(*) FROM sim_captures").await,
        total
    );
    assert_eq!(
        query_i64(
            &pool,
            "SELECT COUNT(*) FROM sim_replies WHERE slot LIKE 'refund:%' AND effect = 1"
        )
        .await,
        PAYMENTS as i64
    );
    assert_eq!(
        query_i64(
            &pool,
            "SELECT CAST(COALESCE(SUM(refunded_minor), 0) AS BIGINT) FROM sim_captures"
        )
        .await,
        query_i64(
            &pool,
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM refunds"
        )
        .await,
        "the card got back exactly what the refunds say (the points pay less than any refund)"
    );
    // The points ledger: every posting balances, no shopper balance is negative, and no
    // points are left held for a payment.
    assert_eq!(
        query_i64(
            &pool,
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM points_entries"
        )
        .await,
        0
    );
    assert_eq!(
        query_i64(&pool, "SELECT COUNT(*) FROM (SELECT posting_id FROM points_entries GROUP BY posting_id HAVING CAST(SUM(amount) AS BIGINT) <> 0) unbalanced").await,
        0
    );
    assert_eq!(
        query_i64(
            &pool,
            "SELECT COUNT(*) FROM points_balances WHERE balance < 0 AND account LIKE 'shopper:%'"
        )
        .await,
        0
    );
    assert_eq!(
        query_i64(
            &pool,
            "SELECT COUNT(*) FROM points_holds WHERE status = 'in_payment'"
        )
        .await,
        0
    );
    // Exactly one event per state change, each delivered.
    for (kind, n) in [
        ("payment.authorized", total),
        ("payment.captured", total),
        ("payment.refunded", PAYMENTS as i64),
    ] {
        assert_eq!(
            query_i64(
                &pool,
                &format!("SELECT COUNT(*) FROM webhook_events WHERE event_type = '{kind}'")
            )
            .await,
            n,
            "{kind} events"
        );
        assert_eq!(
            query_i64(&pool, &format!("SELECT COUNT(DISTINCT subject_id) FROM webhook_events WHERE event_type = '{kind}'")).await,
            n,
            "one {kind} event per payment"
        );
    }
    let events: HashSet<String> = sqlx::query("SELECT id FROM webhook_events")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("id"))
        .collect();
    let received: HashSet<String> = deliveries.0.lock().unwrap().iter().cloned().collect();
    assert!(
        events.is_subset(&received),
        "every event reached the merchant"
    );
    pool.close().await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the short mode stays under a minute: {:?}",
        started.elapsed()
    );
}

/// A free port on 127.0.0.1, for a wallet process.
fn free_listen() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// SIGKILL while shoppers' approvals are at the card network (the card is authorized when the
/// shopper approves): after a restart no authorization is left open at the card network, no
/// consent was approved without its authorization, and each shopper can pay the same consent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_sigkill_during_approvals_the_wallet_leaves_no_authorization_open() {
    const SHOPPERS: usize = 4;
    let mut app = spawn_app_with(|_| {}).await;
    let creds = create_merchant(&app, new_merchant("Frame Shop", true)).await;
    let client = sdk(&app, &creds).await;
    let mut consents = Vec::new();
    for i in 0..SHOPPERS {
        let shopper = shopper(&app, &format!("approving-{i}@example.com")).await;
        let (url, _) = client
            .start_checkout(&crate::helpers::frames())
            .await
            .unwrap();
        let consent = open_consent(&shopper.browser, &url).await;
        let card = offered_cards(&shopper.browser, &consent).await.remove(0);
        consents.push((shopper, consent, card));
    }
    app.stop();

    // The process's card network answers slowly, so that the kill finds every approval there.
    let listen = free_listen();
    let base = format!("http://{listen}");
    let log =
        std::env::temp_dir().join(format!("saifu-crash-approvals-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let mut wallet = start_wallet_slowed(&app, &listen, &log, 3_000);
    wait_ready(&base).await;
    let mut approvals = tokio::task::JoinSet::new();
    for (shopper, consent, card) in &mut consents {
        shopper.browser = shopper.browser.via(&listen);
        let options = shopper.begin(consent, card).await;
        let assertion =
            serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
        let form = [
            ("card_id", card.clone()),
            ("points", "0".to_string()),
            ("credential", assertion.to_string()),
            ("csrf", shopper.browser.csrf().await),
        ];
        let (http, url) = (
            shopper.browser.http.clone(),
            shopper.browser.url(&format!("{consent}/approve")),
        );
        approvals.spawn(async move {
            // Cut off by the kill: no answer comes.
            let _ = http.post(url).form(&form).send().await;
        });
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let watching = Instant::now();
    while query_i64(
        &pool,
        "SELECT COUNT(*) FROM approval_authorizations WHERE state = 'authorizing'",
    )
    .await
        < SHOPPERS as i64
    {
        assert!(
            watching.elapsed() < Duration::from_secs(20),
            "the approvals never reached the card network"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wallet.kill();
    approvals.shutdown().await;
    assert_eq!(
        query_i64(&pool, "SELECT COUNT(*) FROM auth_codes").await,
        0,
        "no approval committed before the kill"
    );

    // Restarted, the reconciler releases every authorization its approval never committed.
    let mut wallet = start_wallet(&app, &listen, &log);
    wait_ready(&base).await;
    let settle = Instant::now();
    while query_i64(
        &pool,
        "SELECT COUNT(*) FROM approval_authorizations WHERE state <> 'voided'",
    )
    .await
        > 0
    {
        assert!(
            settle.elapsed() < Duration::from_secs(30),
            "authorizations left unreleased (the wallet's log: {})",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        query_i64(
            &pool,
            "SELECT COUNT(*) FROM sim_authorizations WHERE state = 'open'"
        )
        .await,
        0,
        "nothing is held on a shopper's card"
    );
    assert_eq!(
        query_i64(
            &pool,
            "SELECT COUNT(*) FROM consents WHERE status = 'pending'"
        )
        .await,
        SHOPPERS as i64
    );

    // Each shopper pays the same consent again, on the restarted wallet.
    for (shopper, consent, card) in &mut consents {
        let options = shopper.begin(consent, card).await;
        let assertion =
            serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
        let r = shopper.approve(consent, card, &assertion).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let to = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        assert!(
            to.query_pairs().any(|(k, _)| k == "code"),
            "back to the shop with a code: {to}"
        );
    }
    assert_eq!(
        query_i64(
            &pool,
            "SELECT COUNT(*) FROM approval_authorizations WHERE state = 'approved'"
        )
        .await,
        SHOPPERS as i64
    );
    assert_eq!(
        query_i64(
            &pool,
            "SELECT COUNT(*) FROM sim_authorizations WHERE state = 'open'"
        )
        .await,
        SHOPPERS as i64,
        "one authorization held per approval, no more"
    );
    wallet.kill();
}
