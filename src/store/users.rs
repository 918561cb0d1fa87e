//! Shopper accounts.

use sqlx::Row;
use uuid::Uuid;

use sqlx::any::AnyRow;

use super::audit::{append, AuditRecord};
use super::error::{Error, Refusal, Result};
use super::{is_unique_violation, Store, Tx};
use crate::accounts::user::{Frozen, User};

/// The columns `user_row` reads.
const COLUMNS: &str =
    "id, email, display_name, created_at, frozen_at, frozen_reason, session_epoch";
/// The same columns of a table aliased `u`.
pub(super) const USER_COLUMNS_OF_U: &str = "u.id, u.email, u.display_name, u.created_at, \
     u.frozen_at, u.frozen_reason, u.session_epoch";

pub(super) fn user_row(r: &AnyRow) -> Result<User> {
    let frozen_at: Option<i64> = r.try_get("frozen_at")?;
    let frozen_reason: Option<String> = r.try_get("frozen_reason")?;
    Ok(User {
        id: parse_uuid(&r.try_get::<String, _>("id")?)?,
        email: r.try_get("email")?,
        display_name: r.try_get("display_name")?,
        created_at: r.try_get("created_at")?,
        frozen: frozen_at.map(|at| Frozen {
            at,
            reason: frozen_reason.unwrap_or_default(),
        }),
        session_epoch: r.try_get("session_epoch")?,
    })
}

pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    /// The address as accounts compare it: one account per normalized address.
    pub email_normalized: &'a str,
    pub display_name: &'a str,
}

/// The first passkey of a new account, stored in the same transaction as the account.
pub struct FirstPasskey<'a> {
    pub id: Uuid,
    pub credential_id: &'a str,
    pub name: &'a str,
    pub credential_json: &'a str,
    pub sign_count: i64,
}

impl Store {
    /// Creates the account and its first passkey together, or neither. A second account for
    /// the same address (in any letter case) is refused (`Refusal::EmailTaken`).
    pub async fn create_user_with_passkey(
        &self,
        user: NewUser<'_>,
        passkey: FirstPasskey<'_>,
        now: i64,
    ) -> Result<User> {
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, email_normalized, display_name, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(user.id.to_string())
        .bind(user.email)
        .bind(user.email_normalized)
        .bind(user.display_name)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => return Err(Error::Refused(Refusal::EmailTaken)),
            other => other?,
        };
        self.insert_passkey_in(&mut tx, user.id, passkey, now)
            .await?;
        tx.commit().await?;
        Ok(User {
            id: user.id,
            email: user.email.to_string(),
            display_name: user.display_name.to_string(),
            created_at: now,
            frozen: None,
            session_epoch: 0,
        })
    }

    /// Whether an account has this normalized address.
    pub async fn email_in_use(&self, email_normalized: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM users WHERE email_normalized = $1")
            .bind(email_normalized)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.is_some())
    }

    /// The account `id`: the one read with the request's session when that session is the
    /// shopper's and nothing was written since (`session_user.rs`), else read now.
    pub async fn find_user(&self, id: Uuid) -> Result<Option<User>> {
        if let Some(user) = super::session_user::take(id) {
            return Ok(user);
        }
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&mut *self.read().await?)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    /// The account with this normalized address.
    pub async fn find_user_by_email(&self, email_normalized: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE email_normalized = $1"
        ))
        .bind(email_normalized)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(user_row).transpose()
    }

    /// The `limit` newest accounts, newest first.
    pub async fn newest_users(&self, limit: i64) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users ORDER BY created_at DESC, id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(user_row).collect()
    }

    /// Freezes a shopper who is not frozen and appends `audit`, in one transaction. An
    /// unknown shopper is not found; a frozen one is refused (`Refusal::AlreadyFrozen`); either
    /// way nothing is written.
    pub async fn freeze_user(
        &self,
        id: Uuid,
        reason: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<()> {
        self.change_frozen(
            "UPDATE users SET frozen_at = $1, frozen_reason = $2, updated_at = $1
             WHERE id = $3 AND frozen_at IS NULL",
            Some(reason),
            id,
            now,
            (Refusal::AlreadyFrozen, audit),
        )
        .await
    }

    /// Unfreezes a frozen shopper and appends `audit`, in one transaction; a shopper who is not
    /// frozen is refused (`Refusal::NotFrozen`) and nothing is written.
    pub async fn unfreeze_user(&self, id: Uuid, now: i64, audit: &AuditRecord) -> Result<()> {
        self.change_frozen(
            "UPDATE users SET frozen_at = NULL, frozen_reason = $2, updated_at = $1
             WHERE id = $3 AND frozen_at IS NOT NULL",
            None,
            id,
            now,
            (Refusal::NotFrozen, audit),
        )
        .await
    }

    /// Runs `sql` (a conditional update of the shopper `$3` at `$1` with the reason `$2`) and
    /// appends the audit record; when no row changed, tells an unknown shopper from one in the
    /// wrong state (`unchanged`).
    async fn change_frozen(
        &self,
        sql: &str,
        reason: Option<&str>,
        id: Uuid,
        now: i64,
        (unchanged, audit): (Refusal, &AuditRecord),
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(sql)
            .bind(now)
            .bind(reason)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            let exists = sqlx::query("SELECT 1 AS found FROM users WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            tx.rollback().await?;
            return Err(match exists {
                Some(_) => Error::Refused(unchanged),
                None => Error::NotFound,
            });
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Writes the account row first in `tx`, so that concurrent changes to one shopper's cards or
/// passkeys are serialised on it (a row lock on PostgreSQL, the write lock on SQLite).
pub(super) async fn lock_account(tx: &mut Tx, user_id: Uuid, now: i64) -> Result<()> {
    sqlx::query("UPDATE users SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(user_id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| Error::Corrupt(format!("id {s:?}: {e}")))
}
