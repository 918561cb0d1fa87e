//! `saifu merchant`: registering merchants and managing their status, secrets and URIs.

use anyhow::Context;
use clap::Subcommand;

use crate::audit::Actor;
use crate::config::Config;
use crate::merchants::{parse_redirect_uri, MerchantStatus, NewMerchant, StatusReason};
use crate::AppState;

#[derive(Subcommand, Debug)]
pub enum MerchantCommand {
    /// Register a merchant. Its secrets are shown once.
    Create {
        #[arg(long)]
        name: String,
        /// An exactly registered redirect URI (repeatable).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        #[arg(long)]
        webhook_url: Option<String>,
        /// The shop's domain, shown on the consent page (default: the first redirect URI's host).
        #[arg(long)]
        domain: Option<String>,
        /// Mark the merchant as vetted by the issuer (shows the trust mark).
        #[arg(long)]
        verified: bool,
        /// Print only `{"client_id","client_secret","webhook_secret"}`.
        #[arg(long)]
        json: bool,
    },
    /// List merchants.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Issue a new client secret; the old one stops working at once.
    RotateSecret {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Issue a new webhook secret. The old one keeps signing next to it for the overlap, so
    /// the merchant can switch without losing events.
    RotateWebhookSecret {
        #[arg(long)]
        client_id: String,
        /// How long the old secret keeps signing, in seconds (default: the configured
        /// webhook_secret_overlap_secs, 24 h).
        #[arg(long)]
        overlap_secs: Option<u64>,
        /// Print only `{"client_id","webhook_secret"}`.
        #[arg(long)]
        json: bool,
    },
    /// Set the webhook URL (http or https), or remove it with --none.
    SetWebhookUrl {
        #[arg(long)]
        client_id: String,
        #[arg(long, required_unless_present = "none")]
        url: Option<String>,
        #[arg(long, conflicts_with = "url")]
        none: bool,
    },
    /// Set the vetting status: pending, verified or suspended (the trust mark follows, and
    /// the merchant is sent `merchant.trust_mark_changed`). Setting the status it already has
    /// changes nothing.
    SetStatus {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        status: String,
        /// Why (1 to 500 characters; required to suspend). Kept, and sent to the merchant.
        #[arg(long)]
        reason: Option<String>,
    },
}

pub(super) async fn merchant(config: Config, command: MerchantCommand) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    let merchants = &state.checkout.merchants;
    let now = crate::clock::unix_now();
    match command {
        MerchantCommand::Create {
            name,
            redirect_uris,
            webhook_url,
            domain,
            verified,
            json,
        } => {
            let redirect_uris = redirect_uris
                .iter()
                .map(|u| parse_redirect_uri(u).map_err(anyhow::Error::msg))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let webhook_url = webhook_url
                .map(|u| {
                    crate::webhooks::target::parse_target(&u)
                        .map_err(|e| anyhow::anyhow!("--webhook-url {u:?}: {e}"))
                })
                .transpose()?;
            let created = merchants
                .create(
                    NewMerchant {
                        name,
                        redirect_uris,
                        webhook_url,
                        domain,
                        verified,
                    },
                    now,
                    &Actor::Cli,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
            if json {
                println!("{}", serde_json::to_string(&created)?);
            } else {
                println!("client_id:      {}", created.client_id);
                println!("client_secret:  {}", created.client_secret);
                println!("webhook_secret: {}", created.webhook_secret);
                println!("Keep the secrets now: Saifu stores only their digests or wrapped forms.");
            }
        }
        MerchantCommand::List { json } => {
            let list = merchants
                .list()
                .await
                .map_err(|e| anyhow::anyhow!("{e:#}"))?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|m| {
                        serde_json::json!({
                            "client_id": m.client_id, "name": m.name, "domain": m.domain,
                            "status": m.status.as_str(), "redirect_uris": m.redirect_uris, "webhook_url": m.webhook_url,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string(&rows)?);
            } else {
                for m in list {
                    println!(
                        "{}\t{}\t{}\t{}",
                        m.client_id,
                        m.status.as_str(),
                        m.name,
                        m.redirect_uris.join(" ")
                    );
                }
            }
        }
        MerchantCommand::RotateSecret { client_id, json } => {
            let secret = merchants
                .rotate_secret(&client_id, &Actor::Cli)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", client_id, e.public_message()))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "client_id": client_id, "client_secret": secret })
                );
            } else {
                println!("client_secret: {secret}");
            }
        }
        MerchantCommand::RotateWebhookSecret {
            client_id,
            overlap_secs,
            json,
        } => {
            let overlap = overlap_secs
                .map(std::time::Duration::from_secs)
                .unwrap_or(state.webhooks.settings().secret_overlap);
            let secret = state
                .webhooks
                .rotate_secret(&client_id, overlap, now, &Actor::Cli)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", client_id, e.public_message()))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "client_id": client_id, "webhook_secret": secret })
                );
            } else {
                println!("webhook_secret: {secret}");
                println!(
                    "The previous secret keeps signing next to it for {} s.",
                    overlap.as_secs()
                );
            }
        }
        MerchantCommand::SetWebhookUrl {
            client_id,
            url,
            none,
        } => {
            let url = if none { None } else { url };
            state
                .webhooks
                .set_url(&client_id, url.as_deref(), &Actor::Cli)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", client_id, e.public_message()))?;
            match url {
                Some(url) => println!("{client_id} now receives webhooks at {url}"),
                None => println!("{client_id} no longer receives webhooks"),
            }
        }
        MerchantCommand::SetStatus {
            client_id,
            status,
            reason,
        } => {
            let status = MerchantStatus::parse(&status)
                .context("--status must be pending, verified or suspended")?;
            let reason = StatusReason::parse_optional(reason.as_deref())
                .map_err(|e| anyhow::anyhow!("--reason: {}", e.public_message()))?;
            let changed = merchants
                .set_status(&client_id, status, reason, &Actor::Cli, now)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", client_id, e.public_message()))?;
            if changed {
                println!("{client_id} is now {}", status.as_str());
            } else {
                println!(
                    "{client_id} is already {}; nothing changed",
                    status.as_str()
                );
            }
        }
    }
    Ok(())
}
