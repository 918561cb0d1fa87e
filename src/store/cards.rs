//! Vaulted cards: display fields in clear, the number only as ciphertext.

use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use super::error::{Error, Refusal, Result};
use super::users::{lock_account, parse_uuid};
use super::{is_unique_violation, Store};
use crate::vault::stored::StoredCard;

/// The encrypted part of a card row.
pub struct SealedNumber {
    pub number_ciphertext: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub kek_version: i64,
}

pub struct NewCardRow<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub brand: &'a str,
    pub last4: &'a str,
    pub exp_month: i64,
    pub exp_year: i64,
    pub holder: &'a str,
    pub fingerprint: &'a str,
    pub sealed: SealedNumber,
}

const DISPLAY: &str =
    "id, user_id, brand, last4, exp_month, exp_year, holder, is_default, created_at";

fn display_row(r: &AnyRow) -> Result<StoredCard> {
    display_row_as(r, "")
}

/// A card's display and sealed columns, named with the prefix `cd_`, for statements that read
/// one card of a shopper beside other rows (`LEFT JOIN cards cd …`).
pub(super) const SEALED_CARD_PREFIXED: &str = "cd.id AS cd_id, cd.user_id AS cd_user_id, \
     cd.brand AS cd_brand, cd.last4 AS cd_last4, cd.exp_month AS cd_exp_month, \
     cd.exp_year AS cd_exp_year, cd.holder AS cd_holder, cd.is_default AS cd_is_default, \
     cd.created_at AS cd_created_at, cd.number_ciphertext AS cd_number_ciphertext, \
     cd.wrapped_key AS cd_wrapped_key, cd.kek_version AS cd_kek_version";

/// The card read with [`SEALED_CARD_PREFIXED`], if the join found one.
pub(super) fn sealed_card_row_as(r: &AnyRow) -> Result<Option<(StoredCard, SealedNumber)>> {
    if r.try_get::<Option<String>, _>("cd_id")?.is_none() {
        return Ok(None);
    }
    let sealed = SealedNumber {
        number_ciphertext: r.try_get("cd_number_ciphertext")?,
        wrapped_key: r.try_get("cd_wrapped_key")?,
        kek_version: r.try_get("cd_kek_version")?,
    };
    Ok(Some((display_row_as(r, "cd_")?, sealed)))
}

fn display_row_as(r: &AnyRow, prefix: &str) -> Result<StoredCard> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(StoredCard {
        id: parse_uuid(&r.try_get::<String, _>(col("id").as_str())?)?,
        user_id: parse_uuid(&r.try_get::<String, _>(col("user_id").as_str())?)?,
        brand: r.try_get(col("brand").as_str())?,
        last4: r.try_get(col("last4").as_str())?,
        exp_month: r.try_get(col("exp_month").as_str())?,
        exp_year: r.try_get(col("exp_year").as_str())?,
        holder: r.try_get(col("holder").as_str())?,
        is_default: r.try_get::<i64, _>(col("is_default").as_str())? == 1,
        created_at: r.try_get(col("created_at").as_str())?,
    })
}

impl Store {
    pub async fn card_fingerprint_exists(&self, user_id: Uuid, fingerprint: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM cards WHERE user_id = $1 AND fingerprint = $2")
            .bind(user_id.to_string())
            .bind(fingerprint)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.is_some())
    }

    /// Inserts a card; the shopper's first card becomes the default. The account row is
    /// written first so concurrent adds for one shopper are serialised on it.
    pub async fn insert_card(&self, card: NewCardRow<'_>, now: i64) -> Result<StoredCard> {
        let mut tx = self.begin().await?;
        lock_account(&mut tx, card.user_id, now).await?;
        let inserted = sqlx::query(
            "INSERT INTO cards (id, user_id, brand, last4, exp_month, exp_year, holder, fingerprint,
                                number_ciphertext, wrapped_key, kek_version, is_default, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                     CASE WHEN EXISTS (SELECT 1 FROM cards WHERE user_id = $2) THEN 0 ELSE 1 END, $12)",
        )
        .bind(card.id.to_string())
        .bind(card.user_id.to_string())
        .bind(card.brand)
        .bind(card.last4)
        .bind(card.exp_month)
        .bind(card.exp_year)
        .bind(card.holder)
        .bind(card.fingerprint)
        .bind(card.sealed.number_ciphertext)
        .bind(card.sealed.wrapped_key)
        .bind(card.sealed.kek_version)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Refused(Refusal::DuplicateCard))
            }
            other => other?,
        };
        let row = sqlx::query(&format!("SELECT {DISPLAY} FROM cards WHERE id = $1"))
            .bind(card.id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        display_row(&row)
    }

    /// The shopper's cards, default first, then newest first.
    pub async fn list_cards(&self, user_id: Uuid) -> Result<Vec<StoredCard>> {
        let rows = sqlx::query(&format!(
            "SELECT {DISPLAY} FROM cards WHERE user_id = $1 ORDER BY is_default DESC, created_at DESC, id"
        ))
        .bind(user_id.to_string())
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(display_row).collect()
    }

    /// The encrypted number of one of the shopper's cards (another shopper's card is not found).
    pub async fn sealed_card(
        &self,
        user_id: Uuid,
        card_id: Uuid,
    ) -> Result<(StoredCard, SealedNumber)> {
        let row = sqlx::query(&format!(
            "SELECT {DISPLAY}, number_ciphertext, wrapped_key, kek_version FROM cards WHERE id = $1 AND user_id = $2"
        ))
        .bind(card_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(&mut *self.read().await?)
        .await?
        .ok_or(Error::NotFound)?;
        let sealed = SealedNumber {
            number_ciphertext: row.try_get("number_ciphertext")?,
            wrapped_key: row.try_get("wrapped_key")?,
            kek_version: row.try_get("kek_version")?,
        };
        Ok((display_row(&row)?, sealed))
    }

    /// Removes a card. If it was the default, the newest remaining card becomes the default.
    pub async fn delete_card(&self, user_id: Uuid, card_id: Uuid, now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        lock_account(&mut tx, user_id, now).await?;
        let deleted =
            sqlx::query("DELETE FROM cards WHERE id = $1 AND user_id = $2 RETURNING is_default")
                .bind(card_id.to_string())
                .bind(user_id.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(Error::NotFound)?;
        if deleted.try_get::<i64, _>("is_default")? == 1 {
            sqlx::query(
                "UPDATE cards SET is_default = 1 WHERE id = (
                   SELECT id FROM cards WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 1)",
            )
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_default_card(&self, user_id: Uuid, card_id: Uuid) -> Result<()> {
        let mut tx = self.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM cards WHERE id = $1 AND user_id = $2")
            .bind(card_id.to_string())
            .bind(user_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(Error::NotFound);
        }
        sqlx::query("UPDATE cards SET is_default = 0 WHERE user_id = $1 AND is_default = 1")
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE cards SET is_default = 1 WHERE id = $1 AND user_id = $2")
            .bind(card_id.to_string())
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
