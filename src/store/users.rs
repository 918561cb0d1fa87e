//! Shopper accounts.

use sqlx::Row;
use uuid::Uuid;

use super::error::{Error, Refusal, Result};
use super::{is_unique_violation, Store, Tx};
use crate::accounts::user::User;

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

    pub async fn find_user(&self, id: Uuid) -> Result<Option<User>> {
        let row =
            sqlx::query("SELECT id, email, display_name, created_at FROM users WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *self.read().await?)
                .await?;
        row.map(|r| {
            Ok(User {
                id: parse_uuid(&r.try_get::<String, _>("id")?)?,
                email: r.try_get("email")?,
                display_name: r.try_get("display_name")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
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
