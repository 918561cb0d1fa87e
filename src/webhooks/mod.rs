//! Signed webhooks (Standard Webhooks): events are written to the outbox in the same
//! transaction as the payment change they announce, and a worker in every node delivers them
//! at least once, signed with the merchant's secret (and the previous one while a rotation's
//! overlap lasts), retrying on the published schedule. Events arrive rendered: this room
//! stores, signs and sends bodies, and knows nothing of payments.

mod delivery;
pub mod event;
mod schedule;
mod secrets;
pub mod target;

pub use self::event::{new_event_id, render_event};
pub use self::schedule::{Schedule, WebhookSettings};

use std::sync::Arc;

use tokio::sync::Notify;

use crate::audit::{url_detail, Action, Actor, Entry};
use crate::clock::unix_now;
use crate::error::{Error, Kind, Result};
use crate::keys::KeyEncryptionKey;
use crate::store::webhooks::{AttemptSummary, DisabledEndpoint, EventSummary};
use crate::store::Store;

/// Deliveries and their events are kept this long after they end.
pub const RETENTION_SECS: i64 = 30 * 24 * 60 * 60;

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

    /// Tells this node's worker that events were just written, so it need not wait for its
    /// next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Removes events that reached a final state more than `RETENTION_SECS` ago.
    pub async fn purge_old_events(&self, now: i64) -> Result<u64> {
        Ok(self
            .store
            .purge_webhook_events(now - RETENTION_SECS)
            .await?)
    }

    /// Sets or removes the merchant's webhook URL (scheme and form checked here; addresses
    /// at each delivery).
    pub async fn set_url(&self, client_id: &str, url: Option<&str>, by: &Actor) -> Result<()> {
        let url = url
            .map(|u| {
                target::parse_target(u)
                    .map_err(|e| Error::invalid("invalid_webhook_url", e.to_string()))
            })
            .transpose()?;
        let audit = Entry::new(by, Action::MerchantWebhookUrlSet, client_id)
            .with("url", url.as_ref().map(url_detail));
        if !self
            .store
            .set_webhook_url(
                client_id,
                url.as_ref().map(url::Url::as_str),
                &audit.record(unix_now()),
            )
            .await?
        {
            return Err(unknown_merchant());
        }
        Ok(())
    }

    /// Enables a disabled endpoint: its pending events are delivered again.
    pub async fn enable(&self, client_id: &str, by: &Actor) -> Result<()> {
        let audit = Entry::new(by, Action::WebhookEndpointEnabled, client_id);
        if !self
            .store
            .enable_webhook_endpoint(client_id, &audit.record(unix_now()))
            .await?
        {
            return Err(unknown_merchant());
        }
        self.wake();
        Ok(())
    }

    /// The endpoints deliveries stopped at, and why, most recently disabled first.
    pub async fn disabled_endpoints(&self) -> Result<Vec<DisabledEndpoint>> {
        Ok(self.store.disabled_webhook_endpoints().await?)
    }

    /// The logged attempts of one event, in order.
    pub async fn attempts(&self, event_id: &str) -> Result<Vec<AttemptSummary>> {
        Ok(self.store.webhook_attempts(event_id).await?)
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
