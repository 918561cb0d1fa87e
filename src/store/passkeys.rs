//! Passkeys (WebAuthn credentials) of shopper accounts.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::store::direct::SqlConn;
use uuid::Uuid;

use super::error::{Error, Refusal, Result};
use super::users::{lock_account, parse_uuid, FirstPasskey};
use super::{is_unique_violation, Store, Tx};

#[derive(Clone, Debug)]
pub struct StoredPasskey {
    pub id: Uuid,
    pub user_id: Uuid,
    pub credential_id: String,
    pub name: String,
    /// webauthn-rs `Passkey` JSON: public key material only.
    pub credential_json: String,
    pub sign_count: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Outcome of recording a successful assertion.
#[derive(Debug, PartialEq, Eq)]
pub enum CounterUpdate {
    Recorded,
    /// The signature counter did not move forward: the authenticator may have been cloned.
    Regressed,
    /// The passkey was removed meanwhile.
    Gone,
}

/// A verified assertion to record on its passkey: the new counter and credential state.
#[derive(Clone)]
pub struct PasskeyUse {
    pub id: Uuid,
    pub counter: i64,
    /// webauthn-rs `Passkey` JSON: public key material only.
    pub credential_json: String,
    pub at: i64,
}

/// The conditional write of [`Store::record_passkey_use`], on `conn` (a caller's transaction,
/// or a write connection of its own).
pub(super) async fn record_passkey_use_in(
    conn: &mut (dyn SqlConn + 'static),
    used: &PasskeyUse,
) -> Result<CounterUpdate> {
    record_use_in_table(conn, used, "passkeys").await
}

/// Records a verified assertion on a passkey of `table` (shoppers' `passkeys` or
/// `admin_passkeys`): the counter must move forward (or both stay zero).
pub(super) async fn record_use_in_table(
    conn: &mut (dyn SqlConn + 'static),
    used: &PasskeyUse,
    table: &'static str,
) -> Result<CounterUpdate> {
    let updated = sqlx::query(&format!(
        "UPDATE {table} SET sign_count = $1, credential = $2, last_used_at = $3
         WHERE id = $4 AND (sign_count < $1 OR ($1 = 0 AND sign_count = 0))"
    ))
    .bind(used.counter)
    .bind(&used.credential_json)
    .bind(used.at)
    .bind(used.id.to_string())
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 1 {
        return Ok(CounterUpdate::Recorded);
    }
    let exists = sqlx::query(&format!("SELECT 1 AS found FROM {table} WHERE id = $1"))
        .bind(used.id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(if exists.is_some() {
        CounterUpdate::Regressed
    } else {
        CounterUpdate::Gone
    })
}

const COLUMNS: &str =
    "id, user_id, credential_id, name, credential, sign_count, created_at, last_used_at";

fn from_row(r: &AnyRow) -> Result<StoredPasskey> {
    Ok(StoredPasskey {
        id: parse_uuid(&r.try_get::<String, _>("id")?)?,
        user_id: parse_uuid(&r.try_get::<String, _>("user_id")?)?,
        credential_id: r.try_get("credential_id")?,
        name: r.try_get("name")?,
        credential_json: r.try_get("credential")?,
        sign_count: r.try_get("sign_count")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

/// A passkey's columns as read by a join of `passkeys pk`, each prefixed `pk_`.
pub(super) const PASSKEY_PREFIXED: &str = "pk.id AS pk_id, pk.user_id AS pk_user_id, \
     pk.credential_id AS pk_credential_id, pk.name AS pk_name, pk.credential AS pk_credential, \
     pk.sign_count AS pk_sign_count, pk.created_at AS pk_created_at, \
     pk.last_used_at AS pk_last_used_at";

/// The passkey read with [`PASSKEY_PREFIXED`], if the join found one.
pub(super) fn passkey_row_as(r: &AnyRow) -> Result<Option<StoredPasskey>> {
    let Some(id) = r.try_get::<Option<String>, _>("pk_id")? else {
        return Ok(None);
    };
    Ok(Some(StoredPasskey {
        id: parse_uuid(&id)?,
        user_id: parse_uuid(&r.try_get::<String, _>("pk_user_id")?)?,
        credential_id: r.try_get("pk_credential_id")?,
        name: r.try_get("pk_name")?,
        credential_json: r.try_get("pk_credential")?,
        sign_count: r.try_get("pk_sign_count")?,
        created_at: r.try_get("pk_created_at")?,
        last_used_at: r.try_get("pk_last_used_at")?,
    }))
}

impl Store {
    pub(super) async fn insert_passkey_in(
        &self,
        tx: &mut Tx,
        user_id: Uuid,
        passkey: FirstPasskey<'_>,
        now: i64,
    ) -> Result<()> {
        let inserted = sqlx::query(
            "INSERT INTO passkeys (id, user_id, credential_id, name, credential, sign_count, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(passkey.id.to_string())
        .bind(user_id.to_string())
        .bind(passkey.credential_id)
        .bind(passkey.name)
        .bind(passkey.credential_json)
        .bind(passkey.sign_count)
        .bind(now)
        .execute(&mut **tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                Err(Error::Refused(Refusal::PasskeyAlreadyRegistered))
            }
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    pub async fn add_passkey(
        &self,
        user_id: Uuid,
        passkey: FirstPasskey<'_>,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        self.insert_passkey_in(&mut tx, user_id, passkey, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_passkeys(&self, user_id: Uuid) -> Result<Vec<StoredPasskey>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user_id.to_string())
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn count_passkeys(&self, user_id: Uuid) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM passkeys WHERE user_id = $1")
            .bind(user_id.to_string())
            .fetch_one(&mut *self.read().await?)
            .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn find_passkey(
        &self,
        user_id: Uuid,
        credential_id: &str,
    ) -> Result<Option<StoredPasskey>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 AND credential_id = $2"
        ))
        .bind(user_id.to_string())
        .bind(credential_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Records a verified assertion with a conditional write: the counter must move forward
    /// (or stay at zero for authenticators without one), so two nodes racing with a cloned
    /// authenticator's assertions cannot both succeed.
    pub async fn record_passkey_use(&self, used: &PasskeyUse) -> Result<CounterUpdate> {
        let mut tx = self.begin_one().await?;
        let update = record_passkey_use_in(&mut *tx, used).await?;
        tx.commit().await?;
        Ok(update)
    }

    pub async fn rename_passkey(&self, user_id: Uuid, id: Uuid, name: &str) -> Result<()> {
        let updated = sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3")
            .bind(name)
            .bind(id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *self.write().await?)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        Ok(())
    }

    /// Removes a passkey unless it is the account's last one. The account row is written
    /// first so that concurrent removals of an account's passkeys are serialised on it
    /// (a row lock on PostgreSQL, the write lock on SQLite) and cannot remove both.
    pub async fn delete_passkey(&self, user_id: Uuid, id: Uuid, now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        lock_account(&mut tx, user_id, now).await?;
        let deleted = sqlx::query(
            "DELETE FROM passkeys WHERE id = $1 AND user_id = $2
               AND (SELECT COUNT(*) FROM passkeys WHERE user_id = $2) > 1",
        )
        .bind(id.to_string())
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?;
        if deleted.rows_affected() == 1 {
            tx.commit().await?;
            return Ok(());
        }
        let exists = sqlx::query("SELECT 1 FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        tx.rollback().await?;
        match exists {
            Some(_) => Err(Error::Refused(Refusal::LastPasskey)),
            None => Err(Error::NotFound),
        }
    }
}
