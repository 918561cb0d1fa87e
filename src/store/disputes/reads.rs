//! Reading disputes: one by id, a shopper's, a merchant's, the console's lists and queue, and
//! those a crash left being resolved.

use sqlx::Row;

use super::{dispute_row, StoredDispute, COLUMNS, FROM};
use crate::store::error::Result;
use crate::store::Store;

impl Store {
    /// Disputes being resolved whose lease lapsed, oldest first.
    pub async fn stalled_disputes(&self, now: i64, limit: i64) -> Result<Vec<StoredDispute>> {
        self.disputes_where(
            "d.status = 'resolving' AND (d.lease_until IS NULL OR d.lease_until <= $1) ORDER BY d.lease_until LIMIT $2",
            &[Bind::Int(now), Bind::Int(limit)],
        )
        .await
    }

    /// The payment's dispute that is not resolved, if any.
    pub async fn unresolved_dispute_of(&self, payment_id: &str) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT id FROM disputes WHERE payment_id = $1 AND status <> 'resolved'")
                .bind(payment_id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        row.map(|r| Ok(r.try_get("id")?)).transpose()
    }

    pub async fn dispute(&self, id: &str) -> Result<Option<StoredDispute>> {
        Ok(self
            .disputes_where("d.id = $1", &[Bind::Text(id)])
            .await?
            .pop())
    }

    /// A shopper's disputes, newest first.
    pub async fn disputes_of_user(&self, user_id: &str) -> Result<Vec<StoredDispute>> {
        self.disputes_where(
            "d.user_id = $1 ORDER BY d.opened_at DESC, d.id DESC",
            &[Bind::Text(user_id)],
        )
        .await
    }

    /// A merchant's disputes (in `status`, if given), newest first.
    pub async fn disputes_of_merchant(
        &self,
        client_id: &str,
        status: Option<&str>,
    ) -> Result<Vec<StoredDispute>> {
        self.disputes_where(
            "d.client_id = $1 AND ($2 IS NULL OR d.status = $2) ORDER BY d.opened_at DESC, d.id DESC LIMIT 500",
            &[Bind::Text(client_id), Bind::OptText(status)],
        )
        .await
    }

    /// Every dispute (in `status`, if given), newest first.
    pub async fn all_disputes(&self, status: Option<&str>) -> Result<Vec<StoredDispute>> {
        self.disputes_where(
            "($1 IS NULL OR d.status = $1) ORDER BY d.opened_at DESC, d.id DESC LIMIT 500",
            &[Bind::OptText(status)],
        )
        .await
    }

    /// Disputes with evidence received, or open past `respond_by`, oldest first.
    pub async fn disputes_awaiting_decision(&self, now: i64) -> Result<Vec<StoredDispute>> {
        self.disputes_where(
            "(d.status = 'evidence_received' OR (d.status = 'open' AND d.respond_by < $1))
             ORDER BY d.opened_at, d.id LIMIT 500",
            &[Bind::Int(now)],
        )
        .await
    }

    async fn disputes_where(
        &self,
        condition: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<StoredDispute>> {
        let sql = format!("SELECT {COLUMNS} {FROM} WHERE {condition}");
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Int(v) => query.bind(*v),
                Bind::Text(v) => query.bind(*v),
                Bind::OptText(v) => query.bind(*v),
            };
        }
        let rows = query.fetch_all(&mut *self.read().await?).await?;
        rows.iter().map(dispute_row).collect()
    }
}

/// A value bound to a query's placeholder.
enum Bind<'a> {
    Int(i64),
    Text(&'a str),
    OptText(Option<&'a str>),
}
