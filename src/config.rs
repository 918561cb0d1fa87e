//! Configuration: built-in defaults, then an optional TOML file, then `SAIFU_*` environment
//! variables. Production mode refuses settings that are only safe on a developer's machine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;
use url::Url;

use crate::money::{AmountLimits, GuaranteeCap};

/// Settings that may also come from the environment, as `SAIFU_<NAME IN UPPER CASE>`.
pub const ENV_KEYS: &[&str] = &[
    "env",
    "issuer",
    "listen",
    "database_url",
    "data_dir",
    "cookie_secure",
    "kek_file",
    "kek",
    "fingerprint_key_file",
    "fingerprint_key",
    "processor_latency_ms",
    "processor_fault_rate",
    "in_flight_lease_secs",
    "reconcile_interval_secs",
    "idempotency_lease_secs",
    "db_max_connections",
    "sqlite_synchronous",
    "session_idle_secs",
    "session_absolute_secs",
    "admin_session_idle_secs",
    "admin_session_absolute_secs",
    "ceremony_ttl_secs",
    "signin_failures_per_account",
    "signin_failures_per_ip",
    "signin_failure_window_secs",
    "recovery_cooldown_secs",
    "registration_per_hour",
    "body_limit_bytes",
    "request_ttl_secs",
    "code_ttl_secs",
    "grant_ttl_secs",
    "points_earn_jpy",
    "points_earn_usd",
    "point_value_jpy",
    "point_value_usd",
    "points_expiry_months",
    "points_expiry_rolling",
    "points_min_redeem",
    "points_max_redeem",
    "points_max_redeem_percent",
    "max_amounts",
    "dispute_window_days",
    "dispute_response_days",
    "guarantee_cap",
    "risk_per_payment_jpy",
    "risk_per_payment_unverified_jpy",
    "risk_daily_total_jpy",
    "risk_per_payment_usd",
    "risk_per_payment_unverified_usd",
    "risk_daily_total_usd",
    "risk_hourly_count",
    "log_format",
    "webhook_worker",
    "webhook_allow_private_targets",
    "webhook_retry_schedule",
    "webhook_timeout_secs",
    "webhook_poll_ms",
    "webhook_secret_overlap_secs",
];

/// Settings read from the environment as typed, even when they look like a number: amounts in
/// a currency's units, whose decimals count (`120.50` is not the number 120.5).
const TEXT_KEYS: &[&str] = &[
    "risk_per_payment_jpy",
    "risk_per_payment_unverified_jpy",
    "risk_daily_total_jpy",
    "risk_per_payment_usd",
    "risk_per_payment_unverified_usd",
    "risk_daily_total_usd",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// The webhook retry schedule DESIGN.md publishes: the delay before each attempt (parsed by
/// `webhooks::Schedule` when the wallet starts).
pub const DEFAULT_WEBHOOK_SCHEDULE: &str = "0s,5s,5m,30m,2h,5h,10h,14h,20h,24h";

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub env: Environment,
    /// Public base URL; also the OAuth issuer, the WebAuthn origin and (its host) the RP ID.
    pub issuer: Url,
    pub listen: String,
    /// `sqlite://PATH` or `postgres://…`; `None` means `sqlite://DATA_DIR/saifu.db`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    /// `None` means: secure everywhere except development.
    pub cookie_secure: Option<bool>,
    /// Path of the key-encryption key file (32 random bytes, base64).
    pub kek_file: Option<PathBuf>,
    /// The keyring itself (`base64`, or `v1:base64,v2:base64`). Takes precedence over `kek_file`.
    pub kek: Option<secrecy::SecretString>,
    /// Path of the card-fingerprint HMAC key file (32 random bytes, base64).
    pub fingerprint_key_file: Option<PathBuf>,
    /// The card-fingerprint key itself, base64. Takes precedence over the file.
    pub fingerprint_key: Option<secrecy::SecretString>,
    /// Simulated processor: added latency per call, in milliseconds.
    pub processor_latency_ms: u64,
    /// Simulated processor: share of calls (0.0 to 1.0) that fail as if the network were down.
    pub processor_fault_rate: f64,
    /// How long a node holds a money operation it started (a card-network call) before a
    /// retry with the same Idempotency-Key or the reconciler may take it over.
    pub in_flight_lease_secs: u64,
    /// How often the reconciler looks for money operations left in flight.
    pub reconcile_interval_secs: u64,
    /// How long the first request with an Idempotency-Key holds it before a retry may run.
    pub idempotency_lease_secs: u64,
    pub db_max_connections: u32,
    /// SQLite `synchronous` pragma: FULL (default, survives power loss) or NORMAL.
    pub sqlite_synchronous: String,
    pub session_idle_secs: u64,
    pub session_absolute_secs: u64,
    /// An issuer admin's console session ends after this long without a request (15 min).
    pub admin_session_idle_secs: u64,
    /// An admin's console session ends this long after sign-in, whatever happens (8 h).
    pub admin_session_absolute_secs: u64,
    pub ceremony_ttl_secs: u64,
    pub signin_failures_per_account: u32,
    pub signin_failures_per_ip: u32,
    pub signin_failure_window_secs: u64,
    /// How long a recovery started by the issuer's support waits before its link works; a
    /// passkey sign-in meanwhile cancels it (24 h).
    pub recovery_cooldown_secs: u64,
    /// Dynamic merchant registrations (RFC 7591) taken from one client address per hour.
    pub registration_per_hour: u32,
    pub body_limit_bytes: usize,
    pub log_format: LogFormat,
    /// Lifetime of a pushed authorization request and its consent (at most 600).
    pub request_ttl_secs: u64,
    /// Lifetime of an authorization code (at most 60).
    pub code_ttl_secs: u64,
    /// Lifetime of a payment grant (at most 600).
    pub grant_ttl_secs: u64,
    /// Yen of card spending that earn one point.
    pub points_earn_jpy: i64,
    /// Cents of card spending that earn one point.
    pub points_earn_usd: i64,
    /// Yen one point is worth when redeemed.
    pub point_value_jpy: i64,
    /// Cents one point is worth when redeemed.
    pub point_value_usd: i64,
    /// Calendar months earned points last (1 to 120).
    pub points_expiry_months: i64,
    /// Whether any new earn extends all of a shopper's points to the new date.
    pub points_expiry_rolling: bool,
    /// The fewest points a payment may redeem (0: any number).
    pub points_min_redeem: i64,
    /// The most points a payment may redeem (none: no maximum).
    pub points_max_redeem: Option<i64>,
    /// The largest share of a payment's amount points may pay, in percent (1 to 100).
    pub points_max_redeem_percent: i64,
    /// The largest payment per currency, `JPY=10000000,USD=100000.00`; a currency left out
    /// keeps its default. Parsed when the configuration loads.
    pub max_amounts: AmountLimits,
    /// Days after capture during which a shopper may dispute a payment.
    pub dispute_window_days: i64,
    /// Days a merchant has to answer a dispute (accept, or send evidence).
    pub dispute_response_days: i64,
    /// The most the guarantee fund pays for one dispute, per currency in major units:
    /// `JPY=100000,USD=1000.00`; a currency left out keeps its default.
    pub guarantee_cap: GuaranteeCap,
    /// First-run risk limits (README, "Risk limits"): set at start-up for a currency whose
    /// limits were never set, and ignored once they were. Amounts as the console takes them,
    /// in the currency's units (`50000`, `120.50`); checked as the console checks them when
    /// the wallet starts.
    pub risk_per_payment_jpy: Option<String>,
    pub risk_per_payment_unverified_jpy: Option<String>,
    pub risk_daily_total_jpy: Option<String>,
    pub risk_per_payment_usd: Option<String>,
    pub risk_per_payment_unverified_usd: Option<String>,
    pub risk_daily_total_usd: Option<String>,
    /// First-run payments per hour per shopper, for every currency.
    pub risk_hourly_count: Option<i64>,
    /// Whether this node delivers webhooks (every node may; the outbox lease keeps them apart).
    pub webhook_worker: bool,
    /// Whether webhooks may go to private, loopback and link-local addresses. `None` means:
    /// allowed in development only.
    pub webhook_allow_private_targets: Option<bool>,
    /// Delays before each delivery attempt (`0s,5s,5m,…`; units ms, s, m, h).
    pub webhook_retry_schedule: String,
    /// Timeout of one delivery request.
    pub webhook_timeout_secs: u64,
    /// How often an idle worker looks for due events written by other nodes.
    pub webhook_poll_ms: u64,
    /// How long the previous webhook secret keeps signing after a rotation.
    pub webhook_secret_overlap_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            issuer: Url::parse("http://localhost:8080").expect("static URL"),
            listen: "127.0.0.1:8080".into(),
            database_url: None,
            data_dir: PathBuf::from("./data"),
            cookie_secure: None,
            kek_file: None,
            kek: None,
            fingerprint_key_file: None,
            fingerprint_key: None,
            processor_latency_ms: 0,
            processor_fault_rate: 0.0,
            in_flight_lease_secs: 30,
            reconcile_interval_secs: 10,
            idempotency_lease_secs: 120,
            db_max_connections: 8,
            sqlite_synchronous: "FULL".into(),
            session_idle_secs: 30 * 60,
            session_absolute_secs: 12 * 60 * 60,
            admin_session_idle_secs: 15 * 60,
            admin_session_absolute_secs: 8 * 60 * 60,
            ceremony_ttl_secs: 5 * 60,
            signin_failures_per_account: 5,
            signin_failures_per_ip: 30,
            signin_failure_window_secs: 15 * 60,
            recovery_cooldown_secs: 24 * 60 * 60,
            registration_per_hour: 10,
            body_limit_bytes: 64 * 1024,
            log_format: LogFormat::Pretty,
            request_ttl_secs: 600,
            code_ttl_secs: 60,
            grant_ttl_secs: 600,
            points_earn_jpy: 100,
            points_earn_usd: 100,
            point_value_jpy: 1,
            point_value_usd: 1,
            points_expiry_months: 12,
            points_expiry_rolling: false,
            points_min_redeem: 0,
            points_max_redeem: None,
            points_max_redeem_percent: 100,
            max_amounts: AmountLimits::default(),
            dispute_window_days: 120,
            dispute_response_days: 7,
            guarantee_cap: GuaranteeCap::default(),
            risk_per_payment_jpy: None,
            risk_per_payment_unverified_jpy: None,
            risk_daily_total_jpy: None,
            risk_per_payment_usd: None,
            risk_per_payment_unverified_usd: None,
            risk_daily_total_usd: None,
            risk_hourly_count: None,
            webhook_worker: true,
            webhook_allow_private_targets: None,
            webhook_retry_schedule: DEFAULT_WEBHOOK_SCHEDULE.into(),
            webhook_timeout_secs: 15,
            webhook_poll_ms: 1000,
            webhook_secret_overlap_secs: 24 * 60 * 60,
        }
    }
}

// Hand-written so that the key-encryption key can never reach a log through `{:?}`.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("env", &self.env)
            .field("issuer", &self.issuer.as_str())
            .field("listen", &self.listen)
            .field("database", &self.database_url().map(|u| redact_url(&u)))
            .field("data_dir", &self.data_dir)
            .field("max_amounts", &self.max_amounts.to_string())
            .field("cookie_secure", &self.cookie_secure())
            .field("kek_file", &self.kek_file)
            .field("kek", &self.kek.as_ref().map(|_| "[redacted]"))
            .field("fingerprint_key_file", &self.fingerprint_key_file)
            .field(
                "fingerprint_key",
                &self.fingerprint_key.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Loads defaults, then `file` (or `SAIFU_CONFIG`) if given, then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let env_file = std::env::var_os("SAIFU_CONFIG").map(PathBuf::from);
        let file = file.map(Path::to_path_buf).or(env_file);
        let mut table = match &file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading configuration file {}", path.display()))?;
                toml::from_str::<toml::Table>(&text)
                    .with_context(|| format!("parsing configuration file {}", path.display()))?
            }
            None => toml::Table::new(),
        };
        merge_env(&mut table, |name| std::env::var(name).ok());
        let config: Config = toml::Value::Table(table)
            .try_into()
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    /// Checks that hold in every mode; production checks come later, once keys are known.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !matches!(self.issuer.scheme(), "http" | "https") || self.issuer.host_str().is_none() {
            bail!("SAIFU_ISSUER must be an http(s) URL with a host name");
        }
        if self.issuer.domain().is_none() {
            bail!("SAIFU_ISSUER must use a domain name (such as localhost), not an IP address: passkeys are bound to a domain");
        }
        if !matches!(
            self.sqlite_synchronous.to_ascii_uppercase().as_str(),
            "FULL" | "NORMAL" | "EXTRA"
        ) {
            bail!("sqlite_synchronous must be FULL, EXTRA or NORMAL");
        }
        for (name, value, max) in [
            ("request_ttl_secs", self.request_ttl_secs, 600),
            ("code_ttl_secs", self.code_ttl_secs, 60),
            ("grant_ttl_secs", self.grant_ttl_secs, 600),
        ] {
            if value == 0 || value > max {
                bail!("{name} must be between 1 and {max}");
            }
        }
        if [
            self.points_earn_jpy,
            self.points_earn_usd,
            self.point_value_jpy,
            self.point_value_usd,
            self.dispute_window_days,
        ]
        .iter()
        .any(|v| *v <= 0)
        {
            bail!("points rates and values, and dispute_window_days, must be positive");
        }
        if !(1..=120).contains(&self.points_expiry_months) {
            bail!("points_expiry_months must be between 1 and 120");
        }
        if !(1..=100).contains(&self.points_max_redeem_percent) {
            bail!("points_max_redeem_percent must be between 1 and 100");
        }
        if self.points_min_redeem < 0
            || self
                .points_max_redeem
                .is_some_and(|max| max <= 0 || max < self.points_min_redeem)
        {
            bail!("points_min_redeem must be 0 or more, and points_max_redeem above 0 and not below it");
        }
        if self.dispute_response_days < 0 {
            bail!("dispute_response_days must not be negative");
        }
        parse_schedule(&self.webhook_retry_schedule).context("invalid webhook_retry_schedule")?;
        if self.webhook_timeout_secs == 0 || self.webhook_timeout_secs > 60 {
            bail!("webhook_timeout_secs must be between 1 and 60");
        }
        if self.webhook_poll_ms == 0 {
            bail!("webhook_poll_ms must be positive");
        }
        if self.in_flight_lease_secs == 0
            || self.reconcile_interval_secs == 0
            || self.idempotency_lease_secs == 0
        {
            bail!("in_flight_lease_secs, reconcile_interval_secs and idempotency_lease_secs must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.processor_fault_rate) {
            bail!("processor_fault_rate must be between 0.0 and 1.0");
        }
        if self.recovery_cooldown_secs > 30 * 24 * 60 * 60 {
            bail!("recovery_cooldown_secs must be at most 2592000 (30 days)");
        }
        if self.env == Environment::Production {
            let local = self.issuer.host_str() == Some("localhost");
            if self.issuer.scheme() != "https" && !local {
                bail!("production mode refuses an http:// issuer other than localhost: set SAIFU_ISSUER to an https:// URL");
            }
            if !self.cookie_secure() {
                bail!("production mode refuses cookies without the Secure attribute: unset SAIFU_COOKIE_SECURE or set it to true");
            }
        }
        Ok(())
    }

    pub fn is_development(&self) -> bool {
        self.env == Environment::Development
    }

    pub fn webhook_allow_private_targets(&self) -> bool {
        self.webhook_allow_private_targets
            .unwrap_or(self.is_development())
    }

    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure.unwrap_or(!self.is_development())
    }

    pub fn database_url(&self) -> anyhow::Result<String> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None => {
                let path = self.data_dir.join("saifu.db");
                let path = path.to_str().context("data directory path is not UTF-8")?;
                Ok(format!("sqlite://{path}"))
            }
        }
    }

    /// The WebAuthn relying-party id: the issuer's host name.
    pub fn rp_id(&self) -> &str {
        self.issuer.host_str().unwrap_or("localhost")
    }

    /// The issuer as an origin (scheme, host, port), without a trailing slash.
    pub fn origin(&self) -> String {
        self.issuer.origin().ascii_serialization()
    }
}

/// Overlays `SAIFU_*` variables on the table. Values are read as TOML scalars when they parse
/// as one (numbers, booleans), and as plain strings otherwise (always for [`TEXT_KEYS`]).
fn merge_env(table: &mut toml::Table, var: impl Fn(&str) -> Option<String>) {
    for key in ENV_KEYS {
        let name = format!("SAIFU_{}", key.to_ascii_uppercase());
        if let Some(raw) = var(&name) {
            let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
                .ok()
                .filter(|_| !TEXT_KEYS.contains(key))
                .and_then(|mut t| t.remove("v"))
                .filter(|v| v.is_integer() || v.is_float() || v.is_bool())
                .unwrap_or(toml::Value::String(raw));
            table.insert((*key).to_string(), value);
        }
    }
}

/// Hides the password part of a database URL.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("redacted"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// The delays of a webhook retry schedule, `0s,5s,5m,…` (units ms, s, m, h): 1 to 50 of them.
pub fn parse_schedule(text: &str) -> anyhow::Result<Vec<Duration>> {
    let delays = text
        .split(',')
        .map(|part| parse_duration(part.trim()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(
        !delays.is_empty() && delays.len() <= 50,
        "a webhook retry schedule has 1 to 50 delays"
    );
    Ok(delays)
}

fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| anyhow::anyhow!("{text:?} needs a unit: ms, s, m or h"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("{text:?} is not a duration such as 5s or 30m"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => anyhow::bail!("{text:?}: the unit must be ms, s, m or h"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(file: &str, env: &[(&str, &str)]) -> anyhow::Result<Config> {
        let mut table: toml::Table = toml::from_str(file)?;
        merge_env(&mut table, |name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        });
        let config: Config = toml::Value::Table(table).try_into()?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let config = load_with(
            "listen = \"0.0.0.0:9000\"\nsession_idle_secs = 60\n",
            &[
                ("SAIFU_LISTEN", "127.0.0.1:7000"),
                ("SAIFU_CEREMONY_TTL_SECS", "10"),
            ],
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:7000");
        assert_eq!(config.session_idle_secs, 60);
        assert_eq!(config.ceremony_ttl_secs, 10);
        assert_eq!(config.issuer.as_str(), "http://localhost:8080/");
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        assert!(load_with("lisen = \"x\"", &[]).is_err());
    }

    #[test]
    fn production_refuses_plain_http_issuer_and_insecure_cookies() {
        let err = load_with(
            "",
            &[
                ("SAIFU_ENV", "production"),
                ("SAIFU_ISSUER", "http://wallet.example"),
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("https"), "{err}");
        let err = load_with(
            "",
            &[
                ("SAIFU_ENV", "production"),
                ("SAIFU_ISSUER", "https://wallet.example"),
                ("SAIFU_COOKIE_SECURE", "false"),
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("Secure"), "{err}");
        let ok = load_with(
            "",
            &[
                ("SAIFU_ENV", "production"),
                ("SAIFU_ISSUER", "https://wallet.example"),
            ],
        )
        .unwrap();
        assert!(ok.cookie_secure());
    }

    #[test]
    fn development_defaults_to_insecure_cookies_on_localhost() {
        let config = load_with("", &[]).unwrap();
        assert!(!config.cookie_secure());
        assert_eq!(config.rp_id(), "localhost");
        assert_eq!(config.origin(), "http://localhost:8080");
    }

    #[test]
    fn private_webhook_targets_are_allowed_only_in_development_by_default() {
        assert!(load_with("", &[]).unwrap().webhook_allow_private_targets());
        let production = load_with(
            "",
            &[
                ("SAIFU_ENV", "production"),
                ("SAIFU_ISSUER", "https://wallet.example"),
            ],
        )
        .unwrap();
        assert!(!production.webhook_allow_private_targets());
        let opted_in = load_with(
            "",
            &[
                ("SAIFU_ENV", "production"),
                ("SAIFU_ISSUER", "https://wallet.example"),
                ("SAIFU_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
            ],
        )
        .unwrap();
        assert!(opted_in.webhook_allow_private_targets());
        assert!(load_with("", &[("SAIFU_WEBHOOK_RETRY_SCHEDULE", "0s,5x")]).is_err());
        assert!(load_with("", &[("SAIFU_WEBHOOK_RETRY_SCHEDULE", "0s,100ms,200ms")]).is_ok());
    }

    #[test]
    fn maximum_amounts_come_from_the_environment_and_keep_defaults_for_the_rest() {
        use crate::money::{Currency, Money};
        let config = load_with("", &[("SAIFU_MAX_AMOUNTS", "USD=250.00")]).unwrap();
        assert_eq!(
            config.max_amounts.max(Currency::Usd),
            Money::new(Currency::Usd, 25_000)
        );
        assert_eq!(
            config.max_amounts.max(Currency::Jpy),
            Money::new(Currency::Jpy, 10_000_000)
        );
        let file = load_with("max_amounts = \"JPY=5000\"", &[]).unwrap();
        assert_eq!(file.max_amounts.to_string(), "JPY=5000,USD=100000.00");
        let err = load_with("", &[("SAIFU_MAX_AMOUNTS", "JPY=9223372036854775808")]).unwrap_err();
        assert!(format!("{err:#}").contains("JPY"), "{err:#}");
        assert!(load_with("", &[("SAIFU_MAX_AMOUNTS", "EUR=5.00")]).is_err());
        assert!(
            load_with("", &[("SAIFU_MAX_AMOUNTS", "1000")]).is_err(),
            "a number, read as TOML"
        );
    }

    #[test]
    fn risk_amounts_keep_their_decimals_and_the_hourly_count_is_a_number() {
        let config = load_with(
            "risk_per_payment_jpy = \"70000\"",
            &[
                ("SAIFU_RISK_PER_PAYMENT_USD", "120.50"),
                ("SAIFU_RISK_DAILY_TOTAL_JPY", "50000"),
                ("SAIFU_RISK_HOURLY_COUNT", "10"),
            ],
        )
        .unwrap();
        assert_eq!(config.risk_per_payment_usd.as_deref(), Some("120.50"));
        assert_eq!(config.risk_daily_total_jpy.as_deref(), Some("50000"));
        assert_eq!(config.risk_per_payment_jpy.as_deref(), Some("70000"));
        assert_eq!(config.risk_per_payment_unverified_jpy, None);
        assert_eq!(config.risk_hourly_count, Some(10));
        let err = load_with("", &[("SAIFU_RISK_HOURLY_COUNT", "ten")]).unwrap_err();
        assert!(format!("{err:#}").contains("risk_hourly_count"), "{err:#}");
    }

    #[test]
    fn ip_address_issuer_is_refused() {
        assert!(load_with("", &[("SAIFU_ISSUER", "http://127.0.0.1:8080")]).is_err());
    }

    #[test]
    fn debug_output_hides_the_key() {
        let config = load_with("kek = \"c2VjcmV0c2VjcmV0\"", &[]).unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("c2VjcmV0c2VjcmV0"), "{shown}");
    }
}
