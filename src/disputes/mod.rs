//! Disputes (ADR) and the buyer guarantee: a shopper reports a problem with a captured payment
//! (`open`), the merchant accepts or sends evidence (`answer`), the issuer decides (`decide`),
//! and a decision for the shopper refunds through the processor or, where that fails for
//! good, pays from the guarantee fund up to a cap (`guarantee`). `view` is the JSON and events.

mod answer;
mod decide;
mod guarantee;
mod open;
mod types;
mod view;

pub use guarantee::{Guarantee, GuaranteeEntry};
pub use open::Disputable;
pub use types::{Answer, Decision, Dispute, Evidence, Reason, Status};

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::money::GuaranteeCap;
use crate::payments::Payments;
use crate::store::disputes::StoredDispute;
use crate::store::Store;
use crate::webhooks::Webhooks;

/// The disputes settings, cut from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct DisputeSettings {
    /// How long after capture a payment may be disputed.
    pub window_secs: i64,
    /// How long a merchant has to answer.
    pub response_secs: i64,
    /// The most the guarantee pays for one dispute, per currency.
    pub cap: GuaranteeCap,
    /// How long a node holds a dispute it is resolving (its refund at the processor).
    pub lease_secs: i64,
}

#[derive(Clone)]
pub struct Disputes {
    store: Store,
    payments: Payments,
    webhooks: Webhooks,
    settings: DisputeSettings,
}

/// An unknown dispute, or one that is not the caller's: the same answer for both.
fn not_found() -> Error {
    Error::not_found()
}

impl Disputes {
    pub fn new(
        store: Store,
        payments: Payments,
        webhooks: Webhooks,
        settings: DisputeSettings,
    ) -> Self {
        Self {
            store,
            payments,
            webhooks,
            settings,
        }
    }

    /// The shopper's disputes, newest first.
    pub async fn of_shopper(&self, user_id: Uuid) -> Result<Vec<Dispute>> {
        let rows = self.store.disputes_of_user(&user_id.to_string()).await?;
        view::all(&rows)
    }

    /// One of the shopper's disputes; another's, or an unknown one, is not found.
    pub async fn shopper_dispute(&self, user_id: Uuid, id: &str) -> Result<Dispute> {
        let user = user_id.to_string();
        self.stored(id, |d| d.user_id == user).await
    }

    /// The merchant's disputes (in `status`, if given), newest first.
    pub async fn of_merchant(
        &self,
        client_id: &str,
        status: Option<Status>,
    ) -> Result<Vec<Dispute>> {
        let rows = self
            .store
            .disputes_of_merchant(client_id, status.map(Status::as_str))
            .await?;
        view::all(&rows)
    }

    /// One of the merchant's disputes; another's, or an unknown one, is not found.
    pub async fn merchant_dispute(&self, client_id: &str, id: &str) -> Result<Dispute> {
        self.stored(id, |d| d.client_id == client_id).await
    }

    /// Disputes that need the issuer's decision (evidence received, or open past the
    /// merchant's window), oldest first.
    pub async fn queue(&self, now: i64) -> Result<Vec<Dispute>> {
        let rows = self.store.disputes_awaiting_decision(now).await?;
        view::all(&rows)
    }

    /// Every dispute (in `status`, if given), newest first: the console's list.
    pub async fn list(&self, status: Option<Status>) -> Result<Vec<Dispute>> {
        let rows = self.store.all_disputes(status.map(Status::as_str)).await?;
        view::all(&rows)
    }

    /// Any dispute, for the console.
    pub async fn get(&self, id: &str) -> Result<Dispute> {
        self.stored(id, |_| true).await
    }

    /// The dispute `id` if `visible` lets the caller see it.
    async fn stored(&self, id: &str, visible: impl Fn(&StoredDispute) -> bool) -> Result<Dispute> {
        let stored = self
            .store
            .dispute(id)
            .await?
            .filter(|d| visible(d))
            .ok_or_else(not_found)?;
        view::dispute(&stored)
    }
}
