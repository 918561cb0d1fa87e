//! Idempotency keys of the payments API: the first request with a key runs, and its response
//! is kept for 24 hours and replayed byte for byte.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::error::Result;
use super::{Store, Tx};

/// What a request with an idempotency key should do.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// Run it; the key is held for it.
    Run,
    /// Answer with the stored response.
    Replay {
        status: u16,
        body: Vec<u8>,
        content_type: Option<String>,
    },
    /// The key was used with other parameters.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

/// An idempotency key is scoped to the merchant and the endpoint.
#[derive(Clone, Copy)]
pub struct KeyScope<'a> {
    pub client_id: &'a str,
    pub endpoint: &'a str,
    pub key: &'a str,
}

/// A request's answer, kept for its key.
pub struct KeyAnswer<'a> {
    pub scope: KeyScope<'a>,
    pub status: u16,
    pub body: &'a [u8],
    pub content_type: Option<&'a str>,
}

/// Keeps `answer` for its key inside `tx`: with the change that the request made, when that
/// change records its own answer.
pub(super) async fn complete_in(tx: &mut Tx, answer: &KeyAnswer<'_>) -> Result<()> {
    let query = sqlx::query(
        "UPDATE idempotency_keys SET status = $1, body = $2, content_type = $3
         WHERE client_id = $4 AND endpoint = $5 AND idem_key = $6",
    )
    .bind(i64::from(answer.status))
    .bind(answer.body)
    .bind(answer.content_type);
    bind_scope(query, &answer.scope).execute(&mut **tx).await?;
    Ok(())
}

/// Binds the next three parameters to the key's scope: merchant, endpoint and key.
fn bind_scope<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    scope: &KeyScope<'q>,
) -> Query<'q, Any, AnyArguments<'q>> {
    query
        .bind(scope.client_id)
        .bind(scope.endpoint)
        .bind(scope.key)
}

impl Store {
    /// Claims `key` for a request whose body hashes to `request_hash`.
    pub async fn claim_idempotency_key(
        &self,
        scope: &KeyScope<'_>,
        request_hash: &str,
        now: i64,
        lease_secs: i64,
        keep_secs: i64,
    ) -> Result<Claim> {
        // Insert first: a fresh key (the usual case) costs one statement. Only when the key is
        // taken is an expired holder cleared, and the insert tried again.
        for attempt in 0..2 {
            let mut tx = self.begin_single().await?;
            let insert = sqlx::query(
                "INSERT INTO idempotency_keys (client_id, endpoint, idem_key, request_hash, locked_until, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            );
            let inserted = bind_scope(insert, scope)
                .bind(request_hash)
                .bind(now + lease_secs)
                .bind(now + keep_secs)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            if inserted.rows_affected() == 1 {
                return Ok(Claim::Run);
            }
            if attempt == 1 {
                break;
            }
            let mut tx = self.begin_single().await?;
            let clear = sqlx::query("DELETE FROM idempotency_keys WHERE client_id = $1 AND endpoint = $2 AND idem_key = $3 AND expires_at <= $4");
            let expired = bind_scope(clear, scope).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            if expired.rows_affected() == 0 {
                break;
            }
        }
        let select = sqlx::query(
            "SELECT request_hash, status, body, content_type, locked_until FROM idempotency_keys
             WHERE client_id = $1 AND endpoint = $2 AND idem_key = $3",
        );
        let Some(row) = bind_scope(select, scope)
            .fetch_optional(&mut *self.read().await?)
            .await?
        else {
            return Ok(Claim::InProgress);
        };
        if row.try_get::<String, _>("request_hash")? != request_hash {
            return Ok(Claim::Mismatch);
        }
        if let Some(status) = row.try_get::<Option<i64>, _>("status")? {
            return Ok(Claim::Replay {
                status: u16::try_from(status).unwrap_or(500),
                body: row
                    .try_get::<Option<Vec<u8>>, _>("body")?
                    .unwrap_or_default(),
                content_type: row.try_get("content_type")?,
            });
        }
        // A first request that died without answering frees its key once the lease ends.
        let mut tx = self.begin_single().await?;
        let take = sqlx::query(
            "UPDATE idempotency_keys SET locked_until = $1
             WHERE client_id = $2 AND endpoint = $3 AND idem_key = $4 AND status IS NULL AND locked_until <= $5",
        )
        .bind(now + lease_secs);
        let taken = bind_scope(take, scope).bind(now).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(if taken.rows_affected() == 1 {
            Claim::Run
        } else {
            Claim::InProgress
        })
    }

    pub async fn complete_idempotency_key(
        &self,
        scope: &KeyScope<'_>,
        status: u16,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.begin_single().await?;
        let answer = KeyAnswer {
            scope: *scope,
            status,
            body,
            content_type,
        };
        complete_in(&mut tx, &answer).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Frees a key whose request failed on our side, so a retry runs again.
    pub async fn release_idempotency_key(&self, scope: &KeyScope<'_>) -> Result<()> {
        let mut tx = self.begin_single().await?;
        let delete = sqlx::query("DELETE FROM idempotency_keys WHERE client_id = $1 AND endpoint = $2 AND idem_key = $3 AND status IS NULL");
        bind_scope(delete, scope).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
