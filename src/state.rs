//! The wallet's parts, built once from the configuration: `AppState` holds every service, and
//! the settings each room takes are cut from `Config` here, so that no room reads it whole.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use webauthn_rs::prelude::{Url, WebauthnBuilder};

use crate::accounts::{Accounts, SigninLimits};
use crate::admin::dashboard::Dashboard;
use crate::admin::Admins;
use crate::audit::Audit;
use crate::checkout::signing::GrantSigner;
use crate::checkout::{Checkout, CheckoutParts, Lifetimes};
use crate::config::Config;
use crate::disputes::{DisputeSettings, Disputes};
use crate::idempotency::Idempotency;
use crate::keys::{FingerprintKey, KeyEncryptionKey, KeySettings, LocalKeyring};
use crate::merchants::Merchants;
use crate::payments::Payments;
use crate::points::programme::{Expiry, Redemption};
use crate::points::{PointsPolicy, ProgrammeRules, Programmes};
use crate::points::{PointsService, Statements};
use crate::processor::simulated::{SimulatedOptions, SimulatedProcessor};
use crate::receipts::Receipts;
use crate::recovery::Recovery;
use crate::registration::Registrations;
use crate::risk::{parse_limits, Limits, LimitsForm};
use crate::store::{Store, StoreOptions};
use crate::vault::Vault;
use crate::webhooks::{Schedule, WebhookSettings, Webhooks};

/// Everything a request handler may need; handlers take only the parts they use, each through
/// `State<Part>` (`FromRef`).
///
/// One shared handle: axum clones the state for every middleware and handler of every request,
/// and a deep copy of every service (each with its own store handles) was measured at about a
/// tenth of the wallet's CPU in a checkout (BENCHMARKS.md, "Profile of this round").
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// Hands each part to the handlers that take it (`State<Part>`), as a derived `FromRef` would.
macro_rules! parts {
    ($($field:ident: $part:ty),* $(,)?) => {
        $(impl axum::extract::FromRef<AppState> for $part {
            fn from_ref(state: &AppState) -> Self {
                state.0.$field.clone()
            }
        })*
    };
}

parts! {
    config: Arc<Config>,
    store: Store,
    accounts: Accounts,
    recovery: Recovery,
    admins: Admins,
    vault: Vault,
    checkout: Checkout,
    payments: Payments,
    disputes: Disputes,
    points: PointsService,
    risk: crate::risk::Risk,
    simulator: Arc<SimulatedProcessor>,
    webhooks: Webhooks,
    idempotency: Idempotency,
    audit: Audit,
    dashboard: Dashboard,
    receipts: Receipts,
    registrations: Registrations,
}

/// The wallet's services, shared behind [`AppState`].
pub struct AppParts {
    pub config: Arc<Config>,
    pub store: Store,
    pub accounts: Accounts,
    /// Account recovery: recovery codes and recoveries started by support.
    pub recovery: Recovery,
    /// The issuer's admins: invitations, passkeys, roles.
    pub admins: Admins,
    pub vault: Vault,
    pub checkout: Checkout,
    pub payments: Payments,
    /// Disputes and the guarantee fund.
    pub disputes: Disputes,
    pub points: PointsService,
    /// The issuer's risk limits (the checkout's).
    pub risk: crate::risk::Risk,
    /// The simulated card processor in use (test mode), for fault injection.
    pub simulator: Arc<SimulatedProcessor>,
    pub webhooks: Webhooks,
    pub idempotency: Idempotency,
    /// The audit log, for the `saifu audit` commands (changes append through their own room).
    pub audit: Audit,
    /// The console dashboard's figures.
    pub dashboard: Dashboard,
    /// Signed receipts of approvals: download, merchant fetch, verification.
    pub receipts: Receipts,
    /// Merchants registering themselves (RFC 7591, 7592), and the issuer's switch for it.
    pub registrations: Registrations,
}

/// The merchants' service lives in the checkout; console handlers take it on its own.
impl axum::extract::FromRef<AppState> for Merchants {
    fn from_ref(state: &AppState) -> Self {
        state.checkout.merchants.clone()
    }
}

/// The points statements read the store and the checkout's programme versions (shared handles,
/// so this is cheap per request).
impl axum::extract::FromRef<AppState> for Statements {
    fn from_ref(state: &AppState) -> Self {
        Statements::new(state.store.clone(), state.checkout.programmes.clone())
    }
}

/// The points programme's service lives in the checkout too; the console's points pages take
/// it on its own.
impl axum::extract::FromRef<AppState> for Programmes {
    fn from_ref(state: &AppState) -> Self {
        state.checkout.programmes.clone()
    }
}

/// The shopper's addresses are kept in the store; their handlers take the service on its own.
impl axum::extract::FromRef<AppState> for crate::addresses::Addresses {
    fn from_ref(state: &AppState) -> Self {
        crate::addresses::Addresses::new(state.store.clone())
    }
}

impl AppState {
    /// Opens the database, runs migrations and loads keys.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let first_run = first_run_limits(&config)?;
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
        let webauthn = Arc::new(webauthn);
        let accounts = Accounts::new(
            webauthn.clone(),
            store.clone(),
            config.ceremony_ttl_secs as i64,
            limits,
        );
        let admins = Admins::new(
            webauthn,
            store.clone(),
            config.ceremony_ttl_secs as i64,
            limits,
        );
        let processor = Arc::new(SimulatedProcessor::new(
            store.clone(),
            SimulatedOptions {
                latency: Duration::from_millis(config.processor_latency_ms),
                fault_rate: config.processor_fault_rate,
            },
        ));
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
        let programmes = Programmes::new(store.clone());
        programmes
            .ensure_first(&points_first_run(&config), crate::clock::unix_now())
            .await?;
        let signer = GrantSigner::new(store.clone(), kek.clone());
        signer.ensure_key(crate::clock::unix_now()).await?;
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
                in_flight_lease: config.in_flight_lease_secs as i64,
            },
            programmes,
            risk: crate::risk::Risk::new(store.clone()),
        });
        let risk = checkout.risk.clone();
        risk.set_first_run(&first_run, crate::clock::unix_now())
            .await?;
        let payments = Payments::new(
            store.clone(),
            vault.clone(),
            checkout.clone(),
            webhooks.clone(),
            config.in_flight_lease_secs as i64,
        );
        let disputes = Disputes::new(
            store.clone(),
            payments.clone(),
            webhooks.clone(),
            dispute_settings(&config),
        );
        let points = PointsService::new(store.clone());
        let idempotency = Idempotency::new(store.clone(), config.idempotency_lease_secs as i64);
        let recovery = Recovery::new(store.clone(), limits, config.recovery_cooldown_secs as i64);
        let registrations = Registrations::new(
            store.clone(),
            checkout.merchants.clone(),
            webhooks.clone(),
            config.registration_per_hour,
        );
        Ok(Self(Arc::new(AppParts {
            registrations,
            config: Arc::new(config),
            idempotency,
            audit: Audit::new(store.clone()),
            recovery,
            dashboard: Dashboard::new(store.clone()),
            receipts: Receipts::new(store.clone(), checkout.signer.clone()),
            store,
            accounts,
            admins,
            vault,
            checkout,
            payments,
            disputes,
            risk,
            points,
            simulator: processor,
            webhooks,
        })))
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

/// The disputes settings: windows in seconds, the guarantee's cap, the resolving lease.
pub fn dispute_settings(config: &Config) -> DisputeSettings {
    const DAY: i64 = 24 * 60 * 60;
    DisputeSettings {
        window_secs: config.dispute_window_days * DAY,
        response_secs: config.dispute_response_days * DAY,
        cap: config.guarantee_cap,
        lease_secs: config.in_flight_lease_secs as i64,
    }
}

/// The points programme the settings describe: version 1 on a wallet's first start, and
/// never read again once the programme has a version.
pub fn points_first_run(config: &Config) -> ProgrammeRules {
    ProgrammeRules {
        rates: PointsPolicy {
            earn_jpy: config.points_earn_jpy,
            earn_usd: config.points_earn_usd,
            value_jpy: config.point_value_jpy,
            value_usd: config.point_value_usd,
        },
        expiry: Expiry {
            months: config.points_expiry_months,
            rolling: config.points_expiry_rolling,
        },
        redemption: Redemption {
            min_points: config.points_min_redeem,
            max_points: config.points_max_redeem,
            max_percent: config.points_max_redeem_percent,
        },
    }
}

/// The first-run risk limits the settings give (`SAIFU_RISK_*`), for each currency they name,
/// checked as the console checks its form; an invalid one stops start-up, naming its setting.
pub fn first_run_limits(config: &Config) -> anyhow::Result<Vec<Limits>> {
    let count = config.risk_hourly_count.map(|n| n.to_string());
    let amounts = [
        (
            "JPY",
            &config.risk_per_payment_jpy,
            &config.risk_per_payment_unverified_jpy,
            &config.risk_daily_total_jpy,
        ),
        (
            "USD",
            &config.risk_per_payment_usd,
            &config.risk_per_payment_unverified_usd,
            &config.risk_daily_total_usd,
        ),
    ];
    let mut first_run = Vec::new();
    for (currency, per_payment, unverified, daily_total) in amounts {
        let typed = |setting: &Option<String>| setting.clone().unwrap_or_default();
        let form = LimitsForm {
            currency: currency.into(),
            per_payment: typed(per_payment),
            per_payment_unverified: typed(unverified),
            daily_total: typed(daily_total),
            hourly_count: typed(&count),
        };
        let limits = parse_limits(&form).map_err(|e| {
            let setting = match e.field() {
                Some("hourly_count") => "SAIFU_RISK_HOURLY_COUNT".to_string(),
                field => format!(
                    "SAIFU_RISK_{}_{currency}",
                    field.unwrap_or_default().to_ascii_uppercase()
                ),
            };
            anyhow::anyhow!("{setting}: {}", e.public_message())
        })?;
        if limits.any() {
            first_run.push(limits);
        }
    }
    Ok(first_run)
}

pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let options = StoreOptions {
        max_connections: config.db_max_connections,
        sqlite_synchronous: config.sqlite_synchronous.clone(),
    };
    Store::connect(&config.database_url()?, &options).await
}
