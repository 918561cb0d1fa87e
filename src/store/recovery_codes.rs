//! Account recovery: the shopper's recovery codes (Argon2id hashes only), the recoveries the
//! issuer's support starts (the SHA-256 of their link's token only), the account-security
//! events the shopper's Activity lists, and the session epoch that a recovery raises. Each
//! change and its audit record are written in one transaction.

use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use super::audit::{append, AuditRecord};
use super::error::Result;
use super::users::parse_uuid;
use super::{Store, Tx};

/// A recovery code the shopper has not used yet.
#[derive(Clone, Debug)]
pub struct StoredCode {
    pub id: Uuid,
    /// The Argon2id PHC string.
    pub hash: String,
}

/// A recovery started from the console.
#[derive(Clone, Debug)]
pub struct RecoveryRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub started_by: String,
    pub created_at: i64,
    pub usable_at: i64,
    pub expires_at: i64,
    /// `pending`, `cancelled`, `completed` or `replaced`.
    pub state: String,
}

/// A recovery to store, with its link's token already hashed.
pub struct NewRecovery<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: &'a str,
    pub started_by: &'a str,
    pub usable_at: i64,
    pub expires_at: i64,
}

/// One line of the shopper's account-security history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityEvent {
    pub kind: String,
    pub at: i64,
}

const RECOVERY_COLUMNS: &str = "id, user_id, started_by, created_at, usable_at, expires_at, state";

fn recovery_row(r: &AnyRow) -> Result<RecoveryRow> {
    Ok(RecoveryRow {
        id: parse_uuid(&r.try_get::<String, _>("id")?)?,
        user_id: parse_uuid(&r.try_get::<String, _>("user_id")?)?,
        started_by: r.try_get("started_by")?,
        created_at: r.try_get("created_at")?,
        usable_at: r.try_get("usable_at")?,
        expires_at: r.try_get("expires_at")?,
        state: r.try_get("state")?,
    })
}

async fn event_in(tx: &mut Tx, user_id: Uuid, kind: &str, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO account_security_events (id, user_id, kind, at) VALUES ($1, $2, $3, $4)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(user_id.to_string())
    .bind(kind)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends every session the shopper signed in before now (see `session_epoch`).
async fn raise_epoch_in(tx: &mut Tx, user_id: Uuid, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE users SET session_epoch = session_epoch + 1, updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(user_id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Replaces the shopper's codes with `hashes`, records `event` and appends `audit` (when
    /// given).
    pub async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        hashes: &[String],
        now: i64,
        (event, audit): (&str, Option<&AuditRecord>),
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        for hash in hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(Uuid::new_v4().to_string())
            .bind(user_id.to_string())
            .bind(hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        event_in(&mut tx, user_id, event, now).await?;
        if let Some(audit) = audit {
            append(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The shopper's codes not used yet.
    pub async fn unused_recovery_codes(&self, user_id: Uuid) -> Result<Vec<StoredCode>> {
        let rows = sqlx::query(
            "SELECT id, code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL ORDER BY id",
        )
        .bind(user_id.to_string())
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredCode {
                    id: parse_uuid(&r.try_get::<String, _>("id")?)?,
                    hash: r.try_get("code_hash")?,
                })
            })
            .collect()
    }

    /// Whether the shopper ever had a set of codes (used up or not).
    pub async fn has_recovery_codes(&self, user_id: Uuid) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS found FROM recovery_codes WHERE user_id = $1 LIMIT 1")
            .bind(user_id.to_string())
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.is_some())
    }

    /// Marks the code used, ends the shopper's sessions, records `event` and appends `audit`;
    /// `false` (and nothing written) when the code was used meanwhile.
    pub async fn use_recovery_code(
        &self,
        user_id: Uuid,
        code_id: Uuid,
        now: i64,
        (event, audit): (&str, &AuditRecord),
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let used = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE id = $2 AND user_id = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(code_id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        raise_epoch_in(&mut tx, user_id, now).await?;
        event_in(&mut tx, user_id, event, now).await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Stores a new pending recovery, replacing the shopper's pending one if any (whose id is
    /// returned), records `event` and appends `audit`.
    pub async fn start_recovery(
        &self,
        new: NewRecovery<'_>,
        now: i64,
        (event, audit): (&str, &AuditRecord),
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE recovery_requests SET state = 'replaced', ended_at = $1
             WHERE user_id = $2 AND state = 'pending'",
        )
        .bind(now)
        .bind(new.user_id.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO recovery_requests
               (id, user_id, token_hash, started_by, created_at, usable_at, expires_at, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')",
        )
        .bind(new.id.to_string())
        .bind(new.user_id.to_string())
        .bind(new.token_hash)
        .bind(new.started_by)
        .bind(now)
        .bind(new.usable_at)
        .bind(new.expires_at)
        .execute(&mut *tx)
        .await?;
        event_in(&mut tx, new.user_id, event, now).await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The shopper's pending recovery, if any.
    pub async fn pending_recovery(&self, user_id: Uuid) -> Result<Option<RecoveryRow>> {
        let row = sqlx::query(&format!(
            "SELECT {RECOVERY_COLUMNS} FROM recovery_requests WHERE user_id = $1 AND state = 'pending'
             ORDER BY created_at DESC LIMIT 1"
        ))
        .bind(user_id.to_string())
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(recovery_row).transpose()
    }

    /// The recovery whose link's token hashes to `token_hash`, in any state.
    pub async fn recovery_by_token(&self, token_hash: &str) -> Result<Option<RecoveryRow>> {
        let row = sqlx::query(&format!(
            "SELECT {RECOVERY_COLUMNS} FROM recovery_requests WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(recovery_row).transpose()
    }

    /// Cancels the pending recovery `id` (with a notice for the shopper when `notice`), records
    /// `event` and appends `audit`; `false` (and nothing written) when it is no longer pending.
    pub async fn cancel_recovery(
        &self,
        (id, user_id): (Uuid, Uuid),
        notice: bool,
        now: i64,
        (event, audit): (&str, &AuditRecord),
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let cancelled = sqlx::query(
            "UPDATE recovery_requests SET state = 'cancelled', ended_at = $1, notice = $2
             WHERE id = $3 AND state = 'pending'",
        )
        .bind(now)
        .bind(i64::from(notice))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if cancelled.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        event_in(&mut tx, user_id, event, now).await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Completes the pending recovery `id`: ends the shopper's sessions, records `event` and
    /// appends `audit`; `false` (and nothing written) when it is no longer pending.
    pub async fn complete_recovery(
        &self,
        (id, user_id): (Uuid, Uuid),
        now: i64,
        (event, audit): (&str, &AuditRecord),
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let completed = sqlx::query(
            "UPDATE recovery_requests SET state = 'completed', ended_at = $1
             WHERE id = $2 AND state = 'pending'",
        )
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if completed.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        raise_epoch_in(&mut tx, user_id, now).await?;
        event_in(&mut tx, user_id, event, now).await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// When recoveries were cancelled by the shopper's sign-in, for notices not dismissed yet.
    pub async fn recovery_notices(&self, user_id: Uuid) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT ended_at FROM recovery_requests WHERE user_id = $1 AND notice = 1
             ORDER BY ended_at DESC",
        )
        .bind(user_id.to_string())
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<Option<i64>, _>("ended_at")?.unwrap_or_default()))
            .collect()
    }

    pub async fn dismiss_recovery_notices(&self, user_id: Uuid) -> Result<()> {
        sqlx::query("UPDATE recovery_requests SET notice = 0 WHERE user_id = $1 AND notice = 1")
            .bind(user_id.to_string())
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    /// The shopper's `limit` latest account-security events, newest first.
    pub async fn security_events(&self, user_id: Uuid, limit: i64) -> Result<Vec<SecurityEvent>> {
        let rows = sqlx::query(
            "SELECT kind, at FROM account_security_events WHERE user_id = $1
             ORDER BY at DESC, id LIMIT $2",
        )
        .bind(user_id.to_string())
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SecurityEvent {
                    kind: r.try_get("kind")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }
}
