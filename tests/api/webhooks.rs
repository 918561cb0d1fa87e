//! Signed webhooks end to end: a real receiver on port 0, events written with the payment
//! changes, Standard Webhooks signatures checked by the independent npm `standardwebhooks`
//! library and by the SDK, retries, 410, restarts, rotation and refused targets.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use saifu::config::Config;
use saifu::merchants::NewMerchant;
use saifu_sdk::checkout::{Amount, MerchantCredentials};
use saifu_sdk::webhooks::{verify_webhook, verify_webhook_at, WebhookError, WebhookSecret};
use saifu_sdk::SaifuClient;
use serde_json::{json, Value};
use url::Url;

use crate::helpers::{
    create_merchant, new_merchant, paid, saifu_command, sdk, shopper, spawn_app_with, spawn_node,
    Shopper, TestApp, CALLBACK,
};

/// What the receiver answers.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// Never answers (the wallet's request times out, or the wallet dies first).
    Hang,
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    headers: HeaderMap,
    body: String,
}

impl Received {
    fn event(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    fn event_type(&self) -> String {
        self.event()["type"].as_str().unwrap().to_string()
    }
}

#[derive(Clone, Default)]
struct Receiver {
    url: String,
    log: Arc<Mutex<Vec<Received>>>,
    /// Answers per attempt of the same event id: the n-th request for an id gets the n-th
    /// answer; later ones get the last.
    script: Arc<Mutex<Vec<Answer>>>,
}

impl Receiver {
    async fn start(script: Vec<Answer>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            url: format!(
                "http://127.0.0.1:{}/hooks",
                listener.local_addr().unwrap().port()
            ),
            log: Arc::default(),
            script: Arc::new(Mutex::new(script)),
        };
        let app = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    fn answer_with(&self, script: Vec<Answer>) {
        *self.script.lock().unwrap() = script;
    }

    fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} webhook requests, got {}: {:?}",
                got.len(),
                got.iter().map(Received::event_type).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Requests carrying event type `kind`.
    fn of_type(&self, kind: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.event_type() == kind)
            .collect()
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let received = Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        headers: headers.clone(),
        body: String::from_utf8(body.to_vec()).unwrap(),
    };
    let answer = {
        let mut log = receiver.log.lock().unwrap();
        let nth = log.iter().filter(|r| r.id == received.id).count();
        log.push(received);
        let script = receiver.script.lock().unwrap();
        script
            .get(nth)
            .or(script.last())
            .copied()
            .unwrap_or(Answer::Status(204))
    };
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap(),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK
        }
    }
}

/// Verifies a delivery with the npm `standardwebhooks` library, installed on first use into
/// `tests/webhook-verifier` from its lock file. Returns the parsed event, or the library's error.
fn independently_verified(secret: &str, r: &Received) -> Result<Value, String> {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhook-verifier");
    INSTALLED.get_or_init(|| {
        if !dir.join("node_modules/standardwebhooks").exists() {
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .output()
                .expect("npm (Node.js) is needed to verify webhooks with an independent library");
            assert!(
                out.status.success(),
                "npm ci in tests/webhook-verifier failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
    let input = json!({
        "secret": secret,
        "headers": {
            "webhook-id": r.id,
            "webhook-timestamp": r.timestamp,
            "webhook-signature": r.signature,
        },
        "body": r.body,
    });
    let mut child = Command::new("node")
        .arg("verify.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let answer: Value = serde_json::from_slice(&out.stdout).expect("verifier output");
    if answer["ok"] == true && out.status.success() {
        Ok(answer["event"].clone())
    } else {
        Err(answer["error"].as_str().unwrap_or("?").to_string())
    }
}

/// A wallet whose webhooks retry quickly, for tests.
async fn wallet(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(|c| {
        c.webhook_retry_schedule = "0ms,150ms,150ms,150ms".into();
        c.webhook_poll_ms = 50;
        c.webhook_timeout_secs = 5;
        adjust(c);
    })
    .await
}

async fn hooked_merchant(app: &TestApp, url: &str) -> MerchantCredentials {
    named_hooked_merchant(app, "Hook Shop", url).await
}

async fn named_hooked_merchant(app: &TestApp, name: &str, url: &str) -> MerchantCredentials {
    let merchant = NewMerchant {
        webhook_url: Some(Url::parse(url).unwrap()),
        domain: Some("hook-shop.example".into()),
        ..new_merchant(name, true)
    };
    create_merchant(app, merchant).await
}

struct Shop {
    app: TestApp,
    creds: MerchantCredentials,
    client: SaifuClient,
    shopper: Shopper,
    receiver: Receiver,
}

async fn shop(script: Vec<Answer>, adjust: impl FnOnce(&mut Config)) -> Shop {
    let receiver = Receiver::start(script).await;
    let app = wallet(adjust).await;
    let creds = hooked_merchant(&app, &receiver.url).await;
    let client = sdk(&app, &creds).await;
    let shopper = shopper(&app, "hooks@example.com").await;
    Shop {
        app,
        creds,
        client,
        shopper,
        receiver,
    }
}

fn jpy(amount: &str) -> Amount {
    Amount {
        currency: "JPY".into(),
        amount: amount.into(),
    }
}

impl Shop {
    async fn grant(&mut self) -> String {
        let (callback, pending) = paid(&self.client, &mut self.shopper).await;
        self.client
            .complete_checkout(&callback, &pending)
            .await
            .unwrap()
            .token
    }

    /// A new checkout paid with the Visa card: ¥12,800, captured at once or only authorized.
    async fn pay(&mut self, capture: bool) -> saifu_sdk::Payment {
        let grant = self.grant().await;
        self.client
            .pay(&grant, &jpy("12800"), capture, None)
            .await
            .unwrap()
    }

    fn secret(&self) -> WebhookSecret {
        WebhookSecret::parse(&self.creds.webhook_secret).unwrap()
    }

    /// Runs the `saifu` CLI on the shop's wallet, off the test's runtime (the receiver runs
    /// on it and may have to answer the CLI's request).
    async fn saifu(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = saifu_command();
        cmd.args(args)
            .env("SAIFU_DATA_DIR", self.app.data_dir())
            .env("SAIFU_DATABASE_URL", &self.app.database_url);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }
}

async fn outbox_of(app: &TestApp, payment_id: &str) -> Vec<saifu::store::webhooks::EventSummary> {
    app.state
        .store
        .webhook_events_about(payment_id)
        .await
        .unwrap()
}

/// Waits until every event about the payment has left `pending`.
async fn settled(app: &TestApp, payment_id: &str) -> Vec<saifu::store::webhooks::EventSummary> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = outbox_of(app, payment_id).await;
        if !events.is_empty() && events.iter().all(|e| e.state != "pending") {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "events still pending: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_pay_and_capture_sends_the_payment_as_authorized_then_as_captured() {
    let mut s = shop(vec![], |_| {}).await;
    // An authorization on its own shows what the authorized event of a capture must carry.
    let alone = s.pay(false).await;
    let captured = s.pay(true).await;
    assert_eq!(captured.status, "captured");
    s.receiver.wait_for(3).await;
    let events = settled(&s.app, &captured.id).await;
    assert_eq!(
        events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        ["payment.authorized", "payment.captured"]
    );
    let data_of = |kind: &str| -> saifu_sdk::Payment {
        let about: Vec<Value> = s
            .receiver
            .of_type(kind)
            .iter()
            .map(|r| r.event()["data"].clone())
            .filter(|d| d["id"] == captured.id.as_str())
            .collect();
        assert_eq!(about.len(), 1, "one {kind} about the payment");
        serde_json::from_value(about[0].clone()).unwrap()
    };
    assert_eq!(
        data_of("payment.authorized"),
        saifu_sdk::Payment {
            id: captured.id.clone(),
            created_at: captured.created_at.clone(),
            ..alone
        }
    );
    assert_eq!(data_of("payment.captured"), captured);
}

#[tokio::test]
async fn a_capture_sends_one_signed_payment_captured_event_that_an_independent_library_verifies() {
    let mut s = shop(vec![], |_| {}).await;
    let authorized = s.pay(false).await;
    let captured = s.client.capture(&authorized.id, None, None).await.unwrap();
    assert_eq!(captured.status, "captured");

    let got = s.receiver.wait_for(2).await;
    let events = settled(&s.app, &captured.id).await;
    assert_eq!(
        events
            .iter()
            .map(|e| (e.event_type.as_str(), e.state.as_str(), e.attempts))
            .collect::<Vec<_>>(),
        [
            ("payment.authorized", "delivered", 1),
            ("payment.captured", "delivered", 1)
        ]
    );
    let captures = s.receiver.of_type("payment.captured");
    assert_eq!(captures.len(), 1, "exactly one payment.captured: {got:?}");
    let delivery = &captures[0];
    assert!(delivery.id.starts_with("evt_"));
    assert_eq!(delivery.id, events[1].id);
    assert_eq!(
        delivery.headers["content-type"].to_str().unwrap(),
        "application/json"
    );

    // The independent Standard Webhooks library accepts it, and reads the payment.
    let event = independently_verified(&s.creds.webhook_secret, delivery).unwrap();
    assert_eq!(event["id"], delivery.id.as_str());
    assert_eq!(event["type"], "payment.captured");
    assert_eq!(event["data"]["id"], captured.id.as_str());
    assert_eq!(event["data"]["status"], "captured");
    assert_eq!(event["data"]["captured_amount"], "12800");
    assert_eq!(event["data"]["order_reference"], "A-1001");
    assert_eq!(event["data"]["card"]["last4"], "4242");
    assert!(event["timestamp"].as_str().unwrap().ends_with('Z'));
    // … and refuses it with another secret or a changed body.
    let other = WebhookSecret::generate().expose();
    assert!(independently_verified(&other, delivery).is_err());
    let mut tampered = delivery.clone();
    tampered.body = tampered.body.replace("12800", "1");
    assert!(independently_verified(&s.creds.webhook_secret, &tampered).is_err());

    // The SDK agrees: the event and its payment, and the same refusals.
    let secret = [s.secret()];
    let verified = verify_webhook(&delivery.headers, delivery.body.as_bytes(), &secret).unwrap();
    assert_eq!(verified.payment().unwrap(), captured);
    assert!(matches!(
        verify_webhook(&delivery.headers, tampered.body.as_bytes(), &secret),
        Err(WebhookError::NoMatchingSignature)
    ));
    assert!(matches!(
        verify_webhook(
            &delivery.headers,
            delivery.body.as_bytes(),
            &[WebhookSecret::generate()]
        ),
        Err(WebhookError::NoMatchingSignature)
    ));
    let later = delivery.timestamp.parse::<i64>().unwrap() + 6 * 60;
    assert!(matches!(
        verify_webhook_at(&delivery.headers, delivery.body.as_bytes(), &secret, later),
        Err(WebhookError::TimestampOutOfTolerance)
    ));
}

#[tokio::test]
async fn every_payment_change_is_announced_once() {
    let mut s = shop(vec![], |_| {}).await;
    let voided = s.pay(false).await;
    s.client.void(&voided.id, None).await.unwrap();
    let refunded = s.pay(true).await;
    s.client
        .refund(&refunded.id, &jpy("800"), None)
        .await
        .unwrap();
    let last = s
        .client
        .refund(&refunded.id, &jpy("12000"), None)
        .await
        .unwrap();
    // A declined change is not an event: a second void is refused and announces nothing.
    assert!(s.client.void(&voided.id, None).await.is_err());

    s.receiver.wait_for(6).await;
    let types = |id: &str| {
        let mut v: Vec<String> = s
            .receiver
            .received()
            .iter()
            .filter(|r| r.event()["data"]["id"] == id)
            .map(Received::event_type)
            .collect();
        v.sort();
        v
    };
    assert_eq!(types(&voided.id), ["payment.authorized", "payment.voided"]);
    assert_eq!(
        types(&refunded.id),
        [
            "payment.authorized",
            "payment.captured",
            "payment.refunded",
            "payment.refunded"
        ]
    );
    let refunds = s.receiver.of_type("payment.refunded");
    let amounts: Vec<_> = refunds
        .iter()
        .map(|r| {
            r.event()["data"]["refunded_amount"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(amounts.contains(&"800".to_string()) && amounts.contains(&"12800".to_string()));
    assert_eq!(last.refunded_amount, "12800");
    // Every delivery verifies, and ids are unique.
    let all = s.receiver.received();
    let mut ids: Vec<_> = all.iter().map(|r| r.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 6);
    for r in &all {
        verify_webhook(&r.headers, r.body.as_bytes(), &[s.secret()]).unwrap();
    }
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_three_attempts_of_the_same_event() {
    let mut s = shop(
        vec![
            Answer::Status(500),
            Answer::Status(500),
            Answer::Status(200),
        ],
        |_| {},
    )
    .await;
    let paid = s.pay(true).await;
    let events = settled(&s.app, &paid.id).await;
    let captured = events
        .iter()
        .find(|e| e.event_type == "payment.captured")
        .unwrap();
    assert_eq!(
        (captured.state.as_str(), captured.attempts),
        ("delivered", 3)
    );
    let requests = s.receiver.of_type("payment.captured");
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.id == captured.id), "one event id");
    assert!(
        requests.iter().all(|r| r.body == requests[0].body),
        "the same body"
    );
    for r in &requests {
        independently_verified(&s.creds.webhook_secret, r).unwrap();
    }
    let attempts = s
        .app
        .state
        .store
        .webhook_attempts(&captured.id)
        .await
        .unwrap();
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        [Some(500), Some(500), Some(200)]
    );
    // The retries waited for the schedule (150 ms, ±10 %).
    for pair in attempts.windows(2) {
        assert!(
            pair[1].at_ms - pair[0].at_ms >= 130,
            "{:?}",
            (pair[0].at_ms, pair[1].at_ms)
        );
    }
    // The endpoint stays enabled.
    let overview = s
        .app
        .state
        .webhooks
        .overview(&s.creds.client_id, 10)
        .await
        .unwrap();
    assert_eq!(overview.disabled_at, None);
}

#[tokio::test]
async fn a_410_disables_the_endpoint_until_an_issuer_enables_it() {
    let mut s = shop(vec![Answer::Status(410)], |_| {}).await;
    let first = s.pay(false).await;
    let events = settled(&s.app, &first.id).await;
    assert_eq!(
        (
            events[0].state.as_str(),
            events[0].attempts,
            events[0].last_status
        ),
        ("failed", 1, Some(410))
    );
    let overview = s
        .app
        .state
        .webhooks
        .overview(&s.creds.client_id, 10)
        .await
        .unwrap();
    assert!(overview.disabled_at.is_some());
    assert!(overview.disabled_reason.unwrap().contains("410"));

    // Later events wait in the outbox; nothing is sent to a disabled endpoint.
    s.client.capture(&first.id, None, None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.receiver.received().len(), 1);
    let waiting = outbox_of(&s.app, &first.id).await;
    assert_eq!(waiting[1].state, "pending");
    assert_eq!(waiting[1].attempts, 0);

    // The CLI shows it, and enabling delivers what waited.
    let list = s
        .saifu(&["webhooks", "list", "--merchant", &s.creds.client_id])
        .await;
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert!(text.contains("DISABLED") && text.contains("410"), "{text}");
    assert!(
        text.contains(&waiting[1].id) && text.contains("pending"),
        "{text}"
    );
    s.receiver.answer_with(vec![Answer::Status(200)]);
    let enabled = s
        .saifu(&["webhooks", "enable", "--merchant", &s.creds.client_id])
        .await;
    assert!(enabled.status.success());
    let received = s.receiver.wait_for(2).await;
    assert_eq!(received[1].id, waiting[1].id);

    // An issuer's retry sends a failed event again, now.
    let retried = s.saifu(&["webhooks", "retry", &events[0].id]).await;
    let text = String::from_utf8_lossy(&retried.stdout);
    assert!(
        retried.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&retried.stderr)
    );
    assert!(
        text.contains("answered 200") && text.contains("delivered"),
        "{text}"
    );
    assert_eq!(s.receiver.received()[2].id, events[0].id);
    let unknown = s.saifu(&["webhooks", "retry", "evt_unknown"]).await;
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("No webhook event has this id"));

    // The audit log has the enabling and the retry, once each, and nothing for the unknown event.
    let audited = |action: &str, target: &str| {
        format!("audit_log WHERE actor = 'cli' AND action = '{action}' AND target = '{target}'")
    };
    for (action, target, n) in [
        ("webhook.endpoint_enabled", s.creds.client_id.as_str(), 1),
        ("webhook.event_retried", events[0].id.as_str(), 1),
        ("webhook.event_retried", "evt_unknown", 0),
    ] {
        assert_eq!(
            crate::helpers::count_rows(&s.app, &audited(action, target)).await,
            n,
            "{action} {target}"
        );
    }
}

#[tokio::test]
async fn the_last_failed_attempt_disables_the_endpoint() {
    let mut s = shop(vec![Answer::Status(503)], |c| {
        c.webhook_retry_schedule = "0ms,100ms".into();
    })
    .await;
    let paid = s.pay(false).await;
    let events = settled(&s.app, &paid.id).await;
    assert_eq!(
        (events[0].state.as_str(), events[0].attempts),
        ("failed", 2)
    );
    let overview = s
        .app
        .state
        .webhooks
        .overview(&s.creds.client_id, 10)
        .await
        .unwrap();
    assert_eq!(
        overview.disabled_reason.as_deref(),
        Some("no 2xx answer after 2 attempts")
    );
}

#[tokio::test]
async fn two_nodes_deliver_each_event_once() {
    let mut s = shop(vec![], |_| {}).await;
    let other = spawn_node(&s.app, |_| {}).await;
    let paid = s.pay(true).await;
    for _ in 0..20 {
        s.client.refund(&paid.id, &jpy("10"), None).await.unwrap();
    }
    let received = s.receiver.wait_for(22).await;
    settled(&s.app, &paid.id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in s.receiver.received() {
        *per_id.entry(r.id).or_default() += 1;
    }
    assert_eq!(per_id.len(), 22, "{received:?}");
    assert!(per_id.values().all(|n| *n == 1), "{per_id:?}");
    drop(other);
}

#[tokio::test]
async fn a_slow_endpoint_does_not_hold_up_other_merchants_events() {
    let mut s = shop(vec![Answer::Hang], |c| c.webhook_timeout_secs = 10).await;
    let fast = Receiver::start(vec![]).await;
    let other = named_hooked_merchant(&s.app, "Fast Shop", &fast.url).await;
    let other_client = sdk(&s.app, &other).await;

    s.pay(false).await;
    s.receiver.wait_for(1).await; // the slow endpoint holds this delivery for 10 s

    let (callback, pending) = paid(&other_client, &mut s.shopper).await;
    let grant = other_client
        .complete_checkout(&callback, &pending)
        .await
        .unwrap()
        .token;
    let started = Instant::now();
    other_client
        .pay(&grant, &jpy("12800"), false, None)
        .await
        .unwrap();
    fast.wait_for(1).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the other merchant's event waited {:?}",
        started.elapsed()
    );
}

/// Starts `saifu serve` on the shop's database and keys, delivering webhooks.
fn serve_process(s: &Shop, timeout_secs: u64) -> Child {
    let mut cmd = saifu_command();
    cmd.arg("serve")
        .env("SAIFU_DATA_DIR", s.app.data_dir())
        .env("SAIFU_DATABASE_URL", &s.app.database_url)
        .env("SAIFU_LISTEN", "127.0.0.1:0")
        .env("SAIFU_WEBHOOK_POLL_MS", "50")
        .env("SAIFU_WEBHOOK_TIMEOUT_SECS", timeout_secs.to_string())
        .env("SAIFU_WEBHOOK_RETRY_SCHEDULE", "0ms,150ms,150ms")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn events_committed_before_a_crash_are_delivered_after_the_restart() {
    // A wallet that commits the payment but delivers nothing (its worker is off) …
    let mut s = shop(vec![Answer::Hang, Answer::Status(200)], |c| {
        c.webhook_worker = false;
    })
    .await;
    let paid = s.pay(true).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.receiver.received().is_empty());
    let pending = outbox_of(&s.app, &paid.id).await;
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|e| e.state == "pending"));

    // … then a node that is killed (SIGKILL) in the middle of delivering them …
    let mut killed = serve_process(&s, 2);
    s.receiver.wait_for(2).await;
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(outbox_of(&s.app, &paid.id)
        .await
        .iter()
        .all(|e| e.state == "pending"));

    // … and the restarted node delivers both, with the same ids, once their leases lapse.
    let mut restarted = serve_process(&s, 2);
    let events = settled(&s.app, &paid.id).await;
    restarted.kill().unwrap();
    restarted.wait().unwrap();
    assert!(events.iter().all(|e| e.state == "delivered"), "{events:?}");
    let received = s.receiver.received();
    assert_eq!(received.len(), 4, "two hung attempts, then two deliveries");
    for e in &events {
        let copies: Vec<_> = received.iter().filter(|r| r.id == e.id).collect();
        assert_eq!(copies.len(), 2);
        independently_verified(&s.creds.webhook_secret, copies[1]).unwrap();
    }
}

#[tokio::test]
async fn during_a_secret_rotation_both_signatures_are_sent_and_each_verifies_alone() {
    let mut s = shop(vec![], |_| {}).await;
    let old = s.creds.webhook_secret.clone();
    let rotated = s
        .saifu(&[
            "merchant",
            "rotate-webhook-secret",
            "--client-id",
            &s.creds.client_id,
            "--json",
        ])
        .await;
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let out: Value = serde_json::from_slice(&rotated.stdout).unwrap();
    let new = out["webhook_secret"].as_str().unwrap().to_string();
    assert!(new.starts_with("whsec_") && new != old);
    // Re-wrapping every key under a new KEK version keeps both secrets usable.
    let keys = s.saifu(&["keys", "rotate"]).await;
    assert!(
        keys.status.success(),
        "{}",
        String::from_utf8_lossy(&keys.stderr)
    );

    s.pay(false).await;
    let delivery = s.receiver.wait_for(1).await.remove(0);
    let signatures: Vec<_> = delivery.signature.split(' ').collect();
    assert_eq!(signatures.len(), 2, "{}", delivery.signature);
    assert!(signatures.iter().all(|v| v.starts_with("v1,")));
    independently_verified(&old, &delivery).unwrap();
    independently_verified(&new, &delivery).unwrap();
    for secret in [&old, &new] {
        verify_webhook(
            &delivery.headers,
            delivery.body.as_bytes(),
            &[WebhookSecret::parse(secret).unwrap()],
        )
        .unwrap();
    }

    // A rotation without overlap: only the newest secret signs.
    let rotated = s
        .saifu(&[
            "merchant",
            "rotate-webhook-secret",
            "--client-id",
            &s.creds.client_id,
            "--overlap-secs",
            "0",
            "--json",
        ])
        .await;
    assert!(rotated.status.success());
    let newest = serde_json::from_slice::<Value>(&rotated.stdout).unwrap()["webhook_secret"]
        .as_str()
        .unwrap()
        .to_string();
    s.pay(false).await;
    let delivery = s.receiver.wait_for(2).await.remove(1);
    assert_eq!(delivery.signature.split(' ').count(), 1);
    independently_verified(&newest, &delivery).unwrap();
    assert!(independently_verified(&new, &delivery).is_err());
    assert!(independently_verified(&old, &delivery).is_err());
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed_and_other_schemes_never() {
    let mut s = shop(vec![], |c| {
        c.webhook_allow_private_targets = Some(false);
        c.webhook_retry_schedule = "0ms".into();
    })
    .await;
    let paid = s.pay(false).await;
    let events = settled(&s.app, &paid.id).await;
    assert_eq!(events[0].state, "failed");
    let error = events[0].last_error.clone().unwrap();
    assert!(
        error.contains("target refused") && error.contains("127.0.0.1"),
        "{error}"
    );
    assert_eq!(events[0].last_status, None);
    assert!(
        s.receiver.received().is_empty(),
        "nothing reached the private address"
    );

    for bad in [
        "ftp://hooks.example/in",
        "file:///etc/passwd",
        "gopher://hooks.example/",
    ] {
        let created = s
            .saifu(&[
                "merchant",
                "create",
                "--name",
                "Bad Hooks",
                "--redirect-uri",
                CALLBACK,
                "--webhook-url",
                bad,
            ])
            .await;
        assert!(!created.status.success(), "{bad}");
        assert!(
            String::from_utf8_lossy(&created.stderr).contains("must use http or https"),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        let set = s
            .saifu(&[
                "merchant",
                "set-webhook-url",
                "--client-id",
                &s.creds.client_id,
                "--url",
                bad,
            ])
            .await;
        assert!(!set.status.success(), "{bad}");
    }
}
