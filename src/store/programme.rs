//! The points programme's SQL: its versions (append-only; the highest is in force) and the
//! merchants' campaigns. Every change is written with its audit entry in one transaction, and
//! the audit chain's lock serializes changes on every node, so two versions never share a
//! number and one merchant's campaigns never overlap.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::{append, AuditRecord};
use super::error::Result;
use super::Store;

/// One version of the programme as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredProgramme {
    pub version: i64,
    pub earn_jpy: i64,
    pub earn_usd: i64,
    pub value_jpy: i64,
    pub value_usd: i64,
    pub expiry_months: i64,
    pub expiry_rolling: bool,
    pub min_redeem_points: i64,
    pub max_redeem_points: Option<i64>,
    pub max_redeem_percent: i64,
    pub created_at: i64,
    pub created_by: String,
}

/// A campaign as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCampaign {
    pub id: String,
    pub client_id: String,
    pub merchant_name: String,
    pub multiplier_percent: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_at: i64,
    pub created_by: String,
}

/// Why the store refused a campaign change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CampaignRefusal {
    /// Another campaign of the merchant covers part of the same time.
    Overlaps,
    /// No such campaign (or not of this merchant).
    NotFound,
    /// The campaign already ended.
    Ended,
    /// No such merchant.
    UnknownMerchant,
}

const PROGRAMME_COLUMNS: &str = "version, earn_jpy, earn_usd, value_jpy, value_usd, expiry_months, \
     expiry_rolling, min_redeem_points, max_redeem_points, max_redeem_percent, created_at, created_by";

const CAMPAIGN_COLUMNS: &str = "c.id, c.client_id, m.name AS merchant_name, c.multiplier_percent, \
     c.starts_at, c.ends_at, c.created_at, c.created_by";

fn programme_row(r: &AnyRow) -> Result<StoredProgramme> {
    programme_row_as(r, "")
}

/// The version in force, as a derived table whose columns are named with the prefix `pp_`,
/// for statements that read it beside other rows (`LEFT JOIN … ON 1 = 1`).
pub(super) const CURRENT_PROGRAMME_PREFIXED: &str = "(SELECT version AS pp_version, \
     earn_jpy AS pp_earn_jpy, earn_usd AS pp_earn_usd, value_jpy AS pp_value_jpy, \
     value_usd AS pp_value_usd, expiry_months AS pp_expiry_months, \
     expiry_rolling AS pp_expiry_rolling, min_redeem_points AS pp_min_redeem_points, \
     max_redeem_points AS pp_max_redeem_points, max_redeem_percent AS pp_max_redeem_percent, \
     created_at AS pp_created_at, created_by AS pp_created_by \
     FROM points_programmes ORDER BY version DESC LIMIT 1)";

/// A programme from a row whose programme columns are named with `prefix`; none when the
/// row has no programme (a `LEFT JOIN` that found none).
pub(super) fn programme_row_as(r: &AnyRow, prefix: &str) -> Result<StoredProgramme> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(StoredProgramme {
        version: r.try_get(col("version").as_str())?,
        earn_jpy: r.try_get(col("earn_jpy").as_str())?,
        earn_usd: r.try_get(col("earn_usd").as_str())?,
        value_jpy: r.try_get(col("value_jpy").as_str())?,
        value_usd: r.try_get(col("value_usd").as_str())?,
        expiry_months: r.try_get(col("expiry_months").as_str())?,
        expiry_rolling: r.try_get::<i64, _>(col("expiry_rolling").as_str())? != 0,
        min_redeem_points: r.try_get(col("min_redeem_points").as_str())?,
        max_redeem_points: r.try_get(col("max_redeem_points").as_str())?,
        max_redeem_percent: r.try_get(col("max_redeem_percent").as_str())?,
        created_at: r.try_get(col("created_at").as_str())?,
        created_by: r.try_get(col("created_by").as_str())?,
    })
}

fn campaign_row(r: &AnyRow) -> Result<StoredCampaign> {
    Ok(StoredCampaign {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        merchant_name: r.try_get("merchant_name")?,
        multiplier_percent: r.try_get("multiplier_percent")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
    })
}

impl Store {
    /// The version in force: the highest one (`None` before the first start wrote one).
    pub async fn points_programme_current(&self) -> Result<Option<StoredProgramme>> {
        let row = sqlx::query(&format!(
            "SELECT {PROGRAMME_COLUMNS} FROM points_programmes ORDER BY version DESC LIMIT 1"
        ))
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.map(|r| programme_row(&r)).transpose()
    }

    /// One version of the programme.
    pub async fn points_programme(&self, version: i64) -> Result<Option<StoredProgramme>> {
        let row = sqlx::query(&format!(
            "SELECT {PROGRAMME_COLUMNS} FROM points_programmes WHERE version = $1"
        ))
        .bind(version)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.map(|r| programme_row(&r)).transpose()
    }

    /// Every version, newest first.
    pub async fn points_programmes(&self) -> Result<Vec<StoredProgramme>> {
        let rows = sqlx::query(&format!(
            "SELECT {PROGRAMME_COLUMNS} FROM points_programmes ORDER BY version DESC"
        ))
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(programme_row).collect()
    }

    /// Writes `programme` as the next version (its `version` is ignored) with `audit`, in one
    /// transaction; without `audit` (the first start's version from the settings, which is no
    /// one's change) it is written only when no version exists yet. Gives the version written,
    /// or `None` when a first version already existed.
    pub async fn add_points_programme(
        &self,
        programme: &StoredProgramme,
        audit: Option<&AuditRecord>,
    ) -> Result<Option<i64>> {
        let mut tx = self.begin().await?;
        // The audit chain's lock comes first: it serializes programme changes on every node.
        // A first version races only other first starts: the primary key keeps one.
        let first_only = audit.is_none();
        if let Some(audit) = audit {
            append(&mut tx, audit).await?;
        }
        let latest: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM points_programmes")
            .fetch_one(&mut *tx)
            .await?
            .try_get("v")?;
        if first_only && latest.is_some() {
            return Ok(None);
        }
        let version = latest.unwrap_or(0) + 1;
        let inserted = sqlx::query(&format!(
            "INSERT INTO points_programmes ({PROGRAMME_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(version)
        .bind(programme.earn_jpy)
        .bind(programme.earn_usd)
        .bind(programme.value_jpy)
        .bind(programme.value_usd)
        .bind(programme.expiry_months)
        .bind(i64::from(programme.expiry_rolling))
        .bind(programme.min_redeem_points)
        .bind(programme.max_redeem_points)
        .bind(programme.max_redeem_percent)
        .bind(programme.created_at)
        .bind(&programme.created_by)
        .execute(&mut *tx)
        .await;
        match inserted {
            // Another node's first start wrote version 1 meanwhile: that one stands.
            Err(sqlx::Error::Database(db)) if first_only && db.is_unique_violation() => {
                return Ok(None)
            }
            other => other?,
        };
        tx.commit().await?;
        Ok(Some(version))
    }

    /// Campaigns, newest start first: every merchant's, or one merchant's.
    pub async fn points_campaigns(&self, client_id: Option<&str>) -> Result<Vec<StoredCampaign>> {
        let rows = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM points_campaigns c
             JOIN merchants m ON m.client_id = c.client_id
             WHERE ($1 IS NULL OR c.client_id = $1)
             ORDER BY c.starts_at DESC, c.id"
        ))
        .bind(client_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(campaign_row).collect()
    }

    /// The merchant's campaign in force at `now`, if any.
    pub async fn active_points_campaign(
        &self,
        client_id: &str,
        now: i64,
    ) -> Result<Option<StoredCampaign>> {
        let row = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM points_campaigns c
             JOIN merchants m ON m.client_id = c.client_id
             WHERE c.client_id = $1 AND c.starts_at <= $2 AND c.ends_at > $2
             ORDER BY c.starts_at DESC LIMIT 1"
        ))
        .bind(client_id)
        .bind(now)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.map(|r| campaign_row(&r)).transpose()
    }

    /// Adds a campaign with its audit entry, unless another campaign of the merchant overlaps
    /// it.
    pub async fn add_points_campaign(
        &self,
        campaign: &StoredCampaign,
        audit: &AuditRecord,
    ) -> Result<std::result::Result<(), CampaignRefusal>> {
        let mut tx = self.begin().await?;
        append(&mut tx, audit).await?;
        let merchant = sqlx::query("SELECT 1 AS one FROM merchants WHERE client_id = $1")
            .bind(&campaign.client_id)
            .fetch_optional(&mut *tx)
            .await?;
        if merchant.is_none() {
            return Ok(Err(CampaignRefusal::UnknownMerchant));
        }
        let overlapping = sqlx::query(
            "SELECT 1 AS one FROM points_campaigns
             WHERE client_id = $1 AND starts_at < $3 AND ends_at > $2 LIMIT 1",
        )
        .bind(&campaign.client_id)
        .bind(campaign.starts_at)
        .bind(campaign.ends_at)
        .fetch_optional(&mut *tx)
        .await?;
        if overlapping.is_some() {
            return Ok(Err(CampaignRefusal::Overlaps));
        }
        sqlx::query(
            "INSERT INTO points_campaigns (id, client_id, multiplier_percent, starts_at, ends_at, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&campaign.id)
        .bind(&campaign.client_id)
        .bind(campaign.multiplier_percent)
        .bind(campaign.starts_at)
        .bind(campaign.ends_at)
        .bind(campaign.created_at)
        .bind(&campaign.created_by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Ends a campaign at `now` with its audit entry: one not started yet is removed, one in
    /// force ends now. Gives the campaign as it was.
    pub async fn end_points_campaign(
        &self,
        id: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<std::result::Result<StoredCampaign, CampaignRefusal>> {
        let mut tx = self.begin().await?;
        append(&mut tx, audit).await?;
        let row = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM points_campaigns c
             JOIN merchants m ON m.client_id = c.client_id WHERE c.id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(campaign) = row.map(|r| campaign_row(&r)).transpose()? else {
            return Ok(Err(CampaignRefusal::NotFound));
        };
        if campaign.ends_at <= now {
            return Ok(Err(CampaignRefusal::Ended));
        }
        if campaign.starts_at >= now {
            sqlx::query("DELETE FROM points_campaigns WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query("UPDATE points_campaigns SET ends_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Ok(campaign))
    }
}
