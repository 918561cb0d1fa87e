//! `saifu points`: the points programme in force, a new version of it from flags (the console's
//! form, parsed the same way), and merchants' campaigns.

use clap::Subcommand;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use crate::audit::Actor;
use crate::config::Config;
use crate::error::Error;
use crate::money::{Currency, Money};
use crate::points::campaign::parse_campaign;
use crate::points::programme::parse_programme;
use crate::points::{Campaign, CampaignForm, Programme, ProgrammeForm};
use crate::AppState;

#[derive(Subcommand, Debug)]
pub enum PointsCommand {
    /// The programme in force: its version and every rule.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Make a new version of the programme: the rules in force with the flags given changed.
    /// It applies to payments approved from now on.
    Set {
        /// Yen the card pays for 1 point (a whole number, like 100).
        #[arg(long)]
        earn_jpy: Option<String>,
        /// Dollars the card pays for 1 point, with cents (like 1.00).
        #[arg(long)]
        earn_usd: Option<String>,
        /// What 1 point takes off a yen payment (like 1).
        #[arg(long)]
        value_jpy: Option<String>,
        /// What 1 point takes off a dollar payment, with cents (like 0.01).
        #[arg(long)]
        value_usd: Option<String>,
        /// Months until earned points expire (1 to 120).
        #[arg(long)]
        expiry_months: Option<String>,
        /// fixed (each earn expires on its own) or rolling (any earn extends all points).
        #[arg(long)]
        expiry: Option<String>,
        /// The fewest points a payment may use (0 for no minimum).
        #[arg(long)]
        min_redeem: Option<String>,
        /// The most points a payment may use, or `none`.
        #[arg(long)]
        max_redeem: Option<String>,
        /// The most of a payment's amount points may pay, in percent (1 to 100).
        #[arg(long)]
        max_redeem_percent: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Merchants' campaigns: a multiplier the merchant funds, with a start and an end.
    #[command(subcommand)]
    Campaign(CampaignCommand),
}

#[derive(Subcommand, Debug)]
pub enum CampaignCommand {
    /// Schedule a campaign; refused if it overlaps another of the merchant's.
    Add {
        #[arg(long)]
        client_id: String,
        /// 101 to 1000: 200 earns double points.
        #[arg(long)]
        multiplier_percent: String,
        /// UTC: 2026-12-31, 2026-12-31T23:59 or RFC 3339.
        #[arg(long)]
        ends: String,
        /// As --ends; default now.
        #[arg(long)]
        starts: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every campaign (or one merchant's), newest start first.
    List {
        #[arg(long)]
        client_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// End a campaign now; one not started yet is called off.
    End {
        #[arg(long)]
        id: String,
    },
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// A refusal as the CLI prints it: the code, the flag, the words.
fn refused(err: Error) -> anyhow::Error {
    let Error::Client { code, .. } = &err else {
        return anyhow::Error::from(err);
    };
    let flag = match err.field() {
        Some("min_redeem_points") => Some("min-redeem".to_string()),
        Some("max_redeem_points") => Some("max-redeem".to_string()),
        Some(field) => Some(field.replace('_', "-")),
        None => None,
    };
    match flag {
        Some(flag) => anyhow::anyhow!("{code}: --{flag}: {}", err.public_message()),
        None => anyhow::anyhow!("{code}: {}", err.public_message()),
    }
}

fn programme_json(p: &Programme) -> Value {
    let form = ProgrammeForm::from_rules(&p.rules);
    let r = &p.rules;
    json!({
        "version": p.version,
        "created_at": rfc3339(p.created_at),
        "created_by": p.created_by,
        "earn_jpy": form.earn_jpy,
        "earn_usd": form.earn_usd,
        "value_jpy": form.value_jpy,
        "value_usd": form.value_usd,
        "expiry_months": r.expiry.months,
        "expiry": form.expiry,
        "min_redeem_points": r.redemption.min_points,
        "max_redeem_points": r.redemption.max_points,
        "max_redeem_percent": r.redemption.max_percent,
    })
}

fn print_programme(p: &Programme, json: bool) {
    if json {
        println!("{}", programme_json(p));
        return;
    }
    let form = ProgrammeForm::from_rules(&p.rules);
    let money = |currency, minor| Money::new(currency, minor).format_display();
    let r = &p.rules;
    println!(
        "Points programme version {} (since {}, by {})",
        p.version,
        rfc3339(p.created_at),
        p.created_by
    );
    for (name, value, meaning) in [
        (
            "earn_jpy",
            form.earn_jpy,
            format!("1 point per {}", money(Currency::Jpy, r.rates.earn_jpy)),
        ),
        (
            "earn_usd",
            form.earn_usd,
            format!("1 point per {}", money(Currency::Usd, r.rates.earn_usd)),
        ),
        (
            "value_jpy",
            form.value_jpy,
            format!("1 point = {}", money(Currency::Jpy, r.rates.value_jpy)),
        ),
        (
            "value_usd",
            form.value_usd,
            format!("1 point = {}", money(Currency::Usd, r.rates.value_usd)),
        ),
        (
            "expiry_months",
            form.expiry_months,
            "months until points expire".into(),
        ),
        (
            "expiry",
            form.expiry,
            "fixed, or rolling (any earn extends all points)".into(),
        ),
        (
            "min_redeem",
            form.min_redeem_points,
            "fewest points a payment may use".into(),
        ),
        (
            "max_redeem",
            r.redemption
                .max_points
                .map_or_else(|| "none".to_string(), |n| n.to_string()),
            "most points a payment may use".into(),
        ),
        (
            "max_redeem_percent",
            form.max_redeem_percent,
            "most of a payment points may pay, in percent".into(),
        ),
    ] {
        println!("  {name:<20} {value:<8} {meaning}");
    }
}

fn campaign_json(c: &Campaign, now: i64) -> Value {
    json!({
        "id": c.id,
        "client_id": c.client_id,
        "merchant": c.merchant_name,
        "multiplier_percent": c.multiplier_percent,
        "starts_at": rfc3339(c.starts_at),
        "ends_at": rfc3339(c.ends_at),
        "state": c.state(now).as_str(),
    })
}

fn campaign_line(c: &Campaign, now: i64) -> String {
    format!(
        "{}\t{}\t{}%\t{}\t{}\t{}",
        c.id,
        c.client_id,
        c.multiplier_percent,
        rfc3339(c.starts_at),
        rfc3339(c.ends_at),
        c.state(now).as_str()
    )
}

pub(super) async fn points(config: Config, command: PointsCommand) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    let programmes = &state.checkout.programmes;
    let now = crate::clock::unix_now();
    match command {
        PointsCommand::Show { json } => {
            let current = programmes.current().await.map_err(refused)?;
            print_programme(&current, json);
        }
        PointsCommand::Set {
            earn_jpy,
            earn_usd,
            value_jpy,
            value_usd,
            expiry_months,
            expiry,
            min_redeem,
            max_redeem,
            max_redeem_percent,
            json,
        } => {
            let current = programmes.current().await.map_err(refused)?;
            let mut form = ProgrammeForm::from_rules(&current.rules);
            let flags = [
                (earn_jpy, &mut form.earn_jpy),
                (earn_usd, &mut form.earn_usd),
                (value_jpy, &mut form.value_jpy),
                (value_usd, &mut form.value_usd),
                (expiry_months, &mut form.expiry_months),
                (expiry, &mut form.expiry),
                (min_redeem, &mut form.min_redeem_points),
                (
                    max_redeem.map(|m| match m.trim() {
                        "none" => String::new(),
                        _ => m,
                    }),
                    &mut form.max_redeem_points,
                ),
                (max_redeem_percent, &mut form.max_redeem_percent),
            ];
            for (given, field) in flags {
                if let Some(value) = given {
                    *field = value;
                }
            }
            let rules = parse_programme(&form).map_err(refused)?;
            let changed = programmes
                .change(&rules, &Actor::Cli, now)
                .await
                .map_err(refused)?;
            print_programme(&changed, json);
        }
        PointsCommand::Campaign(CampaignCommand::Add {
            client_id,
            multiplier_percent,
            ends,
            starts,
            json,
        }) => {
            let form = CampaignForm {
                client_id,
                multiplier_percent,
                starts: starts.unwrap_or_default(),
                ends,
            };
            let new = parse_campaign(&form, now).map_err(refused)?;
            let added = programmes
                .add_campaign(&new, &Actor::Cli, now)
                .await
                .map_err(refused)?;
            if json {
                println!("{}", campaign_json(&added, now));
            } else {
                println!("{}", campaign_line(&added, now));
            }
        }
        PointsCommand::Campaign(CampaignCommand::List { client_id, json }) => {
            let list = programmes
                .campaigns(client_id.as_deref())
                .await
                .map_err(refused)?;
            if json {
                let rows: Vec<Value> = list.iter().map(|c| campaign_json(c, now)).collect();
                println!("{}", Value::Array(rows));
            } else if list.is_empty() {
                println!("No campaign.");
            } else {
                for c in &list {
                    println!("{}", campaign_line(c, now));
                }
            }
        }
        PointsCommand::Campaign(CampaignCommand::End { id }) => {
            let ended = programmes
                .end_campaign(&id, &Actor::Cli, now)
                .await
                .map_err(refused)?;
            if ended.starts_at >= now {
                println!("{id} called off: it had not started");
            } else {
                println!("{id} ended at {}", rfc3339(now));
            }
        }
    }
    Ok(())
}
