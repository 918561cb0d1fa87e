//! Merchants that registered themselves (RFC 7591 and 7592): their registration access token's
//! digest, their metadata's edits and their deletion; the names of verified merchants a new
//! name is compared with; request counters per client address; and the issuer's switches.

use sqlx::Row;

use super::audit::{append, AuditRecord};
use super::error::{Error, Result};
use super::merchants::{replace_redirect_uris, MerchantRowEdit, StoredRegistration};
use super::Store;

/// The longest window a request counter of this file counts in (registrations per hour); the
/// janitor's purge keeps counters at least this long.
pub const COUNTER_WINDOW_SECS: i64 = 60 * 60;

/// A registered merchant's metadata as a client's update replaces it.
pub struct RegistrationEdit<'a> {
    pub merchant: MerchantRowEdit<'a>,
    pub metadata: &'a StoredRegistration,
    pub review_resembles: Option<&'a str>,
}

impl Store {
    /// The digest of a live registered merchant's registration access token; `None` for an
    /// unknown, deleted or issuer-created merchant.
    pub async fn registration_token_hash(&self, client_id: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT registration_token_hash FROM merchants
             WHERE client_id = $1 AND deleted_at IS NULL AND registration_token_hash IS NOT NULL",
        )
        .bind(client_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("registration_token_hash")?),
            None => None,
        })
    }

    /// Replaces a registered merchant's name, domain, webhook URL, redirect URIs and metadata,
    /// and appends `audit`, in one transaction; its status and secrets stay. A merchant that is
    /// unknown, deleted or not registered is not found.
    pub async fn update_registration(
        &self,
        edit: &RegistrationEdit<'_>,
        audit: &AuditRecord,
    ) -> Result<()> {
        let m = &edit.merchant;
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE merchants SET name = $1, domain = $2, webhook_url = $3,
                    token_endpoint_auth_method = $4, client_uri = $5, logo_uri = $6,
                    review_resembles = $7
             WHERE client_id = $8 AND deleted_at IS NULL AND registration_token_hash IS NOT NULL",
        )
        .bind(m.name)
        .bind(m.domain)
        .bind(m.webhook_url)
        .bind(edit.metadata.token_endpoint_auth_method.as_str())
        .bind(edit.metadata.client_uri.as_deref())
        .bind(edit.metadata.logo_uri.as_deref())
        .bind(edit.review_resembles)
        .bind(m.client_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(Error::NotFound);
        }
        replace_redirect_uris(&mut tx, m.client_id, m.redirect_uris).await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a registered merchant for good: its secret, its registration access token and
    /// its pushed requests go, and it is no longer found for authentication; the row stays for
    /// the payments that name it. Appends `audit` in the same transaction. A merchant already
    /// deleted, unknown or not registered is not found.
    pub async fn delete_registration(
        &self,
        client_id: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE merchants SET deleted_at = $1, secret_hash = '', registration_token_hash = NULL
             WHERE client_id = $2 AND deleted_at IS NULL AND registration_token_hash IS NOT NULL",
        )
        .bind(now)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(Error::NotFound);
        }
        sqlx::query("DELETE FROM par_requests WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The names of the verified merchants other than `except`.
    pub async fn verified_merchant_names(&self, except: Option<&str>) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT name FROM merchants
             WHERE status = 'verified' AND deleted_at IS NULL AND client_id <> $1
             ORDER BY name",
        )
        .bind(except.unwrap_or(""))
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
    }

    /// Counts one more request for `key` in a fixed window of `window` seconds, starting a new
    /// window when the old one is over; gives the count and when the window started. The
    /// counters share the table (and the janitor's purge) of the sign-in failures.
    pub async fn count_request(&self, key: &str, now: i64, window: i64) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1)
             ON CONFLICT (key) DO UPDATE SET
               count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END,
               window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END
             RETURNING count, window_start",
        )
        .bind(key)
        .bind(now)
        .bind(now - window)
        .fetch_one(&mut *self.write().await?)
        .await?;
        Ok((row.try_get("count")?, row.try_get("window_start")?))
    }

    /// Whether the issuer's switch `name` is on; `None` if it was never set.
    pub async fn switch(&self, name: &str) -> Result<Option<bool>> {
        let row = sqlx::query("SELECT is_on FROM issuer_switches WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get::<i64, _>("is_on")? != 0),
            None => None,
        })
    }

    /// Sets the issuer's switch `name` and appends `audit`, in one transaction.
    pub async fn set_switch(
        &self,
        name: &str,
        on: bool,
        now: i64,
        by: &str,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO issuer_switches (name, is_on, changed_at, changed_by) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET is_on = $2, changed_at = $3, changed_by = $4",
        )
        .bind(name)
        .bind(i64::from(on))
        .bind(now)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
