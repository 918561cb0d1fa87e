//! Merchants: OAuth clients with their exactly registered redirect URIs.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::{append, AuditRecord};
use super::error::{Error, Refusal, Result};
use super::{is_unique_violation, Store};

#[derive(Clone, Debug)]
pub struct StoredMerchant {
    pub client_id: String,
    pub name: String,
    pub domain: String,
    pub status: String,
    pub webhook_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub created_at: i64,
}

pub struct NewMerchantRow<'a> {
    pub client_id: &'a str,
    pub secret_hash: &'a str,
    pub name: &'a str,
    pub domain: &'a str,
    pub status: &'a str,
    pub webhook_url: Option<&'a str>,
    pub webhook_secret_wrapped: &'a [u8],
    pub webhook_kek_version: i64,
    pub redirect_uris: &'a [String],
}

const COLUMNS: &str = "client_id, name, domain, status, webhook_url, created_at";

pub(super) fn merchant_row(r: &AnyRow, redirect_uris: Vec<String>) -> Result<StoredMerchant> {
    Ok(StoredMerchant {
        client_id: r.try_get("client_id")?,
        name: r.try_get("name")?,
        domain: r.try_get("domain")?,
        status: r.try_get("status")?,
        webhook_url: r.try_get("webhook_url")?,
        redirect_uris,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    /// Registers a merchant and appends `audit`, in one transaction.
    pub async fn insert_merchant(
        &self,
        m: NewMerchantRow<'_>,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO merchants (client_id, secret_hash, name, domain, status, webhook_url,
                                    webhook_secret_wrapped, webhook_kek_version, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(m.client_id)
        .bind(m.secret_hash)
        .bind(m.name)
        .bind(m.domain)
        .bind(m.status)
        .bind(m.webhook_url)
        .bind(m.webhook_secret_wrapped)
        .bind(m.webhook_kek_version)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Refused(Refusal::ClientIdTaken))
            }
            other => other?,
        };
        for uri in m.redirect_uris {
            sqlx::query("INSERT INTO merchant_redirect_uris (client_id, uri) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(m.client_id)
                .bind(uri)
                .execute(&mut *tx)
                .await?;
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn redirect_uris(&self, client_id: &str) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT uri FROM merchant_redirect_uris WHERE client_id = $1 ORDER BY uri")
                .bind(client_id)
                .fetch_all(&mut *self.read().await?)
                .await?;
        rows.iter().map(|r| Ok(r.try_get("uri")?)).collect()
    }

    pub async fn find_merchant(&self, client_id: &str) -> Result<Option<StoredMerchant>> {
        Ok(self
            .merchant_with_secret_hash(client_id)
            .await?
            .map(|(m, _)| m))
    }

    /// The merchant and its secret's hash, for client authentication; one statement, as
    /// every merchant API call and consent step needs it.
    pub async fn merchant_with_secret_hash(
        &self,
        client_id: &str,
    ) -> Result<Option<(StoredMerchant, String)>> {
        let rows = sqlx::query(
            "SELECT m.client_id, m.name, m.domain, m.status, m.webhook_url, m.created_at,
                    m.secret_hash, r.uri
             FROM merchants m LEFT JOIN merchant_redirect_uris r ON r.client_id = m.client_id
             WHERE m.client_id = $1 ORDER BY r.uri",
        )
        .bind(client_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let mut uris = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(uri) = r.try_get::<Option<String>, _>("uri")? {
                uris.push(uri);
            }
        }
        Ok(Some((
            merchant_row(first, uris)?,
            first.try_get("secret_hash")?,
        )))
    }

    pub async fn list_merchants(&self) -> Result<Vec<StoredMerchant>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM merchants ORDER BY created_at, client_id"
        ))
        .fetch_all(&mut *self.read().await?)
        .await?;
        let mut merchants = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("client_id")?;
            merchants.push(merchant_row(r, self.redirect_uris(&id).await?)?);
        }
        Ok(merchants)
    }

    pub async fn set_merchant_secret_hash(
        &self,
        client_id: &str,
        secret_hash: &str,
        audit: &AuditRecord,
    ) -> Result<()> {
        self.set_merchant_column(
            "UPDATE merchants SET secret_hash = $1 WHERE client_id = $2",
            secret_hash,
            client_id,
            audit,
        )
        .await
    }

    pub async fn set_merchant_status(
        &self,
        client_id: &str,
        status: &str,
        audit: &AuditRecord,
    ) -> Result<()> {
        self.set_merchant_column(
            "UPDATE merchants SET status = $1 WHERE client_id = $2",
            status,
            client_id,
            audit,
        )
        .await
    }

    /// Runs `sql`, an update of one merchant's column to `$1` where the client id is `$2`, and
    /// appends `audit`, in one transaction; an unknown merchant is not found (and nothing is
    /// recorded).
    pub(super) async fn set_merchant_column<'q, T>(
        &self,
        sql: &'q str,
        value: T,
        client_id: &'q str,
        audit: &AuditRecord,
    ) -> Result<()>
    where
        T: 'q + Send + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(sql)
            .bind(value)
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(Error::NotFound);
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
