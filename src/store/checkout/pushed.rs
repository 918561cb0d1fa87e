//! Pushed authorization requests: stored for one use, then turned into a pending consent.

use sqlx::Row;

use super::consent::{Consent, ConsentStatus};
use super::{pushed_row, Pushed};
use crate::store::error::Result;
use crate::store::Store;

/// Why a `request_uri` was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum RequestUriRefusal {
    /// The client's merchant is suspended (checked first: the request is not used up).
    MerchantSuspended,
    Unknown,
    Used,
    Expired,
    OtherClient,
}

impl Store {
    pub async fn insert_pushed_request(
        &self,
        id_hash: &str,
        p: &Pushed,
        expires_at: i64,
    ) -> Result<()> {
        let mut tx = self.begin_single().await?;
        sqlx::query(
            "INSERT INTO par_requests (id_hash, client_id, redirect_uri, state, code_challenge, details, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id_hash)
        .bind(&p.client_id)
        .bind(&p.redirect_uri)
        .bind(&p.state)
        .bind(&p.code_challenge)
        .bind(&p.details)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses a pushed request once, for its own client, before it expires and while its
    /// merchant is not suspended, and turns it into a pending consent in the same transaction,
    /// bound to the browser whose key hashes to `browser_hash`.
    pub async fn consume_pushed_request(
        &self,
        id_hash: &str,
        client_id: &str,
        consent_id: &str,
        browser_hash: &str,
        consent_expires_at: i64,
        now: i64,
    ) -> Result<std::result::Result<Consent, RequestUriRefusal>> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "UPDATE par_requests SET used_at = $1
             WHERE id_hash = $2 AND client_id = $3 AND used_at IS NULL AND expires_at > $1
               AND NOT EXISTS (SELECT 1 FROM merchants m WHERE m.client_id = $3
                               AND m.deleted_at IS NULL AND m.status = 'suspended')
             RETURNING client_id, redirect_uri, state, code_challenge, details",
        )
        .bind(now)
        .bind(id_hash)
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let found = sqlx::query(
                "SELECT p.client_id, p.used_at, p.expires_at,
                        (SELECT m.status FROM merchants m
                         WHERE m.client_id = $2 AND m.deleted_at IS NULL) AS merchant_status
                 FROM (SELECT 1 AS one) k LEFT JOIN par_requests p ON p.id_hash = $1",
            )
            .bind(id_hash)
            .bind(client_id)
            .fetch_one(&mut *tx)
            .await?;
            tx.rollback().await?;
            let suspended = found
                .try_get::<Option<String>, _>("merchant_status")?
                .as_deref()
                == Some("suspended");
            let client: Option<String> = found.try_get("client_id")?;
            return Ok(Err(match client {
                _ if suspended => RequestUriRefusal::MerchantSuspended,
                None => RequestUriRefusal::Unknown,
                Some(other) if other != client_id => RequestUriRefusal::OtherClient,
                Some(_) if found.try_get::<Option<i64>, _>("used_at")?.is_some() => {
                    RequestUriRefusal::Used
                }
                Some(_) => RequestUriRefusal::Expired,
            }));
        };
        let p = pushed_row(&row)?;
        sqlx::query(
            "INSERT INTO consents (id, client_id, redirect_uri, state, code_challenge, details, status, expires_at, created_at, browser_hash)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9)",
        )
        .bind(consent_id)
        .bind(&p.client_id)
        .bind(&p.redirect_uri)
        .bind(&p.state)
        .bind(&p.code_challenge)
        .bind(&p.details)
        .bind(consent_expires_at)
        .bind(now)
        .bind(browser_hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(Consent {
            id: consent_id.to_string(),
            pushed: p,
            status: ConsentStatus::Pending,
            user_id: None,
            expires_at: consent_expires_at,
            browser_hash: Some(browser_hash.to_string()),
        }))
    }
}
