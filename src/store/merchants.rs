//! Merchants: OAuth clients with their exactly registered redirect URIs.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::{append, AuditRecord};
use super::error::{Error, Refusal, Result};
use super::{is_unique_violation, Backend, Store, Tx};

#[derive(Clone, Debug)]
pub struct StoredMerchant {
    pub client_id: String,
    pub name: String,
    pub domain: String,
    pub status: String,
    pub webhook_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub created_at: i64,
    pub status_reason: Option<String>,
    pub status_changed_at: Option<i64>,
    /// Set for a merchant that registered itself (RFC 7591).
    pub registration: Option<StoredRegistration>,
    /// The verified merchant's name this one's imitates, kept for the issuer's review.
    pub review_resembles: Option<String>,
    pub deleted_at: Option<i64>,
}

/// The client metadata a merchant registered itself with, beside its name and addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRegistration {
    pub token_endpoint_auth_method: String,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
}

/// A vetting status change, with what announces and records it. `announce` is given the
/// previous status and renders the event body and the audit record.
pub struct StatusChange<'a> {
    pub client_id: &'a str,
    pub status: &'a str,
    pub reason: Option<&'a str>,
    pub at: i64,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub announce: &'a (dyn Fn(&str) -> anyhow::Result<(String, AuditRecord)> + Send + Sync),
}

/// A merchant's edited identity and addresses, as they replace the stored ones.
pub struct MerchantRowEdit<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub domain: &'a str,
    pub webhook_url: Option<&'a str>,
    pub redirect_uris: &'a [String],
}

/// `text` with the LIKE wildcards (and the escape character) escaped by a backslash.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
    /// A merchant registering itself: its token's digest and metadata, and the flag for review.
    pub registered: Option<NewRegistrationRow<'a>>,
}

pub struct NewRegistrationRow<'a> {
    pub token_hash: &'a str,
    pub metadata: &'a StoredRegistration,
    pub review_resembles: Option<&'a str>,
}

const COLUMNS: &str = "client_id, name, domain, status, webhook_url, created_at, status_reason, \
     status_changed_at, token_endpoint_auth_method, client_uri, logo_uri, review_resembles, \
     deleted_at";

pub(super) fn merchant_row(r: &AnyRow, redirect_uris: Vec<String>) -> Result<StoredMerchant> {
    Ok(StoredMerchant {
        client_id: r.try_get("client_id")?,
        name: r.try_get("name")?,
        domain: r.try_get("domain")?,
        status: r.try_get("status")?,
        webhook_url: r.try_get("webhook_url")?,
        redirect_uris,
        created_at: r.try_get("created_at")?,
        status_reason: r.try_get("status_reason")?,
        status_changed_at: r.try_get("status_changed_at")?,
        registration: r
            .try_get::<Option<String>, _>("token_endpoint_auth_method")?
            .map(|method| -> Result<StoredRegistration> {
                Ok(StoredRegistration {
                    token_endpoint_auth_method: method,
                    client_uri: r.try_get("client_uri")?,
                    logo_uri: r.try_get("logo_uri")?,
                })
            })
            .transpose()?,
        review_resembles: r.try_get("review_resembles")?,
        deleted_at: r.try_get("deleted_at")?,
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
                                    webhook_secret_wrapped, webhook_kek_version, created_at,
                                    registration_token_hash, token_endpoint_auth_method,
                                    client_uri, logo_uri, review_resembles)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
        .bind(m.registered.as_ref().map(|r| r.token_hash))
        .bind(
            m.registered
                .as_ref()
                .map(|r| r.metadata.token_endpoint_auth_method.as_str()),
        )
        .bind(
            m.registered
                .as_ref()
                .and_then(|r| r.metadata.client_uri.as_deref()),
        )
        .bind(
            m.registered
                .as_ref()
                .and_then(|r| r.metadata.logo_uri.as_deref()),
        )
        .bind(m.registered.as_ref().and_then(|r| r.review_resembles))
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Refused(Refusal::ClientIdTaken))
            }
            other => other?,
        };
        insert_redirect_uris(&mut tx, m.client_id, m.redirect_uris).await?;
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
    /// every merchant API call and consent step needs it. A deleted registration is not found.
    pub async fn merchant_with_secret_hash(
        &self,
        client_id: &str,
    ) -> Result<Option<(StoredMerchant, String)>> {
        let rows = sqlx::query(
            "SELECT m.client_id, m.name, m.domain, m.status, m.webhook_url, m.created_at,
                    m.status_reason, m.status_changed_at, m.token_endpoint_auth_method,
                    m.client_uri, m.logo_uri, m.review_resembles, m.deleted_at,
                    m.secret_hash, r.uri
             FROM merchants m LEFT JOIN merchant_redirect_uris r ON r.client_id = m.client_id
             WHERE m.client_id = $1 AND m.deleted_at IS NULL ORDER BY r.uri",
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

    /// The merchant, deleted or not, for the issuer's records.
    pub async fn merchant_on_record(&self, client_id: &str) -> Result<Option<StoredMerchant>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM merchants WHERE client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        match row {
            Some(r) => Ok(Some(merchant_row(
                &r,
                self.redirect_uris(client_id).await?,
            )?)),
            None => Ok(None),
        }
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

    /// Gives the merchant `change.status` with its reason, and puts the event announcing it in
    /// the outbox, in one transaction with `change.audit`; nothing is written when the merchant
    /// already has that status. Gives the previous status if it changed, `None` if not.
    pub async fn change_merchant_status(
        &self,
        change: &StatusChange<'_>,
    ) -> Result<Option<String>> {
        let mut tx = self.begin().await?;
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE",
            Backend::Sqlite => "",
        };
        let row = sqlx::query(&format!(
            "SELECT status FROM merchants WHERE client_id = $1 {lock}"
        ))
        .bind(change.client_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Err(Error::NotFound);
        };
        let previous: String = row.try_get("status")?;
        if previous == change.status {
            tx.rollback().await?;
            return Ok(None);
        }
        sqlx::query(
            "UPDATE merchants SET status = $1, status_reason = $2, status_changed_at = $3
             WHERE client_id = $4",
        )
        .bind(change.status)
        .bind(change.reason)
        .bind(change.at)
        .bind(change.client_id)
        .execute(&mut *tx)
        .await?;
        let (payload, audit) = (change.announce)(&previous).map_err(Error::Render)?;
        super::webhooks::enqueue(
            &mut tx,
            &super::webhooks::NewEvent {
                id: change.event_id,
                client_id: change.client_id,
                event_type: change.event_type,
                subject_id: change.client_id,
                payload: &payload,
                created_at: change.at,
                next_attempt_ms: change.at * 1000,
            },
        )
        .await?;
        append(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(Some(previous))
    }

    /// Replaces the merchant's name, domain, webhook URL and redirect URIs, and appends
    /// `audit`, in one transaction; an unknown merchant is not found.
    pub async fn update_merchant(
        &self,
        edit: &MerchantRowEdit<'_>,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE merchants SET name = $1, domain = $2, webhook_url = $3 WHERE client_id = $4",
        )
        .bind(edit.name)
        .bind(edit.domain)
        .bind(edit.webhook_url)
        .bind(edit.client_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(Error::NotFound);
        }
        replace_redirect_uris(&mut tx, edit.client_id, edit.redirect_uris).await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Merchants whose name, domain or client id contains `query` (any letter case; `None`
    /// matches all), newest first, at most `limit`.
    pub async fn search_merchants(
        &self,
        query: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StoredMerchant>> {
        let pattern = match query {
            Some(q) => format!("%{}%", escape_like(&q.to_lowercase())),
            None => "%".to_string(),
        };
        let picked = COLUMNS
            .split(',')
            .map(|c| format!("m.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {picked}, r.uri FROM
               (SELECT {COLUMNS} FROM merchants
                WHERE LOWER(name) LIKE $1 ESCAPE '\\' OR LOWER(domain) LIKE $1 ESCAPE '\\'
                   OR LOWER(client_id) LIKE $1 ESCAPE '\\'
                ORDER BY created_at DESC, client_id DESC LIMIT $2) m
             LEFT JOIN merchant_redirect_uris r ON r.client_id = m.client_id
             ORDER BY m.created_at DESC, m.client_id DESC, r.uri"
        ))
        .bind(pattern)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        let mut merchants: Vec<StoredMerchant> = Vec::new();
        for r in &rows {
            let id: String = r.try_get("client_id")?;
            if merchants.last().map(|m| m.client_id != id).unwrap_or(true) {
                merchants.push(merchant_row(r, Vec::new())?);
            }
            if let (Some(uri), Some(m)) =
                (r.try_get::<Option<String>, _>("uri")?, merchants.last_mut())
            {
                m.redirect_uris.push(uri);
            }
        }
        Ok(merchants)
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

/// Records a merchant's redirect URIs (duplicates once).
async fn insert_redirect_uris(tx: &mut Tx, client_id: &str, uris: &[String]) -> Result<()> {
    for uri in uris {
        sqlx::query("INSERT INTO merchant_redirect_uris (client_id, uri) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(client_id)
            .bind(uri)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Replaces a merchant's redirect URIs with `uris`, in the caller's transaction.
pub(super) async fn replace_redirect_uris(
    tx: &mut Tx,
    client_id: &str,
    uris: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM merchant_redirect_uris WHERE client_id = $1")
        .bind(client_id)
        .execute(&mut **tx)
        .await?;
    insert_redirect_uris(tx, client_id, uris).await
}
