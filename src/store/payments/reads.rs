//! Looking payments up: by id, by grant, by the merchant's order reference, a shopper's list.
//! A pending payment (its first attempt still in flight) is not shown to lookups by order or
//! to the shopper. Also why a grant could not be redeemed.

use sqlx::Row;

use super::row::{payment_row, StoredPayment, COLUMNS};
use super::GrantRefusal;
use crate::store::error::Result;
use crate::store::{Store, Tx};

/// Why grant `jti` of `client_id` could not be consumed, read in the redemption's transaction.
pub(super) async fn grant_refusal(tx: &mut Tx, jti: &str, client_id: &str) -> Result<GrantRefusal> {
    let row = sqlx::query(
        "SELECT g.consumed_at, g.revoked_at, g.expires_at, u.frozen_at
         FROM grants g LEFT JOIN users u ON u.id = g.user_id
         WHERE g.jti = $1 AND g.client_id = $2",
    )
    .bind(jti)
    .bind(client_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        None => GrantRefusal::Unknown,
        Some(r) if r.try_get::<Option<i64>, _>("revoked_at")?.is_some() => GrantRefusal::Revoked,
        Some(r) if r.try_get::<Option<i64>, _>("consumed_at")?.is_some() => {
            GrantRefusal::AlreadyUsed
        }
        Some(r) if r.try_get::<Option<i64>, _>("frozen_at")?.is_some() => {
            GrantRefusal::ShopperFrozen
        }
        Some(_) => GrantRefusal::Expired,
    })
}

impl Store {
    /// The payment made with grant `jti`, whatever its state.
    pub async fn payment_of_grant(
        &self,
        client_id: &str,
        jti: &str,
    ) -> Result<Option<StoredPayment>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM payments WHERE grant_jti = $1 AND client_id = $2"
        ))
        .bind(jti)
        .bind(client_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(payment_row).transpose()
    }

    /// A payment by id, whichever merchant's.
    pub async fn payment(&self, id: &str) -> Result<Option<StoredPayment>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM payments WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        row.as_ref().map(payment_row).transpose()
    }

    pub async fn capture_ref(&self, id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT capture_ref FROM payments WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<String>, _>("capture_ref"))
            .transpose()?
            .flatten())
    }

    /// A merchant's payment; another merchant's is not found.
    pub async fn find_payment(&self, client_id: &str, id: &str) -> Result<Option<StoredPayment>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM payments WHERE id = $1 AND client_id = $2"
        ))
        .bind(id)
        .bind(client_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(payment_row).transpose()
    }

    /// The merchant's latest payment for an order reference.
    pub async fn find_payment_by_order(
        &self,
        client_id: &str,
        order_reference: &str,
    ) -> Result<Option<StoredPayment>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM payments WHERE client_id = $1 AND order_reference = $2 AND status <> 'pending'
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(client_id)
        .bind(order_reference)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(payment_row).transpose()
    }

    /// A shopper's payments with the merchant's name, newest first.
    pub async fn payments_of_user(
        &self,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<(StoredPayment, String)>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS}, (SELECT name FROM merchants m WHERE m.client_id = payments.client_id) AS merchant_name
             FROM payments WHERE user_id = $1 AND status <> 'pending' ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(user_id)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((payment_row(r)?, r.try_get("merchant_name")?)))
            .collect()
    }
}
