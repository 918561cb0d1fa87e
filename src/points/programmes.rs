//! The programme service: the version in force (read from the database at each use, so a
//! change made on one node applies at once on every node), past versions (immutable, so kept
//! in memory once read), changes and campaigns, each audited with the change.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::campaign::{Campaign, NewCampaign};
use super::programme::{Programme, ProgrammeRules};
use crate::audit::{Action, Actor, Entry};
use crate::clock::random_token;
use crate::error::{Error, Kind, Result};
use crate::store::programme::{CampaignRefusal, StoredCampaign, StoredProgramme};
use crate::store::Store;

/// A payment made before the programme had versions used the first.
const FIRST_VERSION: i64 = 1;

#[derive(Clone)]
pub struct Programmes {
    store: Store,
    versions: Arc<RwLock<HashMap<i64, Programme>>>,
}

fn audit_rules(entry: Entry, rules: &ProgrammeRules) -> Entry {
    entry
        .with("earn_jpy", rules.rates.earn_jpy)
        .with("earn_usd", rules.rates.earn_usd)
        .with("value_jpy", rules.rates.value_jpy)
        .with("value_usd", rules.rates.value_usd)
        .with("expiry_months", rules.expiry.months)
        .with("expiry_rolling", rules.expiry.rolling)
        .with("min_redeem_points", rules.redemption.min_points)
        .with("max_redeem_points", rules.redemption.max_points)
        .with("max_redeem_percent", rules.redemption.max_percent)
}

fn campaign_refused(refusal: CampaignRefusal) -> Error {
    match refusal {
        CampaignRefusal::Overlaps => Error::conflict(
            "campaign_overlaps",
            "This merchant already has a campaign in that time. End it first, or choose other dates.",
        ),
        CampaignRefusal::NotFound => Error::new(
            Kind::NotFound,
            "campaign_not_found",
            "There is no such campaign.",
        ),
        CampaignRefusal::Ended => Error::conflict("campaign_ended", "The campaign has already ended."),
        CampaignRefusal::UnknownMerchant => Error::new(
            Kind::NotFound,
            "merchant_not_found",
            "There is no merchant with that client id.",
        ),
    }
}

impl Programmes {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            versions: Arc::default(),
        }
    }

    fn remember(&self, programme: &Programme) {
        if let Ok(mut versions) = self.versions.write() {
            versions.insert(programme.version, programme.clone());
        }
    }

    /// The version in force now.
    pub async fn current(&self) -> Result<Programme> {
        let stored = self.store.points_programme_current().await?;
        self.in_force(stored)
    }

    /// The version in force, as a statement that read it beside other rows found it.
    pub fn in_force(&self, stored: Option<StoredProgramme>) -> Result<Programme> {
        let stored = stored.ok_or_else(|| {
            Error::internal(anyhow::anyhow!("the points programme has no version yet"))
        })?;
        let programme = Programme::from_stored(&stored);
        self.remember(&programme);
        Ok(programme)
    }

    /// The version a payment recorded (`None`: made before versions, so the first).
    pub async fn version(&self, version: Option<i64>) -> Result<Programme> {
        let version = version.unwrap_or(FIRST_VERSION);
        if let Some(known) = self
            .versions
            .read()
            .ok()
            .and_then(|v| v.get(&version).cloned())
        {
            return Ok(known);
        }
        let stored = self.store.points_programme(version).await?.ok_or_else(|| {
            Error::internal(anyhow::anyhow!(
                "points programme version {version} is missing"
            ))
        })?;
        let programme = Programme::from_stored(&stored);
        self.remember(&programme);
        Ok(programme)
    }

    /// Every version, newest first.
    pub async fn history(&self) -> Result<Vec<Programme>> {
        let all = self.store.points_programmes().await?;
        Ok(all.iter().map(Programme::from_stored).collect())
    }

    /// Makes `rules` the programme's next version, for new payments from now on.
    pub async fn change(&self, rules: &ProgrammeRules, by: &Actor, now: i64) -> Result<Programme> {
        let audit = audit_rules(
            Entry::new(by, Action::PointsProgrammeChanged, "programme"),
            rules,
        );
        let version = self
            .store
            .add_points_programme(
                &rules.to_stored(now, by.to_string()),
                Some(&audit.record(now)),
            )
            .await?
            .ok_or_else(|| Error::internal(anyhow::anyhow!("a programme change wrote nothing")))?;
        self.version(Some(version)).await
    }

    /// Writes `rules` as the first version when the programme has none: the settings are
    /// first-run defaults only, and a version made in the console or the CLI stays. Starting
    /// the wallet is no one's change, so it is not audited; the version records `system`.
    pub async fn ensure_first(&self, rules: &ProgrammeRules, now: i64) -> Result<()> {
        let written = self
            .store
            .add_points_programme(&rules.to_stored(now, Actor::System.to_string()), None)
            .await?;
        if written.is_some() {
            tracing::info!("points programme version 1 written from the settings");
        }
        Ok(())
    }

    /// Campaigns, newest start first: every merchant's, or one merchant's.
    pub async fn campaigns(&self, client_id: Option<&str>) -> Result<Vec<Campaign>> {
        let all = self.store.points_campaigns(client_id).await?;
        Ok(all.into_iter().map(Campaign::from_stored).collect())
    }

    /// The merchant's campaign multiplier in force at `now` (100 when none).
    pub async fn multiplier(&self, client_id: &str, now: i64) -> Result<i64> {
        Ok(self
            .store
            .active_points_campaign(client_id, now)
            .await?
            .map_or(100, |c| c.multiplier_percent))
    }

    /// Schedules a campaign, refusing one that overlaps another of the merchant's.
    pub async fn add_campaign(&self, new: &NewCampaign, by: &Actor, now: i64) -> Result<Campaign> {
        let id = format!("cmp_{}", &random_token()?[..16]);
        let audit = Entry::new(by, Action::PointsCampaignAdded, &new.client_id)
            .with("campaign_id", id.as_str())
            .with("multiplier_percent", new.multiplier_percent)
            .with("starts_at", new.starts_at)
            .with("ends_at", new.ends_at)
            .record(now);
        let stored = StoredCampaign {
            id,
            client_id: new.client_id.clone(),
            merchant_name: String::new(),
            multiplier_percent: new.multiplier_percent,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            created_at: now,
            created_by: by.to_string(),
        };
        self.store
            .add_points_campaign(&stored, &audit)
            .await?
            .map_err(campaign_refused)?;
        let mut campaign = Campaign::from_stored(stored);
        if let Some(found) = self
            .campaigns(Some(&new.client_id))
            .await?
            .into_iter()
            .find(|c| c.id == campaign.id)
        {
            campaign = found;
        }
        Ok(campaign)
    }

    /// Ends a campaign now (one not started yet is called off). Gives it as it was.
    pub async fn end_campaign(&self, id: &str, by: &Actor, now: i64) -> Result<Campaign> {
        let audit = Entry::new(by, Action::PointsCampaignEnded, id).record(now);
        let ended = self
            .store
            .end_points_campaign(id, now, &audit)
            .await?
            .map_err(campaign_refused)?;
        Ok(Campaign::from_stored(ended))
    }
}
