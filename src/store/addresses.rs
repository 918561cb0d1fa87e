//! The shopper's shipping addresses: kept as typed, one of them the default.

use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use super::error::{Error, Result};
use super::users::{lock_account, parse_uuid};
use super::Store;

/// The fields of an address, checked by the caller.
#[derive(Clone, Copy, Debug)]
pub struct AddressFields<'a> {
    pub name: &'a str,
    pub postal_code: &'a str,
    pub prefecture: &'a str,
    pub city: &'a str,
    pub line1: &'a str,
    pub line2: Option<&'a str>,
    pub phone: &'a str,
    pub country: &'a str,
}

/// An address as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAddress {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub line1: String,
    pub line2: Option<String>,
    pub phone: String,
    pub country: String,
    pub is_default: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, user_id, name, postal_code, prefecture, city, line1, line2, phone, country,
                       is_default, created_at, updated_at";

fn address_row(r: &AnyRow) -> Result<StoredAddress> {
    Ok(StoredAddress {
        id: parse_uuid(&r.try_get::<String, _>("id")?)?,
        user_id: parse_uuid(&r.try_get::<String, _>("user_id")?)?,
        name: r.try_get("name")?,
        postal_code: r.try_get("postal_code")?,
        prefecture: r.try_get("prefecture")?,
        city: r.try_get("city")?,
        line1: r.try_get("line1")?,
        line2: r.try_get("line2")?,
        phone: r.try_get("phone")?,
        country: r.try_get("country")?,
        is_default: r.try_get::<i64, _>("is_default")? == 1,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// The shopper's addresses, the default first, then oldest first.
    pub async fn list_addresses(&self, user_id: Uuid) -> Result<Vec<StoredAddress>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM addresses WHERE user_id = $1
             ORDER BY is_default DESC, position"
        ))
        .bind(user_id.to_string())
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(address_row).collect()
    }

    /// One of the shopper's addresses (another shopper's is not found).
    pub async fn find_address(&self, user_id: Uuid, id: Uuid) -> Result<StoredAddress> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM addresses WHERE id = $1 AND user_id = $2"
        ))
        .bind(id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(&mut *self.read().await?)
        .await?
        .ok_or(Error::NotFound)?;
        address_row(&row)
    }

    /// Adds an address; the shopper's first address, or one asked to be, becomes the default.
    /// The account row is written first so concurrent changes for one shopper take turns.
    pub async fn insert_address(
        &self,
        user_id: Uuid,
        fields: AddressFields<'_>,
        make_default: bool,
        now: i64,
    ) -> Result<StoredAddress> {
        let id = Uuid::new_v4();
        let mut tx = self.begin().await?;
        lock_account(&mut tx, user_id, now).await?;
        let first = sqlx::query("SELECT 1 AS found FROM addresses WHERE user_id = $1")
            .bind(user_id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .is_none();
        if make_default && !first {
            sqlx::query(
                "UPDATE addresses SET is_default = 0 WHERE user_id = $1 AND is_default = 1",
            )
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        let row = sqlx::query(&format!(
            "INSERT INTO addresses (id, user_id, name, postal_code, prefecture, city, line1, line2,
                                    phone, country, is_default, created_at, updated_at, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12,
                     (SELECT COALESCE(MAX(position), 0) + 1 FROM addresses WHERE user_id = $2))
             RETURNING {COLUMNS}"
        ))
        .bind(id.to_string())
        .bind(user_id.to_string())
        .bind(fields.name)
        .bind(fields.postal_code)
        .bind(fields.prefecture)
        .bind(fields.city)
        .bind(fields.line1)
        .bind(fields.line2)
        .bind(fields.phone)
        .bind(fields.country)
        .bind(i64::from(make_default || first))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        address_row(&row)
    }

    /// Replaces the fields of one of the shopper's addresses.
    pub async fn update_address(
        &self,
        user_id: Uuid,
        id: Uuid,
        fields: AddressFields<'_>,
        now: i64,
    ) -> Result<StoredAddress> {
        let row = sqlx::query(&format!(
            "UPDATE addresses SET name = $3, postal_code = $4, prefecture = $5, city = $6,
                    line1 = $7, line2 = $8, phone = $9, country = $10, updated_at = $11
             WHERE id = $1 AND user_id = $2
             RETURNING {COLUMNS}"
        ))
        .bind(id.to_string())
        .bind(user_id.to_string())
        .bind(fields.name)
        .bind(fields.postal_code)
        .bind(fields.prefecture)
        .bind(fields.city)
        .bind(fields.line1)
        .bind(fields.line2)
        .bind(fields.phone)
        .bind(fields.country)
        .bind(now)
        .fetch_optional(&mut *self.write().await?)
        .await?
        .ok_or(Error::NotFound)?;
        address_row(&row)
    }

    /// Removes an address. If it was the default, the oldest remaining one becomes the default.
    pub async fn delete_address(&self, user_id: Uuid, id: Uuid, now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        lock_account(&mut tx, user_id, now).await?;
        let deleted = sqlx::query(
            "DELETE FROM addresses WHERE id = $1 AND user_id = $2 RETURNING is_default",
        )
        .bind(id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound)?;
        if deleted.try_get::<i64, _>("is_default")? == 1 {
            sqlx::query(
                "UPDATE addresses SET is_default = 1 WHERE id = (
                   SELECT id FROM addresses WHERE user_id = $1 ORDER BY position LIMIT 1)",
            )
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Makes one of the shopper's addresses the default.
    pub async fn set_default_address(&self, user_id: Uuid, id: Uuid, now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        lock_account(&mut tx, user_id, now).await?;
        let exists = sqlx::query("SELECT 1 AS found FROM addresses WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(Error::NotFound);
        }
        sqlx::query("UPDATE addresses SET is_default = 0 WHERE user_id = $1 AND is_default = 1")
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE addresses SET is_default = 1 WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
