//! Signed webhooks (Standard Webhooks): events are written to the outbox in the same
//! transaction as the payment change they announce, and a worker in every node delivers them
//! at least once, signed with the merchant's secret (and the previous one while a rotation's
//! overlap lasts), retrying on the published schedule.

pub mod target;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::Rng;
use saifu_sdk::webhooks::{
    signature_header, Event, EventType, WebhookSecret, WEBHOOK_ID, WEBHOOK_SIGNATURE,
    WEBHOOK_TIMESTAMP,
};
use tokio::sync::Notify;

use crate::domain::accounts::random_token;
use crate::error::{Error, Kind, Result};
use crate::store::payments::{PaymentEvent, StoredPayment};
use crate::store::webhooks::{AfterAttempt, Attempt, ClaimedEvent, EventSummary};
use crate::store::Store;
use crate::store::WrappedTable;
use crate::vault::keys::{DataKey, KeyEncryptionKey, WrappedKey};
use crate::vault::wrap_context;
use target::{resolve_target, PinnedTarget};

/// The retry schedule DESIGN.md publishes: the delay before each attempt.
pub const DEFAULT_SCHEDULE: &str = "0s,5s,5m,30m,2h,5h,10h,14h,20h,24h";

/// Deliveries one node runs at once.
const IN_FLIGHT: usize = 16;
/// Deliveries and their events are kept this long after they end.
pub const RETENTION_SECS: i64 = 30 * 24 * 60 * 60;

/// Delays before each attempt, parsed from `0s,5s,5m,…` (units ms, s, m, h).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule(Vec<Duration>);

impl Schedule {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let delays = text
            .split(',')
            .map(|part| parse_duration(part.trim()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(
            !delays.is_empty() && delays.len() <= 50,
            "a webhook retry schedule has 1 to 50 delays"
        );
        Ok(Self(delays))
    }

    pub fn attempts(&self) -> usize {
        self.0.len()
    }

    /// The delay before attempt number `done + 1`, after `done` attempts, with up to ±10 %
    /// jitter so that retries of many events spread out. `None` when none are left.
    pub fn delay_after(&self, done: usize) -> Option<Duration> {
        let base = *self.0.get(done)?;
        if base.is_zero() {
            return Some(base);
        }
        let jitter = rand::thread_rng().gen_range(0.9..=1.1);
        Some(base.mul_f64(jitter))
    }
}

fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| anyhow::anyhow!("{text:?} needs a unit: ms, s, m or h"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("{text:?} is not a duration such as 5s or 30m"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => anyhow::bail!("{text:?}: the unit must be ms, s, m or h"),
    })
}

/// Delivery settings, from configuration.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    pub schedule: Schedule,
    pub allow_private_targets: bool,
    pub timeout: Duration,
    pub poll: Duration,
    /// How long the previous secret keeps signing after a rotation.
    pub secret_overlap: Duration,
}

/// The outcome of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub attempt: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// `delivered`, `pending` (another attempt is scheduled) or `failed`.
    pub state: &'static str,
}

#[derive(Clone)]
pub struct Webhooks {
    store: Store,
    kek: Arc<dyn KeyEncryptionKey>,
    settings: Arc<WebhookSettings>,
    wake: Arc<Notify>,
}

impl Webhooks {
    pub fn new(store: Store, kek: Arc<dyn KeyEncryptionKey>, settings: WebhookSettings) -> Self {
        Self {
            store,
            kek,
            settings: Arc::new(settings),
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.settings
    }

    /// An event of `kind` about a payment, for the store to write with the change.
    pub fn payment_event(kind: EventType) -> Result<PaymentEvent> {
        Ok(PaymentEvent {
            // Time-ordered, so that listing by id lists in the order events were written.
            id: format!("evt_{:012x}{}", now_ms(), &random_token()?[..16]),
            event_type: kind.as_str(),
            render: |p, id, kind, now| Ok(render_payment_event(p, id, kind, now)?),
        })
    }

    /// Tells this node's worker that events were just written, so it need not wait for its
    /// next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Delivers due events until the task is aborted. Every node runs one; the outbox lease
    /// keeps them from sending the same attempt twice. Up to `IN_FLIGHT` deliveries run at
    /// once, and a free slot is refilled as soon as one ends, so a slow endpoint (15 s
    /// timeouts) holds up only its own slots, never a whole round.
    pub async fn run_worker(self) {
        tracing::info!(
            attempts = self.settings.schedule.attempts(),
            allow_private_targets = self.settings.allow_private_targets,
            "webhook delivery worker started"
        );
        let mut in_flight = tokio::task::JoinSet::new();
        loop {
            let room = IN_FLIGHT - in_flight.len();
            if room > 0 {
                match self.claim(room).await {
                    Ok((token, events)) => {
                        for event in events {
                            let this = self.clone();
                            let token = token.clone();
                            in_flight
                                .spawn(async move { this.attempt(event, &token, false).await });
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "claiming webhook events failed"),
                }
            }
            tokio::select! {
                Some(done) = in_flight.join_next(), if !in_flight.is_empty() => match done {
                    Ok(Ok(_)) => {}
                    Ok(Err(err)) => tracing::warn!(error = %err, "recording a webhook attempt failed"),
                    Err(err) => tracing::warn!(error = %err, "a webhook delivery task failed"),
                },
                _ = self.wake.notified() => {},
                _ = tokio::time::sleep(self.settings.poll) => {},
            }
        }
    }

    /// Claims up to `limit` due events under one lease token.
    async fn claim(&self, limit: usize) -> Result<(String, Vec<ClaimedEvent>)> {
        let token = random_token()?;
        let events = self
            .store
            .claim_due_events(&token, now_ms(), self.lease_ms(), limit as i64)
            .await?;
        Ok((token, events))
    }

    /// An issuer's retry: one attempt at the event now, whatever its state, schedule, or the
    /// endpoint's state. A failure does not disable the endpoint.
    pub async fn retry_now(&self, event_id: &str) -> Result<Delivery> {
        let token = random_token()?;
        match self
            .store
            .claim_event(event_id, &token, now_ms(), self.lease_ms())
            .await?
        {
            Some(event) => self.attempt(event, &token, true).await,
            None if self.store.webhook_event_exists(event_id).await? => Err(Error::conflict(
                "webhook_event_busy",
                "A worker is delivering this event right now; try again in a moment.",
            )),
            None => Err(Error::new(
                Kind::NotFound,
                "webhook_event_not_found",
                "No webhook event has this id.",
            )),
        }
    }

    /// How long a worker may hold an event: twice the request timeout. A node that dies
    /// mid-delivery leaves a lease that lapses, and another node (or the same one, restarted)
    /// sends the event again.
    fn lease_ms(&self) -> i64 {
        (self.settings.timeout * 2).as_millis() as i64
    }

    /// One attempt: resolve and check the target, sign, post, then record what happened.
    async fn attempt(&self, event: ClaimedEvent, token: &str, manual: bool) -> Result<Delivery> {
        let started = Instant::now();
        let at_ms = now_ms();
        let outcome = self.post(&event).await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let number = event.attempts + 1;
        let (status, error) = match &outcome {
            Ok(status) => (Some(*status), None),
            Err(why) => (None, Some(why.clone())),
        };
        let success = matches!(status, Some(s) if (200..300).contains(&s));
        let error = error.or_else(|| {
            (!success).then(|| format!("the endpoint answered {}", status.unwrap_or_default()))
        });
        // An issuer's retry never disables the endpoint.
        let disable = |reason: String| (!manual).then_some(reason);
        let after = if success {
            AfterAttempt::Delivered
        } else if status == Some(410) {
            AfterAttempt::Failed {
                disable: disable("the endpoint answered 410 Gone".into()),
            }
        } else {
            match self.settings.schedule.delay_after(number as usize) {
                Some(delay) => AfterAttempt::RetryAt(now_ms() + delay.as_millis() as i64),
                None => AfterAttempt::Failed {
                    disable: disable(format!(
                        "no 2xx answer after {} attempts",
                        self.settings.schedule.attempts()
                    )),
                },
            }
        };
        let state = after.state();
        let recorded = self
            .store
            .record_webhook_attempt(
                &event,
                token,
                &Attempt {
                    at_ms,
                    status: status.map(i64::from),
                    error: error.as_deref(),
                    duration_ms,
                },
                &after,
            )
            .await?;
        if !recorded {
            tracing::warn!(event_id = %event.id, "webhook lease lapsed before the attempt was recorded; it will be sent again");
        }
        match &after {
            AfterAttempt::Delivered => {
                tracing::info!(event_id = %event.id, event_type = %event.event_type, attempt = number, "webhook delivered")
            }
            AfterAttempt::Failed {
                disable: Some(reason),
            } => {
                tracing::warn!(event_id = %event.id, client_id = %event.client_id, reason = %reason, "webhook endpoint disabled")
            }
            _ => {
                tracing::info!(event_id = %event.id, attempt = number, status = ?status, error = ?error, state, "webhook attempt failed")
            }
        }
        Ok(Delivery {
            event_id: event.id,
            attempt: number,
            status,
            error,
            state,
        })
    }

    /// Posts the event to the merchant's endpoint: the HTTP status, or why there was none.
    async fn post(&self, event: &ClaimedEvent) -> std::result::Result<u16, String> {
        let endpoint = self
            .store
            .webhook_endpoint(&event.client_id)
            .await
            .map_err(|e| format!("reading the endpoint: {}", Error::from(e).public_message()))?
            .ok_or("the merchant no longer exists")?;
        let url = endpoint
            .url
            .clone()
            .ok_or("the merchant has no webhook URL")?;
        let target = resolve_target(&url, self.settings.allow_private_targets)
            .await
            .map_err(|e| format!("target refused: {e}"))?;
        let secrets = self
            .secrets(&event.client_id, &endpoint, crate::store::unix_now())
            .await
            .map_err(|e| format!("unwrapping the webhook secret: {e}"))?;
        let client = pinned_client(&target, self.settings.timeout)
            .map_err(|e| format!("preparing the request: {e}"))?;
        let timestamp = crate::store::unix_now();
        let body = event.payload.as_bytes();
        let signature = signature_header(&secrets, &event.id, timestamp, body);
        let response = client
            .post(target.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, "Saifu-Webhooks/1")
            .header(WEBHOOK_ID, &event.id)
            .header(WEBHOOK_TIMESTAMP, timestamp.to_string())
            .header(WEBHOOK_SIGNATURE, signature)
            .body(event.payload.clone())
            .send()
            .await
            .map_err(describe_request_error)?;
        Ok(response.status().as_u16())
    }

    /// The secrets to sign with now: the current one, and the previous one during a
    /// rotation's overlap.
    async fn secrets(
        &self,
        client_id: &str,
        endpoint: &crate::store::webhooks::WebhookEndpoint,
        now: i64,
    ) -> anyhow::Result<Vec<WebhookSecret>> {
        let mut secrets = vec![
            self.unwrap_secret(client_id, &endpoint.secret_wrapped, endpoint.kek_version)
                .await?,
        ];
        if let Some((bytes, version, expires_at)) = &endpoint.previous {
            if *expires_at > now {
                secrets.push(self.unwrap_secret(client_id, bytes, *version).await?);
            }
        }
        Ok(secrets)
    }

    /// One of the merchant's webhook secrets, unwrapped by the KEK.
    async fn unwrap_secret(
        &self,
        client_id: &str,
        wrapped: &[u8],
        kek_version: i64,
    ) -> anyhow::Result<WebhookSecret> {
        let context = wrap_context(WrappedTable::WebhookSecrets, client_id)?;
        let key = self
            .kek
            .unwrap(
                &WrappedKey {
                    version: u32::try_from(kek_version)?,
                    bytes: wrapped.to_vec(),
                },
                &context,
            )
            .await?;
        secret_of(&key)
    }

    /// A new webhook secret for the merchant, returned once. The previous one keeps signing
    /// (next to the new one) for `overlap`.
    pub async fn rotate_secret(
        &self,
        client_id: &str,
        overlap: Duration,
        now: i64,
    ) -> Result<String> {
        let key = DataKey::generate().map_err(Error::internal)?;
        let context =
            wrap_context(WrappedTable::WebhookSecrets, client_id).map_err(Error::internal)?;
        let wrapped = self
            .kek
            .wrap(&key, &context)
            .await
            .map_err(Error::internal)?;
        if !self
            .store
            .rotate_webhook_secret(
                client_id,
                &wrapped.bytes,
                i64::from(wrapped.version),
                now + overlap.as_secs() as i64,
            )
            .await?
        {
            return Err(unknown_merchant());
        }
        tracing::info!(client_id = %client_id, overlap_secs = overlap.as_secs(), "webhook secret rotated");
        Ok(secret_of(&key).map_err(Error::internal)?.expose())
    }

    /// The merchant's current webhook secret (for tools that configure the merchant's side,
    /// such as `saifu demo`).
    pub async fn current_secret(&self, client_id: &str) -> Result<String> {
        let endpoint = self
            .store
            .webhook_endpoint(client_id)
            .await?
            .ok_or_else(unknown_merchant)?;
        let secret = self
            .unwrap_secret(client_id, &endpoint.secret_wrapped, endpoint.kek_version)
            .await
            .map_err(Error::internal)?;
        Ok(secret.expose())
    }

    /// Sets or removes the merchant's webhook URL (scheme and form checked here; addresses
    /// at each delivery).
    pub async fn set_url(&self, client_id: &str, url: Option<&str>) -> Result<()> {
        let url = url
            .map(|u| {
                target::parse_target(u)
                    .map_err(|e| Error::invalid("invalid_webhook_url", e.to_string()))
            })
            .transpose()?;
        if !self
            .store
            .set_webhook_url(client_id, url.as_ref().map(url::Url::as_str))
            .await?
        {
            return Err(unknown_merchant());
        }
        Ok(())
    }

    /// Enables a disabled endpoint: its pending events are delivered again.
    pub async fn enable(&self, client_id: &str) -> Result<()> {
        if !self.store.enable_webhook_endpoint(client_id).await? {
            return Err(unknown_merchant());
        }
        self.wake();
        Ok(())
    }

    /// The endpoint's state and the merchant's recent events.
    pub async fn overview(&self, client_id: &str, limit: i64) -> Result<EndpointOverview> {
        let endpoint = self
            .store
            .webhook_endpoint(client_id)
            .await?
            .ok_or_else(unknown_merchant)?;
        Ok(EndpointOverview {
            url: endpoint.url,
            disabled_at: endpoint.disabled_at,
            disabled_reason: endpoint.disabled_reason,
            events: self.store.recent_webhook_events(client_id, limit).await?,
        })
    }
}

/// What `saifu webhooks list` shows.
#[derive(Debug, serde::Serialize)]
pub struct EndpointOverview {
    pub url: Option<String>,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub events: Vec<EventSummary>,
}

fn unknown_merchant() -> Error {
    Error::new(
        Kind::NotFound,
        "merchant_not_found",
        "No merchant has this client id.",
    )
}

/// The Standard Webhooks secret (`whsec_…`) made of a 32-byte key.
pub fn secret_of(key: &DataKey) -> anyhow::Result<WebhookSecret> {
    WebhookSecret::parse(&format!("whsec_{}", STANDARD.encode(key.expose())))
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// A client that connects only to the checked addresses, follows no redirects (a redirect
/// could point anywhere) and ignores proxy settings.
fn pinned_client(target: &PinnedTarget, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(0);
    if let Some(domain) = &target.domain {
        builder = builder.resolve_to_addrs(domain, &target.addrs);
    }
    builder.build()
}

/// Why a request got no answer, without the URL's query or anything secret.
fn describe_request_error(err: reqwest::Error) -> String {
    if err.is_timeout() {
        "the endpoint did not answer in time".into()
    } else if err.is_connect() {
        "could not connect to the endpoint".into()
    } else {
        "the request to the endpoint failed".into()
    }
}

/// The webhook body of a payment event: `{"id","type","timestamp","data": payment}`.
fn render_payment_event(
    payment: &StoredPayment,
    id: &str,
    event_type: &str,
    now: i64,
) -> Result<String> {
    let data = serde_json::to_value(crate::payments::view(payment)?).map_err(Error::internal)?;
    let event = Event {
        id: id.to_string(),
        event_type: event_type.to_string(),
        timestamp: rfc3339(now),
        data,
    };
    serde_json::to_string(&event).map_err(Error::internal)
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_schedule_parses_with_ten_attempts() {
        let schedule = Schedule::parse(DEFAULT_SCHEDULE).unwrap();
        assert_eq!(schedule.attempts(), 10);
        assert_eq!(schedule.delay_after(0), Some(Duration::ZERO));
        let second = schedule.delay_after(1).unwrap();
        assert!(
            second >= Duration::from_millis(4500) && second <= Duration::from_millis(5500),
            "{second:?}"
        );
        let last = schedule.delay_after(9).unwrap();
        assert!(last >= Duration::from_secs(24 * 3600 * 9 / 10), "{last:?}");
        assert_eq!(schedule.delay_after(10), None);
    }

    #[test]
    fn durations_need_a_known_unit() {
        assert_eq!(
            Schedule::parse("0ms, 200ms,1s,2m,1h").unwrap().0,
            vec![
                Duration::ZERO,
                Duration::from_millis(200),
                Duration::from_secs(1),
                Duration::from_secs(120),
                Duration::from_secs(3600)
            ]
        );
        for bad in ["", "5", "5d", "x5s", "5s,,1s"] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?}");
        }
    }
}
