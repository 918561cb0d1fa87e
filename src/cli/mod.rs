//! The `saifu` command line: `serve` (the default), `migrate`, `keys`, `merchant`, `points`,
//! `webhooks`, `admin`, `audit`, `receipt`, `risk`, `registration` and `demo`, one module per
//! command group.

mod admin;
mod audit;
mod demo;
mod keys;
mod merchant;
mod points;
mod receipt;
mod registration;
mod risk;
mod webhooks;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use self::admin::admin;
pub use self::admin::AdminCommand;
use self::audit::audit;
pub use self::audit::AuditCommand;
use self::demo::demo;
pub use self::demo::{register_demo_shop, DemoShopCredentials};
use self::keys::keys;
pub use self::keys::KeysCommand;
use self::merchant::merchant;
pub use self::merchant::MerchantCommand;
use self::points::points;
pub use self::points::{CampaignCommand, PointsCommand};
use self::receipt::receipt;
pub use self::receipt::ReceiptCommand;
use self::registration::registration;
pub use self::registration::RegistrationCommand;
use self::risk::risk;
pub use self::risk::RiskCommand;
use self::webhooks::webhooks;
pub use self::webhooks::WebhooksCommand;
use crate::config::Config;
use crate::{init_tracing, open_store, shutdown_signal, Application};

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
    /// The points programme (its versions) and merchants' points campaigns.
    #[command(subcommand)]
    Points(PointsCommand),
    /// Inspect and retry webhook deliveries.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Invite and list issuer console admins.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Check the audit log's hash chain, print its head, list entries.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Verify a signed receipt (offline with --jwks).
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Show and change the issuer's risk limits per currency.
    #[command(subcommand)]
    Risk(RiskCommand),
    /// Show, open or close the registration of shops by themselves (RFC 7591).
    #[command(subcommand)]
    Registration(RegistrationCommand),
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
        Command::Points(command) => points(config, command).await,
        Command::Webhooks(command) => webhooks(config, command).await,
        Command::Admin(command) => admin(config, command).await,
        Command::Audit(command) => audit(&config, command).await,
        Command::Receipt(command) => receipt(&config, command).await,
        Command::Risk(command) => risk(config, command).await,
        Command::Registration(command) => registration(config, command).await,
        Command::Demo {
            shop_listen,
            shop_url,
        } => demo(config, &shop_listen, &shop_url).await,
    }
}
