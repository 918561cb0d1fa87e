//! A webhook receiver on 127.0.0.1:0 for tests that follow events end to end: it answers 204
//! and keeps every delivery's headers and raw body.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

/// One delivery as received.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Delivery {
    pub fn event_type(&self) -> String {
        let event: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        event["type"].as_str().unwrap_or_default().to_string()
    }
}

#[derive(Clone, Default)]
pub struct HookReceiver {
    pub url: String,
    log: Arc<Mutex<Vec<Delivery>>>,
}

impl HookReceiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = HookReceiver {
            url: format!(
                "http://127.0.0.1:{}/hooks",
                listener.local_addr().unwrap().port()
            ),
            log: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    /// Deliveries of event type `kind` so far.
    pub fn of_type(&self, kind: &str) -> Vec<Delivery> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.event_type() == kind)
            .cloned()
            .collect()
    }

    /// Waits (up to 20 s) until `n` deliveries of `kind` arrived.
    pub async fn wait_for(&self, kind: &str, n: usize) -> Vec<Delivery> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.of_type(kind);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} {kind} deliveries, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn receive(
    State(receiver): State<HookReceiver>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    receiver.log.lock().unwrap().push(Delivery {
        headers,
        body: body.to_vec(),
    });
    StatusCode::NO_CONTENT
}
