//! `saifu webhooks`: a merchant's endpoint state and deliveries, retrying an event, enabling
//! a disabled endpoint.

use clap::Subcommand;

use crate::audit::Actor;
use crate::config::Config;
use crate::AppState;

#[derive(Subcommand, Debug)]
pub enum WebhooksCommand {
    /// A merchant's endpoint state and recent deliveries: status, attempts, last answer.
    List {
        #[arg(long)]
        merchant: String,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Send one event again now, whatever its state, and print the outcome.
    Retry {
        /// The event id (`evt_…`, the `webhook-id` header).
        event_id: String,
    },
    /// Enable a disabled endpoint: its pending events are delivered again.
    Enable {
        #[arg(long)]
        merchant: String,
    },
}

pub(super) async fn webhooks(config: Config, command: WebhooksCommand) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    let webhooks = &state.webhooks;
    match command {
        WebhooksCommand::List {
            merchant,
            limit,
            json,
        } => {
            let overview = webhooks
                .overview(&merchant, limit)
                .await
                .map_err(|e| anyhow::anyhow!("{merchant}: {}", e.public_message()))?;
            if json {
                println!("{}", serde_json::to_string(&overview)?);
                return Ok(());
            }
            println!(
                "endpoint: {}",
                overview.url.as_deref().unwrap_or("(no webhook URL)")
            );
            if let Some(reason) = &overview.disabled_reason {
                println!(
                    "DISABLED: {reason}. Enable with: saifu webhooks enable --merchant {merchant}"
                );
            }
            println!("EVENT\tTYPE\tPAYMENT\tSTATE\tATTEMPTS\tLAST ANSWER");
            for e in overview.events {
                let last = match (e.last_status, &e.last_error) {
                    (Some(status), _) => status.to_string(),
                    (None, Some(error)) => error.clone(),
                    (None, None) => "-".into(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    e.id, e.event_type, e.subject_id, e.state, e.attempts, last
                );
            }
        }
        WebhooksCommand::Retry { event_id } => {
            let delivery = webhooks
                .retry_now(&event_id, &Actor::Cli)
                .await
                .map_err(|e| anyhow::anyhow!("{event_id}: {}", e.public_message()))?;
            let answer = match (delivery.status, &delivery.error) {
                (Some(status), _) => format!("answered {status}"),
                (None, Some(error)) => error.clone(),
                (None, None) => "no answer".into(),
            };
            println!(
                "{} attempt {}: {answer}; now {}",
                delivery.event_id, delivery.attempt, delivery.state
            );
            anyhow::ensure!(
                delivery.state == "delivered",
                "the endpoint did not accept the event"
            );
        }
        WebhooksCommand::Enable { merchant } => {
            webhooks
                .enable(&merchant, &Actor::Cli)
                .await
                .map_err(|e| anyhow::anyhow!("{merchant}: {}", e.public_message()))?;
            println!("{merchant}: webhook endpoint enabled; pending events will be delivered");
        }
    }
    Ok(())
}
