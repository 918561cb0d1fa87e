//! Saifu, a personal commerce wallet. `Application::build` assembles exactly what production
//! runs, so tests and the CLI start the same server.

pub mod accounts;
pub mod card;
pub mod checkout;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod keys;
pub mod merchants;
pub mod money;
pub mod payments;
pub mod points;
pub mod processor;
pub mod secrets;
pub mod store;
pub mod vault;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use webauthn_rs::prelude::{Url, WebauthnBuilder};

use crate::accounts::{Accounts, SigninLimits};
use crate::checkout::signing::GrantSigner;
use crate::checkout::{Checkout, CheckoutParts, Lifetimes};
use crate::config::{Config, LogFormat};
use crate::idempotency::Idempotency;
use crate::keys::{FingerprintKey, KeyEncryptionKey, KeySettings, LocalKeyring};
use crate::merchants::Merchants;
use crate::payments::Payments;
use crate::points::PointsPolicy;
use crate::points::PointsService;
use crate::processor::simulated::{SimulatedOptions, SimulatedProcessor};
use crate::store::{Store, StoreOptions};
use crate::vault::Vault;
use crate::webhooks::{Schedule, WebhookSettings, Webhooks};

/// Everything a request handler may need; handlers take only the parts they use, each through
/// `State<Part>` (`FromRef`).
#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub accounts: Accounts,
    pub vault: Vault,
    pub checkout: Checkout,
    pub payments: Payments,
    pub points: PointsService,
    /// The simulated card processor in use (test mode), for fault injection.
    pub simulator: Arc<SimulatedProcessor>,
    pub webhooks: Webhooks,
    pub idempotency: Idempotency,
}

impl AppState {
    /// Opens the database, runs migrations and loads keys.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let keys = key_settings(&config);
        let keyring = LocalKeyring::load(&keys)?;
        let fingerprints = FingerprintKey::load(&keys)?;
        let store = open_store(&config).await?;
        store.migrate().await?;
        let origin = Url::parse(&config.origin()).context("issuer origin")?;
        let webauthn = WebauthnBuilder::new(config.rp_id(), &origin)
            .context("WebAuthn relying party from SAIFU_ISSUER")?
            .rp_name("Saifu")
            .timeout(Duration::from_secs(config.ceremony_ttl_secs))
            .build()
            .context("WebAuthn relying party")?;
        let limits = SigninLimits {
            per_account: config.signin_failures_per_account,
            per_ip: config.signin_failures_per_ip,
            window_secs: config.signin_failure_window_secs as i64,
        };
        let accounts = Accounts::new(
            Arc::new(webauthn),
            store.clone(),
            config.ceremony_ttl_secs as i64,
            limits,
        );
        let processor = Arc::new(SimulatedProcessor::new(SimulatedOptions {
            latency: Duration::from_millis(config.processor_latency_ms),
            fault_rate: config.processor_fault_rate,
        }));
        tracing::warn!(
            latency_ms = config.processor_latency_ms,
            fault_rate = config.processor_fault_rate,
            "card processor: the SIMULATED processor (TEST MODE). No card network is contacted and no money moves"
        );
        let kek: Arc<dyn KeyEncryptionKey> = Arc::new(keyring);
        let fingerprints = Arc::new(fingerprints);
        let vault = Vault::new(
            store.clone(),
            kek.clone(),
            fingerprints.clone(),
            processor.clone(),
        );
        let webhooks = Webhooks::new(store.clone(), kek.clone(), webhook_settings(&config)?);
        let signer = GrantSigner::new(store.clone(), kek.clone());
        signer.ensure_key(clock::unix_now()).await?;
        let checkout = Checkout::new(CheckoutParts {
            store: store.clone(),
            merchants: Merchants::new(store.clone(), kek),
            signer,
            accounts: accounts.clone(),
            vault: vault.clone(),
            subjects: fingerprints,
            issuer: config.issuer.clone(),
            lifetimes: Lifetimes {
                request: config.request_ttl_secs as i64,
                code: config.code_ttl_secs as i64,
                grant: config.grant_ttl_secs as i64,
            },
            points: points_policy(&config),
        });
        let payments = Payments::new(
            store.clone(),
            vault.clone(),
            checkout.clone(),
            points_policy(&config),
            webhooks.clone(),
        );
        let points = PointsService::new(store.clone(), points_policy(&config));
        Ok(Self {
            config: Arc::new(config),
            idempotency: Idempotency::new(store.clone()),
            store,
            accounts,
            vault,
            checkout,
            payments,
            points,
            simulator: processor,
            webhooks,
        })
    }
}

/// Where the keys come from: the key room reads these, never the whole configuration.
pub fn key_settings(config: &Config) -> KeySettings {
    KeySettings {
        development: config.is_development(),
        data_dir: config.data_dir.clone(),
        kek_file: config.kek_file.clone(),
        kek: config.kek.clone(),
        fingerprint_key_file: config.fingerprint_key_file.clone(),
        fingerprint_key: config.fingerprint_key.clone(),
    }
}

/// Webhook delivery settings, with the retry schedule parsed from its configured text.
pub fn webhook_settings(config: &Config) -> anyhow::Result<WebhookSettings> {
    Ok(WebhookSettings {
        schedule: Schedule::parse(&config.webhook_retry_schedule)
            .context("invalid webhook_retry_schedule")?,
        allow_private_targets: config.webhook_allow_private_targets(),
        timeout: Duration::from_secs(config.webhook_timeout_secs),
        poll: Duration::from_millis(config.webhook_poll_ms),
        secret_overlap: Duration::from_secs(config.webhook_secret_overlap_secs),
    })
}

pub fn points_policy(config: &Config) -> PointsPolicy {
    PointsPolicy {
        earn_jpy: config.points_earn_jpy,
        earn_usd: config.points_earn_usd,
        value_jpy: config.point_value_jpy,
        value_usd: config.point_value_usd,
        expiry_secs: config.points_expiry_days * 24 * 60 * 60,
    }
}

pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let options = StoreOptions {
        max_connections: config.db_max_connections,
        sqlite_synchronous: config.sqlite_synchronous.clone(),
    };
    Store::connect(&config.database_url()?, &options).await
}

/// A built wallet, bound to its listener and ready to serve.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Builds the state, then binds `config.listen`: the port opens only once the wallet can
    /// answer.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listen = config.listen.clone();
        let state = AppState::build(config).await?;
        let listener = TcpListener::bind(&listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        Ok(Self { listener, state })
    }

    /// Builds on a listener that is already bound (tests bind port 0 first, so that the
    /// issuer URL can name the port).
    pub async fn with_listener(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        let state = AppState::build(config).await?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let janitor = tokio::spawn(janitor(self.state.clone()));
        let worker = self
            .state
            .config
            .webhook_worker
            .then(|| tokio::spawn(self.state.webhooks.clone().run_worker()));
        let app = http::router(self.state.clone());
        tracing::info!(address = %self.listener.local_addr()?, issuer = %self.state.config.issuer, "Saifu is listening");
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        janitor.abort();
        // Deliveries in flight are dropped; their leases lapse and they are sent again.
        if let Some(worker) = worker {
            worker.abort();
        }
        served.context("serving HTTP")
    }
}

/// Once a minute: removes expired sessions, ceremonies and rate-limit windows, expires
/// points past their date (oldest first), releases points held for grants that lapsed, and
/// removes webhook events that ended more than 30 days ago.
async fn janitor(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let window = state.config.signin_failure_window_secs as i64;
        let now = clock::unix_now();
        if let Err(err) = state.store.purge_expired(now, window).await {
            tracing::warn!(error = %err, "purging expired rows failed");
        }
        match state.points.expire(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(points = n, "points expired"),
            Err(err) => tracing::warn!(error = %err, "expiring points failed"),
        }
        if let Err(err) = state.points.release_lapsed_holds(now).await {
            tracing::warn!(error = %err, "releasing lapsed point holds failed");
        }
        if let Err(err) = state
            .store
            .purge_webhook_events(now - webhooks::RETENTION_SECS)
            .await
        {
            tracing::warn!(error = %err, "purging old webhook events failed");
        }
    }
}

/// Registers SIGTERM and Ctrl-C handlers now, so a signal that arrives during start-up is not
/// lost, and returns a future that resolves on either.
pub fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    Ok(async move {
        #[cfg(unix)]
        let terminated = terminate.recv();
        #[cfg(not(unix))]
        let terminated = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = terminated => {},
        }
        tracing::info!("shutdown signal received: finishing requests in flight");
    })
}

/// Sets up `tracing` output. `RUST_LOG` overrides the default level.
pub fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    // Logs go to standard error: standard output is reserved for command results (`--json`).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
