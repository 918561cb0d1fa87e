//! The wallet's grant-signing keys: private halves sealed under the KEK, public halves for
//! the JWKS.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::{append, AuditRecord};
use super::direct::SqlConn;
use super::error::Result;
use super::Store;

pub struct SigningKeyRow {
    pub kid: String,
    pub private_sealed: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub kek_version: i64,
    pub public_x: String,
    pub public_y: String,
}

fn key_row(r: &AnyRow) -> Result<SigningKeyRow> {
    Ok(SigningKeyRow {
        kid: r.try_get("kid")?,
        private_sealed: r.try_get("private_sealed")?,
        wrapped_key: r.try_get("wrapped_key")?,
        kek_version: r.try_get("kek_version")?,
        public_x: r.try_get("public_x")?,
        public_y: r.try_get("public_y")?,
    })
}

const COLUMNS: &str = "kid, private_sealed, wrapped_key, kek_version, public_x, public_y";

async fn insert(conn: &mut (dyn SqlConn + 'static), key: &SigningKeyRow, now: i64) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO signing_keys ({COLUMNS}, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&key.kid)
    .bind(&key.private_sealed)
    .bind(&key.wrapped_key)
    .bind(key.kek_version)
    .bind(&key.public_x)
    .bind(&key.public_y)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    pub async fn insert_signing_key(&self, key: &SigningKeyRow, now: i64) -> Result<()> {
        insert(&mut *self.write().await?, key, now).await
    }

    /// The newest key that still signs.
    pub async fn active_signing_key(&self) -> Result<Option<SigningKeyRow>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 1"
        ))
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(key_row).transpose()
    }

    /// Keys to publish: the signing ones, and retired ones whose grants may still be live.
    pub async fn published_signing_keys(&self, now: i64) -> Result<Vec<SigningKeyRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM signing_keys WHERE retired_at IS NULL OR publish_until > $1 ORDER BY created_at DESC, kid"
        ))
        .bind(now)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(key_row).collect()
    }

    /// Makes `key` the signing key: stores it, stops every other key from signing (they stay
    /// published until `publish_until`) and appends `audit`, in one transaction.
    pub async fn rotate_signing_key(
        &self,
        key: &SigningKeyRow,
        now: i64,
        publish_until: i64,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        insert(&mut *tx, key, now).await?;
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1, publish_until = $2 WHERE kid <> $3 AND retired_at IS NULL",
        )
        .bind(now)
        .bind(publish_until)
        .bind(&key.kid)
        .execute(&mut *tx)
        .await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
