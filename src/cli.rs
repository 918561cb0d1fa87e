//! The `saifu` command line: `serve` (the default), `migrate`, `keys`, `merchant`, `webhooks`
//! and `demo`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::checkout::merchants::{parse_redirect_uri, MerchantStatus, NewMerchant};
use crate::checkout::signing::GrantSigner;
use crate::config::Config;
use crate::vault::keys::{
    add_version_to_file, retire_version_in_file, KeyEncryptionKey, LocalKeyring,
};
use crate::vault::rewrap_all;
use crate::{init_tracing, open_store, shutdown_signal, AppState, Application};

#[derive(Parser, Debug)]
#[command(name = "saifu", version, about = "Saifu: a personal commerce wallet")]
pub struct Cli {
    /// TOML configuration file (also SAIFU_CONFIG). SAIFU_* variables override it.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the wallet server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage the vault's key-encryption keys and the grant-signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Register and manage merchants (OAuth clients).
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Inspect and retry webhook deliveries.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Run the wallet and the demo shop together, with the shop registered as a verified
    /// merchant, so a whole checkout can be clicked through in a browser.
    Demo {
        /// Where the demo shop listens.
        #[arg(long, default_value = "127.0.0.1:3000")]
        shop_listen: String,
        /// The demo shop's public base URL.
        #[arg(long, default_value = "http://localhost:3000/")]
        shop_url: String,
    },
}

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
    /// Set the merchant-funded points campaign: earned points are multiplied by PERCENT/100
    /// (100 = no campaign, 200 = double points). The extra points are charged to the merchant.
    SetCampaign {
        #[arg(long)]
        client_id: String,
        #[arg(long = "multiplier-percent")]
        percent: i64,
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
    /// Set the vetting status: pending, verified or suspended.
    SetStatus {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        status: String,
    },
}

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

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Add a new key version to the keyring file and re-wrap every card's data key with it.
    /// Safe while servers run: they pick up the new version from the file.
    Rotate {
        /// Cards re-wrapped per batch.
        #[arg(long, default_value_t = 200)]
        batch: i64,
    },
    /// Re-wrap data keys still under an older version (resumes an interrupted rotation).
    Rewrap {
        #[arg(long, default_value_t = 200)]
        batch: i64,
    },
    /// Retire an old version: its key material is deleted and it can no longer decrypt.
    /// Refused while any card still uses it.
    Retire {
        #[arg(long)]
        version: u32,
    },
    /// Show the key versions and how many keys each wraps.
    Status,
    /// Generate a new grant-signing key; the old one stays published until its grants expire.
    RotateSigning,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    init_tracing(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let shutdown = shutdown_signal()?;
            if config.is_development() {
                tracing::warn!("running in DEVELOPMENT mode: generated keys, cookies without Secure. Set SAIFU_ENV=production for real use");
            }
            let app = Application::build(config).await?;
            app.run_until(shutdown).await
        }
        Command::Migrate => {
            let store = open_store(&config).await?;
            store.migrate().await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Keys(command) => keys(&config, command).await,
        Command::Merchant(command) => merchant(config, command).await,
        Command::Webhooks(command) => webhooks(config, command).await,
        Command::Demo {
            shop_listen,
            shop_url,
        } => demo(config, &shop_listen, &shop_url).await,
    }
}

const DEMO_SHOP_NAME: &str = "Saifu Demo Shop";

/// The demo shop's credentials at the wallet.
pub struct DemoShopCredentials {
    pub client_id: String,
    pub client_secret: String,
    /// The `whsec_…` secret its webhooks are signed with.
    pub webhook_secret: String,
}

/// Registers the demo shop as a verified merchant whose webhooks go to
/// `{shop_base}webhooks/saifu`, or gives the existing one a fresh client secret.
pub async fn register_demo_shop(
    state: &AppState,
    shop_base: &url::Url,
) -> anyhow::Result<DemoShopCredentials> {
    let redirect = shop_base.join("callback").context("demo shop URL")?;
    let webhook_url = shop_base.join("webhooks/saifu").context("demo shop URL")?;
    let merchants = &state.checkout.merchants;
    let existing = merchants
        .list()
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}"))?
        .into_iter()
        .find(|m| m.name == DEMO_SHOP_NAME && m.redirect_uris.contains(&redirect.to_string()));
    if let Some(m) = existing {
        let client_secret = merchants
            .rotate_secret(&m.client_id)
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        merchants
            .set_status(&m.client_id, MerchantStatus::Verified)
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        state
            .webhooks
            .set_url(&m.client_id, Some(webhook_url.as_str()))
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        state
            .webhooks
            .enable(&m.client_id)
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let webhook_secret = state
            .webhooks
            .current_secret(&m.client_id)
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        return Ok(DemoShopCredentials {
            client_id: m.client_id,
            client_secret,
            webhook_secret,
        });
    }
    let created = merchants
        .create(
            NewMerchant {
                name: DEMO_SHOP_NAME.into(),
                redirect_uris: vec![
                    parse_redirect_uri(redirect.as_str()).map_err(anyhow::Error::msg)?
                ],
                webhook_url: Some(webhook_url),
                domain: Some(shop_base.host_str().unwrap_or("localhost").to_string()),
                verified: true,
            },
            crate::store::unix_now(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    Ok(DemoShopCredentials {
        client_id: created.client_id,
        client_secret: created.client_secret,
        webhook_secret: created.webhook_secret,
    })
}

async fn demo(config: Config, shop_listen: &str, shop_url: &str) -> anyhow::Result<()> {
    let shutdown = shutdown_signal()?;
    let shop_base = url::Url::parse(shop_url).context("--shop-url must be a URL")?;
    let issuer = config.issuer.clone();
    let app = Application::build(config).await?;
    let DemoShopCredentials {
        client_id,
        client_secret,
        webhook_secret,
    } = register_demo_shop(app.state(), &shop_base).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let wallet_stop = {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.changed().await;
        }
    };
    let wallet = tokio::spawn(app.run_until(wallet_stop));
    let shop = saifu_demo_shop::router(saifu_demo_shop::DemoShopConfig {
        wallet_issuer: issuer.clone(),
        client_id,
        client_secret: client_secret.into(),
        shop_base: shop_base.clone(),
        webhook_secret: Some(webhook_secret.into()),
    })
    .await
    .map_err(|e| anyhow::anyhow!("starting the demo shop: {e}"))?;
    let listener = tokio::net::TcpListener::bind(shop_listen)
        .await
        .with_context(|| format!("binding {shop_listen}"))?;
    println!("Saifu wallet:    {issuer}");
    println!("Saifu Demo Shop: {shop_base}");
    println!(
        "Open the shop, put something in the cart and press \"Pay with Saifu\". Ctrl-C stops both."
    );
    let shop_stop = {
        let mut rx = stop_rx;
        async move {
            let _ = rx.changed().await;
        }
    };
    let shop_task = tokio::spawn(saifu_demo_shop::serve(listener, shop, shop_stop));
    shutdown.await;
    let _ = stop_tx.send(true);
    shop_task
        .await
        .context("demo shop task")?
        .context("serving the demo shop")?;
    wallet.await.context("wallet task")?
}

async fn webhooks(config: Config, command: WebhooksCommand) -> anyhow::Result<()> {
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
                .retry_now(&event_id)
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
                .enable(&merchant)
                .await
                .map_err(|e| anyhow::anyhow!("{merchant}: {}", e.public_message()))?;
            println!("{merchant}: webhook endpoint enabled; pending events will be delivered");
        }
    }
    Ok(())
}

async fn merchant(config: Config, command: MerchantCommand) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    let merchants = &state.checkout.merchants;
    let now = crate::store::unix_now();
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
                .rotate_secret(&client_id)
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
        MerchantCommand::SetCampaign { client_id, percent } => {
            anyhow::ensure!(
                (100..=1000).contains(&percent),
                "--multiplier-percent must be between 100 and 1000"
            );
            state
                .store
                .set_merchant_points_multiplier(&client_id, percent)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", client_id, e.public_message()))?;
            println!("{client_id} now earns shoppers {percent}% of the base points");
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
                .rotate_secret(&client_id, overlap, now)
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
                .set_url(&client_id, url.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", client_id, e.public_message()))?;
            match url {
                Some(url) => println!("{client_id} now receives webhooks at {url}"),
                None => println!("{client_id} no longer receives webhooks"),
            }
        }
        MerchantCommand::SetStatus { client_id, status } => {
            let status = MerchantStatus::parse(&status)
                .context("--status must be pending, verified or suspended")?;
            merchants
                .set_status(&client_id, status)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", client_id, e.public_message()))?;
            println!("{client_id} is now {}", status.as_str());
        }
    }
    Ok(())
}

async fn keys(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let keyring = LocalKeyring::load(config)?;
    let store = open_store(config).await?;
    store.migrate().await?;
    let keyring_file = || {
        keyring.file().map(std::path::Path::to_path_buf).context(
            "the keys come from SAIFU_KEK: add a version to that value yourself (v1:…,v2:…), restart, then run `saifu keys rewrap`",
        )
    };
    match command {
        KeysCommand::Rotate { batch } => {
            let version = add_version_to_file(&keyring_file()?)?;
            println!("added key version v{version}");
            let done = rewrap_all(&store, &keyring, batch.max(1)).await?;
            println!("re-wrapped {done} data keys with v{version}");
        }
        KeysCommand::Rewrap { batch } => {
            let done = rewrap_all(&store, &keyring, batch.max(1)).await?;
            println!("re-wrapped {done} data keys");
        }
        KeysCommand::Retire { version } => {
            let in_use = store
                .wrapped_per_key_version()
                .await?
                .into_iter()
                .find(|(v, _)| *v == i64::from(version))
                .map_or(0, |(_, n)| n);
            if in_use > 0 {
                anyhow::bail!(
                    "v{version} still wraps {in_use} data keys: run `saifu keys rewrap` first"
                );
            }
            retire_version_in_file(&keyring_file()?, version)?;
            println!("retired v{version}: its key material is gone");
        }
        KeysCommand::RotateSigning => {
            let signer = GrantSigner::new(store.clone(), std::sync::Arc::new(keyring));
            // Retired keys stay published for the longest grant lifetime plus the nodes' cache time.
            let kid = signer
                .rotate(crate::store::unix_now(), 600 + 120)
                .await
                .map_err(|e| anyhow::anyhow!("{e:#}"))?;
            println!("new grant-signing key {kid}; older keys stop signing and stay published for 12 minutes");
            return Ok(());
        }
        KeysCommand::Status => {
            let counts = store.wrapped_per_key_version().await?;
            let active = keyring.active_version().await?;
            for (version, retired) in keyring.versions() {
                let cards = counts
                    .iter()
                    .find(|(v, _)| *v == i64::from(version))
                    .map_or(0, |(_, n)| *n);
                let state = if retired {
                    "retired"
                } else if version == active {
                    "active"
                } else {
                    "live"
                };
                println!("v{version}\t{state}\t{cards} wrapped keys");
            }
        }
    }
    Ok(())
}
