//! Signed receipts: stored in the approval's transaction, found by payment for its shopper or
//! its merchant (a payment reaches its receipt through the grant it redeemed).

use crate::store::direct::SqlConn;
use sqlx::Row;

use crate::store::error::Result;
use crate::store::Store;

/// A receipt to store with its approval.
pub struct NewReceipt<'a> {
    pub consent_id: &'a str,
    pub grant_jti: &'a str,
    pub user_id: &'a str,
    pub client_id: &'a str,
    /// The compact JWS.
    pub jws: &'a str,
}

/// Stores a receipt on the approval's connection (inside its transaction).
pub(crate) async fn insert_receipt_in(
    conn: &mut (dyn SqlConn + 'static),
    receipt: &NewReceipt<'_>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO receipts (consent_id, grant_jti, user_id, client_id, jws, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(receipt.consent_id)
    .bind(receipt.grant_jti)
    .bind(receipt.user_id)
    .bind(receipt.client_id)
    .bind(receipt.jws)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// The receipt of the shopper's payment `payment_id`; `None` when the payment is not
    /// theirs or has no receipt.
    pub async fn shopper_receipt(&self, user_id: &str, payment_id: &str) -> Result<Option<String>> {
        self.receipt_where("p.user_id = $2", payment_id, user_id)
            .await
    }

    /// The receipt of the merchant's payment `payment_id`; `None` when the payment is not
    /// theirs or has no receipt.
    pub async fn merchant_receipt(
        &self,
        client_id: &str,
        payment_id: &str,
    ) -> Result<Option<String>> {
        self.receipt_where("p.client_id = $2", payment_id, client_id)
            .await
    }

    /// The receipt of the approval `consent_id`, whether or not a payment was made from it.
    pub async fn receipt_of_approval(&self, consent_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT jws FROM receipts WHERE consent_id = $1")
            .bind(consent_id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        row.map(|r| r.try_get("jws"))
            .transpose()
            .map_err(Into::into)
    }

    async fn receipt_where(
        &self,
        owner: &'static str,
        payment_id: &str,
        owner_id: &str,
    ) -> Result<Option<String>> {
        let row = sqlx::query(&format!(
            "SELECT r.jws FROM payments p JOIN receipts r ON r.grant_jti = p.grant_jti
             WHERE p.id = $1 AND {owner}"
        ))
        .bind(payment_id)
        .bind(owner_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.map(|r| r.try_get("jws"))
            .transpose()
            .map_err(Into::into)
    }
}
