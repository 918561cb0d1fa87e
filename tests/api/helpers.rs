//! `spawn_app()` and the test clients: a browser-like HTTP client with its own cookie jar,
//! and a soft passkey that behaves like a discoverable (resident-key) authenticator.

use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Client, Response, StatusCode};
use saifu::config::Config;
use saifu::{AppState, Application};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use url::Url;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

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

/// A browser: its own cookie jar, no automatic redirects.
pub struct Browser {
    pub http: Client,
    pub jar: Arc<Jar>,
    pub base: Url,
}

impl TestApp {
    pub fn browser(&self) -> Browser {
        let jar = Arc::new(Jar::default());
        let http = Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            http,
            jar,
            base: self.base.clone(),
        }
    }

    pub fn origin(&self) -> Url {
        self.base.clone()
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
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

impl Browser {
    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap()
    }

    pub async fn get_html(&self, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap()
    }

    /// The session's CSRF token, read from a page as the wallet's script does.
    pub async fn csrf(&self) -> String {
        let page = self.get_html("/signin?probe=1").await;
        let page = if page.status() == StatusCode::SEE_OTHER {
            self.get_html("/").await
        } else {
            page
        };
        let html = page.text().await.unwrap();
        meta_csrf(&html).expect("page carries a csrf-token meta tag")
    }

    /// POSTs JSON the way the wallet's pages do, with the CSRF header.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        let token = self.csrf().await;
        self.http
            .post(self.url(path))
            .header("x-csrf-token", token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf().await;
        let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        self.http
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub fn session_cookie(&self) -> Option<String> {
        let header = self.jar.cookies(&self.base)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|c| c.strip_prefix("saifu_session=").map(str::to_string))
    }

    /// Display name shown on the home page when signed in.
    pub async fn signed_in_as(&self) -> Option<String> {
        let html = self.get_html("/").await.text().await.unwrap();
        let start = html.find("Welcome, ")? + "Welcome, ".len();
        let end = html[start..].find('<')? + start;
        Some(
            html[start..end]
                .trim()
                .trim_end_matches(['.', '!'])
                .to_string(),
        )
    }

    pub async fn sign_up(
        &self,
        key: &mut TestPasskey,
        origin: &Url,
        name: &str,
        email: &str,
    ) -> Response {
        let begin = self
            .post_json(
                "/signup/begin",
                &json!({ "display_name": name, "email": email }),
            )
            .await;
        assert_eq!(
            begin.status(),
            StatusCode::OK,
            "sign-up begin: {}",
            begin.text().await.unwrap()
        );
        let options: CreationChallengeResponse = begin.json().await.unwrap();
        let credential = key
            .register(origin, options)
            .expect("soft passkey registers");
        self.post_json(
            "/signup/finish",
            &serde_json::to_value(&credential).unwrap(),
        )
        .await
    }

    pub async fn begin_sign_in(&self) -> RequestChallengeResponse {
        let begin = self.post_json("/signin/begin", &json!({})).await;
        assert_eq!(begin.status(), StatusCode::OK);
        begin.json().await.unwrap()
    }

    pub async fn finish_sign_in(&self, credential: &PublicKeyCredential) -> Response {
        self.post_json("/signin/finish", &serde_json::to_value(credential).unwrap())
            .await
    }

    pub async fn sign_in(&self, key: &mut TestPasskey, origin: &Url) -> Response {
        let options = self.begin_sign_in().await;
        let credential = key.assert(origin, options).expect("soft passkey signs");
        self.finish_sign_in(&credential).await
    }
}

pub fn meta_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf-token\" content=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// A software passkey that, like a platform authenticator, remembers the user handle and
/// credential id it made, so it can answer discoverable (username-less) sign-ins.
pub struct TestPasskey {
    soft: SoftPasskey,
    pub user_handle: Option<Vec<u8>>,
    pub credential_id: Option<Vec<u8>>,
}

impl TestPasskey {
    /// An authenticator that verifies its user (PIN or biometrics).
    pub fn new() -> Self {
        Self {
            soft: SoftPasskey::new(true),
            user_handle: None,
            credential_id: None,
        }
    }

    pub fn register(
        &mut self,
        origin: &Url,
        mut options: CreationChallengeResponse,
    ) -> Result<RegisterPublicKeyCredential, String> {
        let handle = options.public_key.user.id.clone();
        // The wallet must ask for a discoverable credential. SoftPasskey cannot keep one, so
        // this wrapper keeps the user handle and credential id itself, as a resident key would.
        let selection = options
            .public_key
            .authenticator_selection
            .as_mut()
            .ok_or("no authenticator selection")?;
        if !selection.require_resident_key
            || selection.resident_key != Some(webauthn_rs_proto::ResidentKeyRequirement::Required)
        {
            return Err("the wallet did not require a discoverable credential".into());
        }
        selection.require_resident_key = false;
        selection.resident_key = None;
        let credential = self
            .soft
            .do_registration(origin.clone(), options)
            .map_err(|e| format!("{e:?}"))?;
        self.user_handle = Some(handle);
        self.credential_id = Some(credential.raw_id.clone());
        Ok(credential)
    }

    pub fn assert(
        &mut self,
        origin: &Url,
        mut options: RequestChallengeResponse,
    ) -> Result<PublicKeyCredential, String> {
        let id = self.credential_id.clone().ok_or("no credential yet")?;
        options.public_key.allow_credentials = vec![AllowCredentials {
            type_: "public-key".into(),
            id,
            transports: None,
        }];
        options.mediation = None;
        let mut credential = self
            .soft
            .do_authentication(origin.clone(), options)
            .map_err(|e| format!("{e:?}"))?;
        credential.response.user_handle = self.user_handle.clone();
        Ok(credential)
    }
}

/// Reads a problem+json body and returns its code, checking the media type.
pub async fn problem_code(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "status {status}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    (
        status,
        body["code"]
            .as_str()
            .expect("problem has a code")
            .to_string(),
    )
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
