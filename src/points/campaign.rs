//! Campaigns: a merchant-funded multiplier of earned points, in force from a start to an end.
//! The types, and the form (console) or flags (CLI) parsed once into a new campaign.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::error::{Error, Result};
use crate::store::programme::StoredCampaign;

/// The multipliers a campaign may have, in percent: above none (100) up to ten times.
pub const MULTIPLIERS: std::ops::RangeInclusive<i64> = 101..=1000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Campaign {
    pub id: String,
    pub client_id: String,
    pub merchant_name: String,
    pub multiplier_percent: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_at: i64,
    pub created_by: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CampaignState {
    Scheduled,
    Active,
    Ended,
}

impl CampaignState {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Scheduled => "scheduled",
            CampaignState::Active => "active",
            CampaignState::Ended => "ended",
        }
    }
}

impl Campaign {
    pub fn from_stored(s: StoredCampaign) -> Self {
        Self {
            id: s.id,
            client_id: s.client_id,
            merchant_name: s.merchant_name,
            multiplier_percent: s.multiplier_percent,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            created_at: s.created_at,
            created_by: s.created_by,
        }
    }

    /// Whether the campaign is in force at `now`: from its start (inclusive) to its end
    /// (exclusive).
    pub fn state(&self, now: i64) -> CampaignState {
        if now < self.starts_at {
            CampaignState::Scheduled
        } else if now < self.ends_at {
            CampaignState::Active
        } else {
            CampaignState::Ended
        }
    }
}

/// A campaign to add, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCampaign {
    pub client_id: String,
    pub multiplier_percent: i64,
    pub starts_at: i64,
    pub ends_at: i64,
}

/// The console's campaign form (and the CLI's flags), as typed. Times are UTC: a date
/// (`2026-12-01`, midnight), a date and time (`2026-12-01T09:00`) or RFC 3339; a blank start
/// is now.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct CampaignForm {
    pub client_id: String,
    pub multiplier_percent: String,
    #[serde(default)]
    pub starts: String,
    pub ends: String,
}

/// A refusal of the form's `field`, the message first (what the admin reads).
fn invalid(message: &'static str, field: &'static str) -> Error {
    Error::invalid("invalid_points_campaign", message).on_field(field)
}

/// A time as the form gives it, in Unix seconds.
pub fn parse_instant(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    if let Ok(t) = PrimitiveDateTime::parse(text, minutes) {
        return Some(t.assume_utc().unix_timestamp());
    }
    let day = format_description!("[year]-[month]-[day]");
    Date::parse(text, day)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

/// Parses the campaign form at `now`: a merchant, a multiplier of 101 to 1000 percent, a start
/// (blank: now) and an end after both the start and now.
pub fn parse_campaign(form: &CampaignForm, now: i64) -> Result<NewCampaign> {
    let client_id = form.client_id.trim();
    if client_id.is_empty() {
        return Err(invalid(
            "Choose the merchant that funds the campaign.",
            "client_id",
        ));
    }
    let percent = form.multiplier_percent.trim();
    let multiplier_percent = match percent.parse::<i64>() {
        Ok(n) if MULTIPLIERS.contains(&n) && percent.chars().all(|c| c.is_ascii_digit()) => n,
        _ => {
            return Err(invalid(
                "Type the multiplier as a whole percentage from 101 to 1000, for example 200 for double points.",
                "multiplier_percent",
            ))
        }
    };
    let starts_at = match form.starts.trim() {
        "" => now,
        text => parse_instant(text).ok_or_else(|| {
            invalid(
                "Type the start as a date like 2026-12-01 or 2026-12-01T09:00 (UTC).",
                "starts",
            )
        })?,
    };
    let ends_at = parse_instant(&form.ends).ok_or_else(|| {
        invalid(
            "Type the end as a date like 2026-12-31 or 2026-12-31T23:59 (UTC).",
            "ends",
        )
    })?;
    if ends_at <= starts_at || ends_at <= now {
        return Err(invalid(
            "The end must be after the start and in the future.",
            "ends",
        ));
    }
    Ok(NewCampaign {
        client_id: client_id.to_string(),
        multiplier_percent,
        starts_at,
        ends_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_083_200; // 2026-12-01T00:00:00Z

    fn form(percent: &str, starts: &str, ends: &str) -> CampaignForm {
        CampaignForm {
            client_id: "shop".into(),
            multiplier_percent: percent.into(),
            starts: starts.into(),
            ends: ends.into(),
        }
    }

    #[test]
    fn a_campaign_is_in_force_from_its_start_until_just_before_its_end() {
        let c = parse_campaign(&form("200", "2026-12-01", "2026-12-02T00:00"), NOW - 10).unwrap();
        assert_eq!((c.starts_at, c.ends_at), (NOW, NOW + 86_400));
        let campaign = Campaign::from_stored(StoredCampaign {
            id: "c".into(),
            client_id: c.client_id,
            merchant_name: "Shop".into(),
            multiplier_percent: c.multiplier_percent,
            starts_at: c.starts_at,
            ends_at: c.ends_at,
            created_at: 0,
            created_by: "cli".into(),
        });
        assert_eq!(campaign.state(NOW - 1), CampaignState::Scheduled);
        assert_eq!(campaign.state(NOW), CampaignState::Active);
        assert_eq!(campaign.state(NOW + 86_399), CampaignState::Active);
        assert_eq!(campaign.state(NOW + 86_400), CampaignState::Ended);
    }

    #[test]
    fn the_form_refuses_what_would_not_make_a_campaign() {
        assert_eq!(
            parse_campaign(
                &form("200", "", "2026-12-01T00:00:00+09:00"),
                NOW - 3600 * 10
            )
            .unwrap()
            .ends_at,
            NOW - 9 * 3600
        );
        for (f, field) in [
            (form("100", "", "2027-01-01"), "multiplier_percent"),
            (form("1001", "", "2027-01-01"), "multiplier_percent"),
            (form("+200", "", "2027-01-01"), "multiplier_percent"),
            (form("200", "tomorrow", "2027-01-01"), "starts"),
            (form("200", "", "2026-11-30"), "ends"),
            (form("200", "2027-02-01", "2027-01-01"), "ends"),
        ] {
            let err = parse_campaign(&f, NOW).unwrap_err();
            assert_eq!(
                (err.code(), err.field()),
                ("invalid_points_campaign", Some(field))
            );
        }
    }
}
