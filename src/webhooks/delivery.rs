//! Delivering events: the worker every node runs (a lease on each claimed event, a bounded
//! number in flight), one attempt (resolve and check the target, sign, post, record) and the
//! issuer's manual retry.

use std::time::{Duration, Instant};

use saifu_sdk::webhooks::{signature_header, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};

use super::target::{resolve_target, PinnedTarget};
use super::{Delivery, Webhooks};
use crate::audit::{Action, Actor, Entry};
use crate::clock::{random_token, unix_now, unix_now_ms as now_ms};
use crate::error::{Error, Kind, Result};
use crate::store::webhooks::{AfterAttempt, Attempt, ClaimedEvent};

/// Deliveries one node runs at once.
const IN_FLIGHT: usize = 16;

impl Webhooks {
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
            let room = IN_FLIGHT.saturating_sub(in_flight.len());
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
    pub async fn retry_now(&self, event_id: &str, by: &Actor) -> Result<Delivery> {
        let token = random_token()?;
        let audit = Entry::new(by, Action::WebhookEventRetried, event_id);
        match self
            .store
            .claim_event(
                event_id,
                &token,
                now_ms(),
                self.lease_ms(),
                &audit.record(unix_now()),
            )
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
            .map_err(|e| {
                format!(
                    "reading the endpoint: {}",
                    crate::error::Error::from(e).public_message()
                )
            })?
            .ok_or("the merchant no longer exists")?;
        let url = endpoint
            .url
            .clone()
            .ok_or("the merchant has no webhook URL")?;
        let target = resolve_target(&url, self.settings.allow_private_targets)
            .await
            .map_err(|e| format!("target refused: {e}"))?;
        let secrets = self
            .secrets(&event.client_id, &endpoint, unix_now())
            .await
            .map_err(|e| format!("unwrapping the webhook secret: {e}"))?;
        let client = pinned_client(&target, self.settings.timeout)
            .map_err(|e| format!("preparing the request: {e}"))?;
        let timestamp = unix_now();
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
