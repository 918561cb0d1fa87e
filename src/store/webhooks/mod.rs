//! The webhook outbox: events written in the same transaction as the change they announce,
//! claimed by delivery workers with a lease (and `FOR UPDATE SKIP LOCKED` on PostgreSQL), and
//! the merchant's endpoint state.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::{append, AuditRecord};
use super::error::Result;
use super::{Backend, Store, Tx};

mod reads;
pub use reads::{AttemptSummary, DisabledEndpoint, EventSummary};

/// An event to put in the outbox.
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub client_id: &'a str,
    pub event_type: &'a str,
    pub subject_id: &'a str,
    pub payload: &'a str,
    pub created_at: i64,
    pub next_attempt_ms: i64,
}

/// An event a worker holds the lease of.
#[derive(Debug)]
pub struct ClaimedEvent {
    pub id: String,
    pub client_id: String,
    pub event_type: String,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// Where and how a merchant's events are delivered. The secrets are still wrapped.
pub struct WebhookEndpoint {
    pub url: Option<String>,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub secret_wrapped: Vec<u8>,
    pub kek_version: i64,
    /// The previous secret while a rotation's overlap lasts: (wrapped, version, expires_at).
    pub previous: Option<(Vec<u8>, i64, i64)>,
}

/// One delivery attempt, as logged.
pub struct Attempt<'a> {
    pub at_ms: i64,
    pub status: Option<i64>,
    pub error: Option<&'a str>,
    pub duration_ms: i64,
}

/// What follows an attempt.
pub enum AfterAttempt {
    Delivered,
    RetryAt(i64),
    /// No more attempts; `disable` also disables the merchant's endpoint, with this reason.
    Failed {
        disable: Option<String>,
    },
}

impl AfterAttempt {
    /// The event's state once the attempt is recorded.
    pub fn state(&self) -> &'static str {
        match self {
            AfterAttempt::Delivered => "delivered",
            AfterAttempt::RetryAt(_) => "pending",
            AfterAttempt::Failed { .. } => "failed",
        }
    }
}

const CLAIMED: &str = "id, client_id, event_type, payload, attempts";

fn claimed_row(r: &AnyRow) -> Result<ClaimedEvent> {
    Ok(ClaimedEvent {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        event_type: r.try_get("event_type")?,
        payload: r.try_get("payload")?,
        attempts: r.try_get("attempts")?,
    })
}

/// Writes `event` inside `tx` if its merchant has a webhook URL; `false` when it has none.
pub(super) async fn enqueue(tx: &mut Tx, event: &NewEvent<'_>) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO webhook_events (id, client_id, event_type, subject_id, payload, created_at, next_attempt_ms)
         SELECT $1, client_id, $2, $3, $4, $5, $6 FROM merchants WHERE client_id = $7 AND webhook_url IS NOT NULL",
    )
    .bind(event.id)
    .bind(event.event_type)
    .bind(event.subject_id)
    .bind(event.payload)
    .bind(event.created_at)
    .bind(event.next_attempt_ms)
    .bind(event.client_id)
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

impl Store {
    /// Claims up to `limit` due events of enabled endpoints for `lease_ms`. Safe with any
    /// number of workers: a claimed event is invisible to the others until its lease ends.
    pub async fn claim_due_events(
        &self,
        token: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedEvent>> {
        // A read first, so an idle worker never takes SQLite's write lock.
        let due = sqlx::query(
            "SELECT 1 AS due FROM webhook_events e JOIN merchants m ON m.client_id = e.client_id
             WHERE e.state = 'pending' AND e.next_attempt_ms <= $1
               AND (e.lease_until_ms IS NULL OR e.lease_until_ms < $1) AND m.webhook_disabled_at IS NULL
             LIMIT 1",
        )
        .bind(now_ms)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        // The events are picked once, in a materialized step: PostgreSQL may otherwise run a
        // `LIMIT … SKIP LOCKED` subquery again for each row it updates, and claim more than
        // `limit`.
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE OF e SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "WITH picked AS MATERIALIZED (
                 SELECT e.id FROM webhook_events e JOIN merchants m ON m.client_id = e.client_id
                 WHERE e.state = 'pending' AND e.next_attempt_ms <= $3
                   AND (e.lease_until_ms IS NULL OR e.lease_until_ms < $3)
                   AND m.webhook_disabled_at IS NULL
                 ORDER BY e.next_attempt_ms LIMIT $4 {lock})
             UPDATE webhook_events SET lease_token = $1, lease_until_ms = $2
             WHERE (lease_until_ms IS NULL OR lease_until_ms < $3) AND state = 'pending'
               AND id IN (SELECT id FROM picked)
             RETURNING {CLAIMED}"
        ))
        .bind(token)
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&mut *self.write().await?)
        .await?;
        rows.iter().map(claimed_row).collect()
    }

    /// Claims one event now, whatever its state or schedule (an issuer's retry), unless
    /// another worker holds it, and appends `audit` with the claim. `None` (and nothing
    /// recorded) if it does not exist or is leased.
    pub async fn claim_event(
        &self,
        id: &str,
        token: &str,
        now_ms: i64,
        lease_ms: i64,
        audit: &AuditRecord,
    ) -> Result<Option<ClaimedEvent>> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE webhook_events SET lease_token = $1, lease_until_ms = $2
             WHERE id = $3 AND (lease_until_ms IS NULL OR lease_until_ms < $4)
             RETURNING {CLAIMED}"
        ))
        .bind(token)
        .bind(now_ms + lease_ms)
        .bind(id)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let claimed = claimed_row(&row)?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(claimed))
    }

    /// Whether an event exists at all.
    pub async fn webhook_event_exists(&self, id: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 AS found FROM webhook_events WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *self.read().await?)
                .await?
                .is_some(),
        )
    }

    /// Logs an attempt and moves the event on, if the lease is still ours (`false` if not).
    pub async fn record_webhook_attempt(
        &self,
        event: &ClaimedEvent,
        token: &str,
        attempt: &Attempt<'_>,
        after: &AfterAttempt,
    ) -> Result<bool> {
        let (next_ms, delivered_at) = match after {
            AfterAttempt::Delivered => (None, Some(attempt.at_ms / 1000)),
            AfterAttempt::RetryAt(at) => (Some(*at), None),
            AfterAttempt::Failed { .. } => (None, None),
        };
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE webhook_events SET attempts = attempts + 1, state = $1,
                    next_attempt_ms = COALESCE($2, next_attempt_ms), delivered_at = COALESCE($3, delivered_at),
                    last_status = $4, last_error = $5, lease_token = NULL, lease_until_ms = NULL
             WHERE id = $6 AND lease_token = $7
             RETURNING attempts",
        )
        .bind(after.state())
        .bind(next_ms)
        .bind(delivered_at)
        .bind(attempt.status)
        .bind(attempt.error)
        .bind(&event.id)
        .bind(token)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = updated else {
            tx.rollback().await?;
            return Ok(false);
        };
        let number: i64 = row.try_get("attempts")?;
        sqlx::query(
            "INSERT INTO webhook_attempts (event_id, attempt, at_ms, status, error, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&event.id)
        .bind(number)
        .bind(attempt.at_ms)
        .bind(attempt.status)
        .bind(attempt.error)
        .bind(attempt.duration_ms)
        .execute(&mut *tx)
        .await?;
        if let AfterAttempt::Failed {
            disable: Some(reason),
        } = after
        {
            sqlx::query(
                "UPDATE merchants SET webhook_disabled_at = $1, webhook_disabled_reason = $2
                 WHERE client_id = $3 AND webhook_disabled_at IS NULL",
            )
            .bind(attempt.at_ms / 1000)
            .bind(reason.as_str())
            .bind(&event.client_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The merchant's webhook URL, endpoint state and (wrapped) secrets.
    pub async fn webhook_endpoint(&self, client_id: &str) -> Result<Option<WebhookEndpoint>> {
        let row = sqlx::query(
            "SELECT webhook_url, webhook_disabled_at, webhook_disabled_reason, webhook_secret_wrapped,
                    webhook_kek_version, webhook_prev_secret_wrapped, webhook_prev_kek_version,
                    webhook_prev_expires_at
             FROM merchants WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let previous = match (
            r.try_get::<Option<Vec<u8>>, _>("webhook_prev_secret_wrapped")?,
            r.try_get::<Option<i64>, _>("webhook_prev_kek_version")?,
            r.try_get::<Option<i64>, _>("webhook_prev_expires_at")?,
        ) {
            (Some(wrapped), Some(version), Some(expires)) => Some((wrapped, version, expires)),
            _ => None,
        };
        Ok(Some(WebhookEndpoint {
            url: r.try_get("webhook_url")?,
            disabled_at: r.try_get("webhook_disabled_at")?,
            disabled_reason: r.try_get("webhook_disabled_reason")?,
            secret_wrapped: r.try_get("webhook_secret_wrapped")?,
            kek_version: r.try_get("webhook_kek_version")?,
            previous,
        }))
    }

    /// Makes `wrapped` the merchant's webhook secret and keeps the current one signing until
    /// `previous_expires_at`. `false` if the merchant does not exist.
    pub async fn rotate_webhook_secret(
        &self,
        client_id: &str,
        wrapped: &[u8],
        kek_version: i64,
        previous_expires_at: i64,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE merchants SET webhook_prev_secret_wrapped = webhook_secret_wrapped,
                    webhook_prev_kek_version = webhook_kek_version, webhook_prev_expires_at = $1,
                    webhook_secret_wrapped = $2, webhook_kek_version = $3
             WHERE client_id = $4",
        )
        .bind(previous_expires_at)
        .bind(wrapped)
        .bind(kek_version)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        audited(tx, updated.rows_affected() == 1, audit).await
    }

    /// Sets (or removes) the merchant's webhook URL. `false` if the merchant does not exist.
    pub async fn set_webhook_url(
        &self,
        client_id: &str,
        url: Option<&str>,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query("UPDATE merchants SET webhook_url = $1 WHERE client_id = $2")
            .bind(url)
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        audited(tx, updated.rows_affected() == 1, audit).await
    }

    /// Enables a disabled endpoint; its pending events are delivered again. `false` if the
    /// merchant does not exist.
    pub async fn enable_webhook_endpoint(
        &self,
        client_id: &str,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE merchants SET webhook_disabled_at = NULL, webhook_disabled_reason = NULL WHERE client_id = $1",
        )
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        audited(tx, updated.rows_affected() == 1, audit).await
    }

    /// Removes delivered and failed events (and their attempts) created before `before`.
    pub async fn purge_webhook_events(&self, before: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "DELETE FROM webhook_attempts WHERE event_id IN
               (SELECT id FROM webhook_events WHERE state <> 'pending' AND created_at < $1)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        let removed =
            sqlx::query("DELETE FROM webhook_events WHERE state <> 'pending' AND created_at < $1")
                .bind(before)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(removed.rows_affected())
    }
}

/// Ends a transaction that changed one merchant: with `audit` appended and committed if the
/// merchant was there (`true`), rolled back if not.
async fn audited(mut tx: Tx, changed: bool, audit: &AuditRecord) -> Result<bool> {
    if !changed {
        tx.rollback().await?;
        return Ok(false);
    }
    append(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}
