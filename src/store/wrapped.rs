//! Keys wrapped by the key-encryption key, wherever they are stored: card data keys, the
//! data keys of grant-signing keys, and merchants' webhook secrets. Rotation re-wraps them all.

use sqlx::Row;

use super::error::Result;
use super::Store;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrappedTable {
    Cards,
    SigningKeys,
    WebhookSecrets,
    /// The previous webhook secret while a rotation's overlap lasts (NULL otherwise).
    PreviousWebhookSecrets,
}

impl WrappedTable {
    pub const ALL: [WrappedTable; 4] = [
        WrappedTable::Cards,
        WrappedTable::SigningKeys,
        WrappedTable::WebhookSecrets,
        WrappedTable::PreviousWebhookSecrets,
    ];

    /// Table, id column, wrapped-key column, version column.
    fn columns(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            WrappedTable::Cards => ("cards", "id", "wrapped_key", "kek_version"),
            WrappedTable::SigningKeys => ("signing_keys", "kid", "wrapped_key", "kek_version"),
            WrappedTable::WebhookSecrets => (
                "merchants",
                "client_id",
                "webhook_secret_wrapped",
                "webhook_kek_version",
            ),
            WrappedTable::PreviousWebhookSecrets => (
                "merchants",
                "client_id",
                "webhook_prev_secret_wrapped",
                "webhook_prev_kek_version",
            ),
        }
    }
}

/// A wrapped key that is due for re-wrapping.
pub struct RewrapCandidate {
    pub id: String,
    pub wrapped_key: Vec<u8>,
    pub kek_version: i64,
}

impl Store {
    /// Up to `limit` keys of `table` wrapped by another version than `version`.
    pub async fn wrapped_to_rewrap(
        &self,
        table: WrappedTable,
        version: i64,
        limit: i64,
    ) -> Result<Vec<RewrapCandidate>> {
        let (t, id, key, ver) = table.columns();
        let rows = sqlx::query(&format!(
            "SELECT {id} AS id, {key} AS wrapped_key, {ver} AS kek_version FROM {t} WHERE {ver} <> $1 ORDER BY {id} LIMIT $2"
        ))
        .bind(version)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RewrapCandidate {
                    id: r.try_get("id")?,
                    wrapped_key: r.try_get("wrapped_key")?,
                    kek_version: r.try_get("kek_version")?,
                })
            })
            .collect()
    }

    /// Stores a re-wrapped key unless the row changed meanwhile (then `false`).
    pub async fn replace_wrapped(
        &self,
        table: WrappedTable,
        id: &str,
        old_version: i64,
        wrapped: &[u8],
        new_version: i64,
    ) -> Result<bool> {
        let (t, id_col, key, ver) = table.columns();
        let updated = sqlx::query(&format!(
            "UPDATE {t} SET {key} = $1, {ver} = $2 WHERE {id_col} = $3 AND {ver} = $4"
        ))
        .bind(wrapped)
        .bind(new_version)
        .bind(id)
        .bind(old_version)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// How many wrapped keys (of every kind) each KEK version holds.
    pub async fn wrapped_per_key_version(&self) -> Result<Vec<(i64, i64)>> {
        let mut totals: std::collections::BTreeMap<i64, i64> = Default::default();
        for table in WrappedTable::ALL {
            let (t, _, _, ver) = table.columns();
            let rows = sqlx::query(&format!(
                "SELECT {ver} AS v, COUNT(*) AS n FROM {t} WHERE {ver} IS NOT NULL GROUP BY {ver}"
            ))
            .fetch_all(&mut *self.read().await?)
            .await?;
            for r in rows {
                *totals.entry(r.try_get("v")?).or_default() += r.try_get::<i64, _>("n")?;
            }
        }
        Ok(totals.into_iter().collect())
    }
}
