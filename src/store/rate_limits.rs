//! Fixed-window failure counters, shared by every node through the database.

use sqlx::Row;

use super::audit::{append, AuditRecord};
use super::error::Result;
use super::Store;

impl Store {
    /// Counts one more failure for `key` in the window that started at most `window` seconds
    /// ago, starting a new window when the old one is over. Returns the count. The failure
    /// that brings the count to `lockout`'s threshold appends its entry, in the same
    /// transaction.
    pub async fn record_failure(
        &self,
        key: &str,
        now: i64,
        window: i64,
        lockout: (i64, &AuditRecord),
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1)
             ON CONFLICT (key) DO UPDATE SET
               count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END,
               window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END
             RETURNING count",
        )
        .bind(key)
        .bind(now)
        .bind(now - window)
        .fetch_one(&mut *tx)
        .await?;
        let count: i64 = row.try_get("count")?;
        let (threshold, audit) = lockout;
        if count == threshold {
            append(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(count)
    }

    /// Failures for `key` in the current window.
    pub async fn failures(&self, key: &str, now: i64, window: i64) -> Result<i64> {
        let row = sqlx::query("SELECT count FROM rate_limits WHERE key = $1 AND window_start > $2")
            .bind(key)
            .bind(now - window)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(match row {
            Some(r) => r.try_get("count")?,
            None => 0,
        })
    }

    pub async fn clear_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM rate_limits WHERE key = $1")
            .bind(key)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }
}
