//! `saifu risk`: the issuer's risk limits per currency, shown and changed from the command
//! line with the console's checks; a change is audited with the actor `cli`.

use clap::Subcommand;

use crate::audit::Actor;
use crate::config::Config;
use crate::money::Money;
use crate::risk::{Limits, LimitsChange};
use crate::AppState;

#[derive(Subcommand, Debug)]
pub enum RiskCommand {
    /// Print every currency's limits.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Change one currency's limits: only the limits named change, `none` removes one. Amounts
    /// in the currency's units, as the console takes them (`50000`, `120.50`).
    Set {
        /// JPY or USD.
        #[arg(long)]
        currency: String,
        #[arg(long, value_name = "AMOUNT|none", allow_hyphen_values = true)]
        per_payment: Option<String>,
        /// The lower cap per payment to a merchant that is not verified.
        #[arg(long, value_name = "AMOUNT|none", allow_hyphen_values = true)]
        per_payment_unverified: Option<String>,
        /// A shopper's total per UTC day.
        #[arg(long, value_name = "AMOUNT|none", allow_hyphen_values = true)]
        daily_total: Option<String>,
        /// A shopper's payments per UTC hour.
        #[arg(long, value_name = "N|none", allow_hyphen_values = true)]
        hourly_count: Option<String>,
        /// Print the currency's limits as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn risk(config: Config, command: RiskCommand) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    // A refusal exits non-zero with its stable code first, as the API's problems carry it.
    let refused = |e: crate::error::Error| anyhow::anyhow!("{}: {}", e.code(), e.public_message());
    match command {
        RiskCommand::Show { json } => {
            let all = state.risk.all().await.map_err(refused)?;
            if json {
                let rows: Vec<_> = all.iter().map(as_json).collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                print_table(&all);
            }
        }
        RiskCommand::Set {
            currency,
            per_payment,
            per_payment_unverified,
            daily_total,
            hourly_count,
            json,
        } => {
            // `none` is the console's blank field.
            let typed =
                |arg: Option<String>| arg.map(|a| if a == "none" { String::new() } else { a });
            let change = LimitsChange {
                currency,
                per_payment: typed(per_payment),
                per_payment_unverified: typed(per_payment_unverified),
                daily_total: typed(daily_total),
                hourly_count: typed(hourly_count),
            };
            let now = crate::clock::unix_now();
            let limits = state
                .risk
                .change(&change, &Actor::Cli, now)
                .await
                .map_err(refused)?;
            if json {
                println!("{}", as_json(&limits));
            } else {
                print_table(&[limits]);
            }
        }
    }
    Ok(())
}

/// `{"currency", "per_payment", "per_payment_unverified", "daily_total", "hourly_count"}`:
/// amounts as decimal strings in the currency's units, `null` for no limit.
fn as_json(l: &Limits) -> serde_json::Value {
    let amount = |m: Option<Money>| m.map(Money::to_major_string);
    serde_json::json!({
        "currency": l.currency.code(),
        "per_payment": amount(l.per_payment),
        "per_payment_unverified": amount(l.per_payment_unverified),
        "daily_total": amount(l.daily_total),
        "hourly_count": l.hourly_count,
    })
}

fn print_table(all: &[Limits]) {
    println!(
        "{:<8} {:>14} {:>24} {:>14} {:>14}",
        "currency", "per_payment", "per_payment_unverified", "daily_total", "hourly_count"
    );
    for l in all {
        let form = l.to_form();
        let shown = |typed: &str| match typed {
            "" => "none".to_string(),
            typed => typed.to_string(),
        };
        println!(
            "{:<8} {:>14} {:>24} {:>14} {:>14}",
            form.currency,
            shown(&form.per_payment),
            shown(&form.per_payment_unverified),
            shown(&form.daily_total),
            shown(&form.hourly_count)
        );
    }
}
