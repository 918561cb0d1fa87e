//! Money operations cut off mid-way (the request dropped while the card network is working,
//! as when a client gives up or a node stops) are resumed by a retry with the same
//! Idempotency-Key or finished by the reconciler, never repeated at the processor; a pending
//! refund does not count as refunded; with processor faults every 502 is safe to retry.

use std::time::{Duration, Instant};

use saifu_sdk::checkout::MerchantCredentials;
use saifu_sdk::Error as SdkError;
use serde_json::{json, Value};

use crate::helpers::{count_rows, grant, jpy, merchant, sdk, shopper, spawn_app_with, TestApp};

/// Sends a payments-API POST and gives up on it after `after`, while the processor (slowed
/// down) is still working: the wallet drops the request mid-way.
async fn cut_off(app: &TestApp, creds: &MerchantCredentials, path: &str, key: &str, body: Value) {
    let url = app.origin().join(path).unwrap();
    let sent = reqwest::Client::new()
        .post(url)
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .header("Idempotency-Key", key)
        .timeout(Duration::from_millis(150))
        .json(&body)
        .send()
        .await;
    assert!(
        sent.as_ref().is_err_and(|e| e.is_timeout()),
        "the request was to be cut off, got {sent:?}"
    );
}

fn refund_body(amount: &str) -> Value {
    json!({ "amount": { "currency": "JPY", "amount": amount } })
}

/// Waits until `condition` holds, at most 15 s.
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !condition().await {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{what}: timed out"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A wallet whose processor takes `latency_ms` per call, with one-second leases.
async fn slow_wallet(latency_ms: u64, reconcile_every: u64) -> TestApp {
    spawn_app_with(|c| {
        c.processor_latency_ms = latency_ms;
        c.in_flight_lease_secs = 1;
        c.idempotency_lease_secs = 1;
        c.reconcile_interval_secs = reconcile_every;
    })
    .await
}

fn status(err: SdkError) -> (u16, String) {
    match err {
        SdkError::Problem { status, code, .. } => (status, code),
        other => panic!("expected a problem, got {other:?}"),
    }
}

#[tokio::test]
async fn a_payment_cut_off_at_the_processor_is_resumed_by_a_retry_with_the_same_key() {
    // The reconciler stays out of the way: only the retry can finish the payment.
    let app = slow_wallet(600, 3600).await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "resume@example.com").await;
    let g = grant(&client, &mut shopper).await;
    let effects = app.state.simulator.effects().await.unwrap();

    let body =
        json!({"grant": g, "amount": {"currency": "JPY", "amount": "12800"}, "capture": true});
    cut_off(&app, &creds, "/v1/payments", "order-1", body).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Cut off before any outcome was recorded: pending, hidden from lookups, grant spent.
    assert_eq!(
        count_rows(&app, "payments WHERE status = 'pending'").await,
        1
    );
    assert_eq!(
        count_rows(&app, "grants WHERE consumed_at IS NOT NULL").await,
        1
    );

    // Another request for the same grant is refused; the retry resumes the first.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let other = client
        .pay(&g, &jpy("12800"), true, Some("someone-else"))
        .await
        .unwrap_err();
    assert_eq!(status(other), (409, "grant_already_used".into()));
    let payment = client
        .pay(&g, &jpy("12800"), true, Some("order-1"))
        .await
        .expect("the retry finishes the payment");
    assert_eq!(
        (payment.status.as_str(), payment.captured_amount.as_str()),
        ("captured", "12800")
    );
    // One capture at the card network, whatever the cut-off saw: the payment took the
    // authorization made when the shopper approved, and asked for none.
    assert_eq!(app.state.simulator.effects().await.unwrap(), effects + 1);
    assert_eq!(
        count_rows(&app, "payments WHERE operation IS NOT NULL").await,
        0
    );
    // Replayed from now on.
    let again = client
        .pay(&g, &jpy("12800"), true, Some("order-1"))
        .await
        .unwrap();
    assert_eq!(again.id, payment.id);
    assert_eq!(app.state.simulator.effects().await.unwrap(), effects + 1);
}

#[tokio::test]
async fn the_reconciler_finishes_payments_voids_and_refunds_left_in_flight() {
    let app = slow_wallet(600, 1).await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "reconcile@example.com").await;
    let first = grant(&client, &mut shopper).await;
    let second = grant(&client, &mut shopper).await;
    let effects = app.state.simulator.effects().await.unwrap();

    // The payment takes the authorization made when the shopper approved (an approval cut
    // off around the card network is tested in `checkout::declines`).
    let id = client
        .pay(&first, &jpy("12800"), false, Some("a-1"))
        .await
        .unwrap()
        .id;

    // A capture cut off, finished by the reconciler.
    cut_off(
        &app,
        &creds,
        &format!("/v1/payments/{id}/capture"),
        "c-1",
        json!({}),
    )
    .await;
    eventually("the payment is captured", || async {
        count_rows(
            &app,
            "payments WHERE status = 'captured' AND operation IS NULL",
        )
        .await
            == 1
    })
    .await;

    // A refund cut off: pending, it is not refunded yet; then the reconciler completes it.
    cut_off(
        &app,
        &creds,
        &format!("/v1/payments/{id}/refunds"),
        "r-1",
        refund_body("1000"),
    )
    .await;
    assert_eq!(
        count_rows(&app, "refunds WHERE status = 'pending'").await,
        1
    );
    let during = client.get_payment(&id).await.unwrap();
    assert_eq!(
        during.refunded_amount, "0",
        "a pending refund is not refunded"
    );
    eventually("the refund succeeded", || async {
        count_rows(&app, "refunds WHERE status = 'succeeded'").await == 1
    })
    .await;
    assert_eq!(
        client.get_payment(&id).await.unwrap().refunded_amount,
        "1000"
    );
    // The merchant's retry of the refund answers it, and refunds nothing more.
    let retried = client
        .refund(&id, &jpy("1000"), Some("r-1"))
        .await
        .expect("the retry answers the refund it made");
    assert_eq!(retried.refunded_amount, "1000");
    assert_eq!(count_rows(&app, "refunds").await, 1);

    // A void cut off on another payment.
    let voided = client
        .pay(&second, &jpy("12800"), false, None)
        .await
        .unwrap();
    cut_off(
        &app,
        &creds,
        &format!("/v1/payments/{}/void", voided.id),
        "v-1",
        json!({}),
    )
    .await;
    eventually("the payment is voided", || async {
        count_rows(
            &app,
            "payments WHERE status = 'voided' AND operation IS NULL",
        )
        .await
            == 1
    })
    .await;

    // Capture, refund, void: each once at the card network.
    assert_eq!(app.state.simulator.effects().await.unwrap(), effects + 3);
    assert_eq!(
        count_rows(&app, "payments WHERE operation IS NOT NULL").await,
        0
    );
    assert_eq!(
        count_rows(&app, "payments WHERE refunding_minor <> 0").await,
        0
    );
}

#[tokio::test]
async fn with_processor_faults_every_502_is_safe_to_retry_and_nothing_is_charged_twice() {
    let app = spawn_app_with(|c| c.processor_latency_ms = 5).await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "faults@example.com").await;
    let mut grants = Vec::new();
    for _ in 0..12 {
        grants.push(grant(&client, &mut shopper).await);
    }
    let effects = app.state.simulator.effects().await.unwrap();
    app.state.simulator.set_fault_rate(0.3);

    let mut failures = 0;
    let client = std::sync::Arc::new(client);
    let mut runs = tokio::task::JoinSet::new();
    for (i, g) in grants.into_iter().enumerate() {
        let client = client.clone();
        runs.spawn(async move {
            let mut failures = 0;
            let mut retry = |err: SdkError| {
                let (status, code) = status(err);
                assert_eq!((status, code.as_str()), (502, "processor_error"));
                failures += 1;
            };
            let key = format!("pay-{i}");
            let payment = loop {
                match client.pay(&g, &jpy("12800"), false, Some(&key)).await {
                    Ok(p) => break p,
                    Err(e) => retry(e),
                }
            };
            let key = format!("capture-{i}");
            loop {
                match client.capture(&payment.id, None, Some(&key)).await {
                    Ok(_) => break,
                    Err(e) => retry(e),
                }
            }
            let key = format!("refund-{i}");
            loop {
                match client.refund(&payment.id, &jpy("2800"), Some(&key)).await {
                    Ok(p) => break assert_eq!(p.refunded_amount, "2800"),
                    Err(e) => retry(e),
                }
            }
            failures
        });
    }
    while let Some(f) = runs.join_next().await {
        failures += f.expect("a payment run");
    }
    app.state.simulator.set_fault_rate(0.0);
    assert!(failures > 0, "with a fault rate of 0.3, some calls failed");
    // Exactly 12 captures and refunds took effect, however many 502s (each payment took the
    // authorization made when the shopper approved).
    assert_eq!(app.state.simulator.effects().await.unwrap(), effects + 24);
    assert_eq!(count_rows(&app, "sim_captures").await, 12);
    assert_eq!(
        count_rows(&app, "sim_captures WHERE refunded_minor = 2800").await,
        12
    );
    assert_eq!(
        count_rows(
            &app,
            "payments WHERE status = 'captured' AND captured_minor = 12800 AND refunded_minor = 2800"
        )
        .await,
        12
    );
    assert_eq!(
        count_rows(&app, "refunds WHERE status = 'succeeded'").await,
        12
    );
}
