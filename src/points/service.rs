//! The points service: a shopper's points page (summary and history with typed entry kinds),
//! the earn preview shown at consent, and the janitor's expiry and lapsed-hold release. It
//! words the ledger's refusals for the shopper.

use super::rules::{self, Rules};
use crate::error::{Error, Kind, Result};
use crate::store::points::{HistoryEntry, PointsSummary};
use crate::store::{Refusal, Store};

/// How far ahead the points page counts points as expiring soon.
const SOON_SECS: i64 = 30 * 24 * 60 * 60;

/// How many history entries the points page shows.
const HISTORY_LIMIT: i64 = 200;

/// Words the store's refusal to take more points than the shopper has.
pub fn refused(err: crate::store::Error) -> Error {
    match err.refusal() {
        Some(Refusal::InsufficientPoints) => Error::new(
            Kind::Conflict,
            "insufficient_points",
            "You don't have that many points available.",
        ),
        _ => err.into(),
    }
}

/// A shopper's points page: the balances, and the history newest first.
#[derive(Debug)]
pub struct PointsView {
    pub summary: PointsSummary,
    pub history: Vec<HistoryEntry>,
}

#[derive(Clone)]
pub struct PointsService {
    store: Store,
}

impl PointsService {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The shopper's balances (with what expires within 30 days of `now`) and history.
    pub async fn view(&self, user_id: &str, now: i64) -> Result<PointsView> {
        Ok(PointsView {
            summary: self.store.points_summary(user_id, now + SOON_SECS).await?,
            history: self.store.points_history(user_id, HISTORY_LIMIT).await?,
        })
    }

    /// Expires what is left of lots past their date; returns the points expired.
    pub async fn expire(&self, now: i64) -> Result<i64> {
        Ok(self.store.expire_points(&Rules, now).await?)
    }

    /// Releases the holds of grants that lapsed unused; returns how many.
    pub async fn release_lapsed_holds(&self, now: i64) -> Result<u64> {
        Ok(self
            .store
            .release_lapsed_holds(&Rules, rules::GRANT_LAPSED, now)
            .await?)
    }
}
