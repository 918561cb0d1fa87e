//! Group commit on SQLite's one writer, seen from outside: payments made at once by many
//! merchants' requests are batched into shared commits, and a process killed with SIGKILL in
//! the middle of them has kept every payment it acknowledged (a payment's answer is sent only
//! after its batch is committed). On PostgreSQL, where each transaction commits on its own,
//! the same holds.

use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Row;

use crate::helpers::{create_merchant, new_merchant, paid, sdk, shopper, spawn_app};

/// Payments sent at once.
const PAYMENTS: usize = 16;

/// A wallet process, killed with SIGKILL when dropped (also when the test fails).
struct Wallet(Child);

impl Drop for Wallet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_batch_the_wallet_keeps_every_acknowledged_payment() {
    // Grants are made by an in-process node, which then stops: the process below is alone.
    let mut app = spawn_app().await;
    let creds = create_merchant(&app, new_merchant("Batch Shop", true)).await;
    let client = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "batch@example.com").await;
    let mut grants = Vec::new();
    for _ in 0..PAYMENTS {
        let (callback, pending) = paid(&client, &mut shopper).await;
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
    let base = format!("http://127.0.0.1:{port}");
    let mut wallet = Wallet(
        app.cli()
            .env("SAIFU_ISSUER", app.base.as_str())
            .env("SAIFU_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the saifu binary"),
    );
    let start = Instant::now();
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(start.elapsed() < Duration::from_secs(20), "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Every payment at once; the ids of those answered 201 are noted as the answers arrive.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut load = tokio::task::JoinSet::new();
    for (i, grant) in grants.into_iter().enumerate() {
        let (base, creds, acknowledged) = (base.clone(), creds.clone(), acknowledged.clone());
        load.spawn(async move {
            let body = json!({"grant": grant, "amount": {"currency": "JPY", "amount": "12800"}, "capture": true});
            let sent = reqwest::Client::new()
                .post(format!("{base}/v1/payments"))
                .basic_auth(&creds.client_id, Some(&creds.client_secret))
                .header("Idempotency-Key", format!("batch-{i}"))
                .json(&body)
                .send()
                .await;
            if let Ok(response) = sent {
                if response.status().is_success() {
                    let answer: serde_json::Value = response.json().await.unwrap();
                    let id = answer["id"].as_str().expect("a payment id").to_string();
                    acknowledged.lock().unwrap().push(id);
                }
            }
        });
    }
    // SIGKILL as soon as some are acknowledged, while the others are still being written.
    let watching = Instant::now();
    while acknowledged.lock().unwrap().len() < PAYMENTS / 4 {
        assert!(
            watching.elapsed() < Duration::from_secs(60),
            "no payment was acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = wallet.0.kill();
    let _ = wallet.0.wait();
    let acked = acknowledged.lock().unwrap().clone();
    load.abort_all();
    while load.join_next().await.is_some() {}

    // Every acknowledged payment is there, captured, with its ledger entries.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    for id in &acked {
        let row = sqlx::query("SELECT status FROM payments WHERE id = $1")
            .bind(id)
            .fetch_optional(&pool)
            .await
            .unwrap();
        let status = row.map(|r| r.get::<String, _>("status"));
        assert_eq!(
            status.as_deref(),
            Some("captured"),
            "payment {id} was acknowledged but is not in the database as captured"
        );
    }
    let stored: i64 = sqlx::query("SELECT COUNT(*) FROM payments")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    assert!(stored as usize >= acked.len());
    assert!(
        stored as usize <= PAYMENTS,
        "no payment was written twice: {stored}"
    );
}
