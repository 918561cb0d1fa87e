//! The wallet under test: started as a child process with its own data directory (so its PID
//! is known for `/proc/PID/stat`), or an already running one given by `--url` and `--pid`.
//! Also the merchant, registered through `saifu merchant create --json`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use saifu_sdk::checkout::MerchantCredentials;
use url::Url;

pub const CALLBACK: &str = "http://localhost:3000/callback";

pub struct Wallet {
    child: Option<Child>,
    pub pid: u32,
    pub base: Url,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub log: Option<PathBuf>,
    _tmp: Option<tempfile::TempDir>,
}

pub struct SpawnOptions<'a> {
    /// The `saifu` binary (default: the one this benchmark was built with).
    pub binary: Option<&'a Path>,
    pub database_url: Option<&'a str>,
    pub db_max_connections: u32,
    pub sqlite_synchronous: &'a str,
    /// Log every SQL statement (sqlx's `sqlx::query` events, as JSON lines), for the counts.
    pub log_statements: bool,
}

impl Wallet {
    /// Starts `saifu serve` on a free port, with a fresh data directory, and waits until it
    /// answers `/healthz`.
    pub async fn spawn(options: &SpawnOptions<'_>) -> anyhow::Result<Self> {
        let tmp = tempfile::Builder::new().prefix("saifu-bench-").tempdir()?;
        let data_dir = tmp.path().to_path_buf();
        let database_url = match options.database_url {
            Some(url) if url.starts_with("postgres") => {
                recreate_postgres(url).await?;
                url.to_string()
            }
            Some(url) => url.to_string(),
            None => format!("sqlite://{}/saifu.db", data_dir.display()),
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let base = Url::parse(&format!("http://localhost:{port}"))?;
        let log = data_dir.join("wallet.log");
        let binary = options
            .binary
            .unwrap_or(Path::new(env!("CARGO_BIN_EXE_saifu")));
        let child = Command::new(binary)
            .arg("serve")
            .env("SAIFU_ISSUER", base.as_str())
            .env("SAIFU_LISTEN", format!("127.0.0.1:{port}"))
            .env("SAIFU_DATA_DIR", &data_dir)
            .env("SAIFU_DATABASE_URL", &database_url)
            .env(
                "SAIFU_DB_MAX_CONNECTIONS",
                options.db_max_connections.to_string(),
            )
            .env("SAIFU_SQLITE_SYNCHRONOUS", options.sqlite_synchronous)
            .envs(
                options
                    .log_statements
                    .then_some([
                        // The request spans (INFO, `saifu::http`) name each statement's step.
                        ("RUST_LOG", "warn,sqlx::query=debug,saifu::http=info"),
                        ("SAIFU_LOG_FORMAT", "json"),
                    ])
                    .into_iter()
                    .flatten(),
            )
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("starting the wallet")?;
        let pid = child.id();
        let wallet = Self {
            child: Some(child),
            pid,
            base,
            database_url,
            data_dir,
            log: Some(log),
            _tmp: Some(tmp),
        };
        wallet.wait_ready().await?;
        Ok(wallet)
    }

    /// A wallet someone else started; the CLI needs its data directory and database.
    pub async fn attach(
        base: Url,
        pid: u32,
        database_url: String,
        data_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        let wallet = Self {
            child: None,
            pid,
            base,
            database_url,
            data_dir,
            log: None,
            _tmp: None,
        };
        wallet.wait_ready().await?;
        Ok(wallet)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        let url = self.base.join("/healthz")?;
        loop {
            if let Ok(r) = reqwest::get(url.clone()).await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "the wallet did not answer {url} within 60 s{}",
                    self.log_hint()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log_hint(&self) -> String {
        match &self.log {
            Some(log) => format!(
                "; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            ),
            None => String::new(),
        }
    }

    /// `saifu merchant create --verified --json`, with the wallet's own settings.
    pub fn create_merchant(&self, name: &str) -> anyhow::Result<MerchantCredentials> {
        let out = Command::new(env!("CARGO_BIN_EXE_saifu"))
            .args([
                "merchant",
                "create",
                "--name",
                name,
                "--redirect-uri",
                CALLBACK,
                "--domain",
                "bench-shop.example",
                "--verified",
                "--json",
            ])
            .env("SAIFU_DATA_DIR", &self.data_dir)
            .env("SAIFU_DATABASE_URL", &self.database_url)
            .env("SAIFU_ISSUER", self.base.as_str())
            .output()
            .context("running saifu merchant create")?;
        if !out.status.success() {
            bail!(
                "saifu merchant create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        serde_json::from_slice(&out.stdout).context("saifu merchant create --json output")
    }

    /// User plus system CPU time the wallet process has used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        process_cpu_seconds(&format!("/proc/{}/stat", self.pid))
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Wallet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Drops and re-creates the benchmark's PostgreSQL database. Only databases whose name starts
/// with `saifu_bench` are touched, so a mistyped URL cannot wipe another database.
pub async fn recreate_postgres(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let parsed = Url::parse(url).context("database URL")?;
    let name = parsed.path().trim_start_matches('/').to_string();
    if !name.starts_with("saifu_bench")
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        bail!("the benchmark re-creates its PostgreSQL database, so its name must start with saifu_bench (got {name:?})");
    }
    let mut admin = parsed.clone();
    admin.set_path("/postgres");
    let mut conn = sqlx::PgConnection::connect(admin.as_str())
        .await
        .context("connecting to the postgres maintenance database")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// utime + stime from a `/proc/…/stat` file, in seconds.
pub fn process_cpu_seconds(stat_path: &str) -> anyhow::Result<f64> {
    let stat =
        std::fs::read_to_string(stat_path).with_context(|| format!("reading {stat_path}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("unexpected /proc stat format")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 overall are the 12th and 13th after the name.
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    Ok((utime + stime) / clock_ticks())
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

pub fn sqlite_file(database_url: &str) -> Option<&Path> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    Some(Path::new(rest.split('?').next().unwrap_or(rest)))
}
