//! `spawn_app()`: the real server on port 0 against a database of its own (a SQLite file, or a
//! fresh PostgreSQL database when SAIFU_TEST_DATABASE_URL is set), the logs every test's
//! wallet writes, the `saifu` binary, and direct reads of the app's database.

use std::sync::Arc;

use saifu::config::Config;
use saifu::{AppState, Application};
use tokio::sync::oneshot;
use url::Url;

pub struct TestApp {
    pub base: Url,
    pub state: AppState,
    pub database_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    data_dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the real server on 127.0.0.1:0 against a fresh database, with `adjust` applied to
/// the configuration first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    capture_logs();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let port = listener.local_addr().unwrap().port();
    let mut config = Config {
        issuer: Url::parse(&format!("http://localhost:{port}")).unwrap(),
        listen: format!("127.0.0.1:{port}"),
        data_dir: data_dir.path().to_path_buf(),
        database_url: Some(fresh_database(data_dir.path()).await),
        ..Config::default()
    };
    adjust(&mut config);
    start(config, listener, data_dir).await
}

/// Starts another node of `app`'s wallet: the same database and keys, its own port.
pub async fn spawn_node(app: &TestApp, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let port = listener.local_addr().unwrap().port();
    let mut config = app.state.config.as_ref().clone();
    config.listen = format!("127.0.0.1:{port}");
    config.issuer = Url::parse(&format!("http://localhost:{port}")).unwrap();
    adjust(&mut config);
    // The data directory (and its keys) stays the first node's; this one gets an empty one.
    start(config, listener, tempfile::tempdir().expect("temp dir")).await
}

async fn start(
    config: Config,
    listener: tokio::net::TcpListener,
    data_dir: tempfile::TempDir,
) -> TestApp {
    let app = Application::with_listener(config.clone(), listener)
        .await
        .expect("build app");
    let state = app.state().clone();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        app.run_until(async {
            let _ = rx.await;
        })
        .await
        .expect("server ran");
    });
    TestApp {
        base: config.issuer.clone(),
        state,
        database_url: config.database_url.clone().expect("set above"),
        shutdown: Some(tx),
        data_dir,
    }
}

/// The `saifu` binary, without the `SAIFU_*` settings of the environment the tests run in.
pub fn saifu_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_saifu"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SAIFU_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Checks that a command succeeded, showing its stderr if not.
#[track_caller]
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new, empty PostgreSQL database when SAIFU_TEST_DATABASE_URL is set, else a SQLite file.
async fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("SAIFU_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            use sqlx::Connection;
            let name = format!("saifu_t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&base)
                .await
                .expect("connect to SAIFU_TEST_DATABASE_URL");
            sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create test database");
            let mut url = Url::parse(&base).expect("SAIFU_TEST_DATABASE_URL is a URL");
            url.set_path(&name);
            url.to_string()
        }
        _ => format!("sqlite://{}/saifu.db", dir.display()),
    }
}

impl TestApp {
    pub fn origin(&self) -> Url {
        self.base.clone()
    }

    /// This node's own address. Nodes started to share one issuer (`spawn_node` given the
    /// first node's) all have the issuer as `base`, but each listens on a port of its own.
    pub fn socket(&self) -> std::net::SocketAddr {
        self.state
            .config
            .listen
            .parse()
            .expect("the listen address is a socket address")
    }

    /// A client builder whose requests, addressed to the issuer's URLs, reach this node: it is
    /// their proxy, as a load balancer in front of several nodes forwards a request, the
    /// issuer's Host and all, to one of them.
    pub fn routed(&self) -> reqwest::ClientBuilder {
        let node = reqwest::Proxy::http(format!("http://{}", self.socket())).expect("a proxy URL");
        reqwest::Client::builder().proxy(node)
    }

    /// Stops this node's server, as a node taken out of service; its data directory and
    /// database stay (for another process to start on).
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// The `saifu` binary on this app's data directory and database, with nothing else from
    /// the environment the tests run in.
    pub fn cli(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_saifu"));
        cmd.env_clear()
            .env("SAIFU_DATA_DIR", self.data_dir())
            .env("SAIFU_DATABASE_URL", &self.database_url);
        cmd
    }
}

/// Everything every test's wallet logs, at debug level, so tests can check that no secret is
/// ever written to the logs.
static LOGS: std::sync::LazyLock<Arc<std::sync::Mutex<Vec<u8>>>> =
    std::sync::LazyLock::new(Default::default);

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .init();
    });
}

pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

pub fn wrong_origin(app: &TestApp) -> Url {
    let mut url = app.origin();
    url.set_port(Some(1)).unwrap();
    url
}

/// The id of the shopper registered with `email`.
pub async fn user_id_by_email(app: &TestApp, email: &str) -> uuid::Uuid {
    user_ids(app, Some(email))
        .await
        .pop()
        .expect("a shopper with that email")
}

/// The app's only shopper (for tests that register one).
pub async fn only_user_id(app: &TestApp) -> uuid::Uuid {
    let mut ids = user_ids(app, None).await;
    assert_eq!(ids.len(), 1, "exactly one shopper");
    ids.remove(0)
}

/// `SELECT COUNT(*)` over the app's database, read the way an auditor would: directly.
pub async fn count_rows(app: &TestApp, table_and_condition: &str) -> i64 {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let n = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table_and_condition}"))
        .fetch_one(&pool)
        .await
        .unwrap()
        .get::<i64, _>("n");
    pool.close().await;
    n
}

/// The browser that opened a consent, as the checkout service sees it, for tests that drive the
/// service directly after opening the consent through pages.
pub async fn consent_browser(app: &TestApp, consent_id: &str) -> saifu::checkout::consent::Browser {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let hash: Option<String> = sqlx::query("SELECT browser_hash FROM consents WHERE id = $1")
        .bind(consent_id)
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("browser_hash");
    pool.close().await;
    saifu::checkout::consent::Browser {
        key_hash: hash,
        listed: Vec::new(),
    }
}

async fn user_ids(app: &TestApp, email: Option<&str>) -> Vec<uuid::Uuid> {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let rows = match email {
        Some(e) => {
            sqlx::query("SELECT id FROM users WHERE email = $1")
                .bind(e)
                .fetch_all(&pool)
                .await
        }
        None => sqlx::query("SELECT id FROM users").fetch_all(&pool).await,
    }
    .unwrap();
    rows.iter()
        .map(|r| uuid::Uuid::parse_str(&r.get::<String, _>("id")).unwrap())
        .collect()
}
