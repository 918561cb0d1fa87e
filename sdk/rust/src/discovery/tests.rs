//! Discovery, registration and the stores against fake servers: a hand-written HTTP/1.1
//! responder on 127.0.0.1:0 that serves canned answers and records every request. The same
//! flows against the real wallet are in the wallet's API tests (`tests/api/sdk_wallets.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::registrations::{
    FileRegistrations, MemoryRegistrations, Registration, RegistrationStore,
};
use crate::wallets::{ShopMetadata, Wallets};

#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

/// (method, path) → (status, extra headers, body).
type Routes = HashMap<(String, String), (u16, Vec<(String, String)>, String)>;

#[derive(Default)]
struct ServerState {
    routes: Routes,
    requests: Vec<Recorded>,
}

struct FakeServer {
    base: Url,
    port: u16,
    state: Arc<Mutex<ServerState>>,
}

impl FakeServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let base = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let state = Arc::new(Mutex::new(ServerState::default()));
        let served = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, served.clone()));
            }
        });
        Self { base, port, state }
    }

    /// A Saifu wallet: metadata with registration, and a registration endpoint.
    async fn wallet() -> Self {
        let server = Self::start().await;
        server.json("GET", METADATA_PATH, 200, server.metadata());
        server.json(
            "POST",
            "/oauth/register",
            201,
            serde_json::json!({
                "client_id": "m_dyn1",
                "client_secret": "cs_topsecret",
                "client_id_issued_at": 1796000000,
                "client_secret_expires_at": 0,
                "registration_access_token": "rat_topsecret",
                "registration_client_uri": server.at("oauth/register/m_dyn1"),
                "client_name": "Kissa Tanuki",
                "redirect_uris": ["https://shop.example/callback"],
                "token_endpoint_auth_method": "client_secret_basic",
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "webhook_url": "https://shop.example/webhooks/saifu",
                "webhook_secret": "whsec_dGVzdHNlY3JldA==",
                "saifu_status": "pending",
            }),
        );
        server
    }

    fn at(&self, path: &str) -> String {
        self.base.join(path).unwrap().to_string()
    }

    fn metadata(&self) -> serde_json::Value {
        serde_json::json!({
            "issuer": self.base.as_str(),
            "authorization_endpoint": self.at("oauth/authorize"),
            "token_endpoint": self.at("oauth/token"),
            "pushed_authorization_request_endpoint": self.at("oauth/par"),
            "jwks_uri": self.at("oauth/jwks"),
            "registration_endpoint": self.at("oauth/register"),
            "require_pushed_authorization_requests": true,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "authorization_details_types_supported": ["payment"],
            "authorization_response_iss_parameter_supported": true,
        })
    }

    fn json(&self, method: &str, path: &str, status: u16, body: serde_json::Value) {
        self.route(method, path, status, vec![], body.to_string());
    }

    fn route(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    ) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert((method.into(), path.into()), (status, headers, body));
    }

    fn requests(&self, method: &str, path: &str) -> Vec<Recorded> {
        let state = self.state.lock().unwrap();
        state
            .requests
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .cloned()
            .collect()
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<ServerState>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default().to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).into_owned();
    let (status, extra, answer) = {
        let mut state = state.lock().unwrap();
        let answer = state.routes.get(&(method.clone(), path.clone())).cloned();
        state.requests.push(Recorded {
            method,
            path,
            headers,
            body,
        });
        answer.unwrap_or((404, vec![], r#"{"error":"not_found"}"#.into()))
    };
    let mut response = format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n");
    for (name, value) in extra {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    ));
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn shop() -> ShopMetadata {
    let mut shop = ShopMetadata::new(
        "Kissa Tanuki",
        Url::parse("https://shop.example/callback").unwrap(),
    );
    shop.client_uri = Some(Url::parse("https://shop.example/").unwrap());
    shop.webhook_url = Some(Url::parse("https://shop.example/webhooks/saifu").unwrap());
    shop
}

fn dev_wallets(store: Arc<dyn RegistrationStore>) -> Wallets {
    Wallets::with_mode(shop(), store, Mode::Development).unwrap()
}

fn registration(issuer: &str) -> Registration {
    Registration {
        issuer: Url::parse(issuer).unwrap(),
        client_id: "m_1".into(),
        client_secret: "cs_secret_value".to_owned().into(),
        registration_access_token: "rat_secret_value".to_owned().into(),
        registration_client_uri: Url::parse(&format!("{issuer}oauth/register/m_1")).unwrap(),
        webhook_secret: Some("whsec_c2VjcmV0".to_owned().into()),
        status: "pending".into(),
        redirect_uris: vec![Url::parse("https://shop.example/callback").unwrap()],
    }
}

// --- Addresses ---

#[test]
fn addresses_resolve_to_https_issuers() {
    let ok = |input: &str| {
        resolve_address(input, Mode::Production)
            .unwrap()
            .to_string()
    };
    assert_eq!(ok("wallet.example.jp"), "https://wallet.example.jp/");
    assert_eq!(ok("Wallet.Example.JP"), "https://wallet.example.jp/");
    assert_eq!(ok("alice@wallet.example.jp"), "https://wallet.example.jp/");
    assert_eq!(ok("a.b@c@wallet.example.jp"), "https://wallet.example.jp/");
    assert_eq!(
        ok("wallet.example.jp:8443"),
        "https://wallet.example.jp:8443/"
    );
    assert_eq!(ok("  wallet.example.jp  "), "https://wallet.example.jp/");
    assert_eq!(
        ok("https://wallet.example.jp"),
        "https://wallet.example.jp/"
    );
    assert_eq!(
        ok("https://wallet.example.jp/"),
        "https://wallet.example.jp/"
    );
    assert_eq!(ok("wallet.example.jp:443"), "https://wallet.example.jp/");
}

#[test]
fn bad_addresses_are_refused_with_a_reason() {
    let err = |input: &str| resolve_address(input, Mode::Production).unwrap_err();
    for input in [
        "",
        "   ",
        "@wallet.example.jp",
        "wallet.example.jp/path",
        "https://wallet.example.jp/oauth",
        "https://wallet.example.jp/?q=1",
        "wallet example.jp",
        "wallet.example.jp:99999",
        "ftp://wallet.example.jp",
        "https://user:pw@wallet.example.jp",
        "wallet",
    ] {
        assert!(
            matches!(err(input), DiscoveryError::InvalidAddress { .. }),
            "{input:?}: {:?}",
            err(input)
        );
    }
    assert!(matches!(
        err("http://wallet.example.jp"),
        DiscoveryError::InsecureScheme(_)
    ));
    let message = err("wallet.example.jp/path").to_string();
    assert!(message.contains("without a path"), "{message}");
}

#[test]
fn localhost_is_refused_outside_development() {
    for input in ["localhost:8081", "http://localhost:8081", "localhost"] {
        assert!(resolve_address(input, Mode::Production).is_err(), "{input}");
    }
    for (input, address) in [
        ("127.0.0.1:8081", "127.0.0.1"),
        ("https://10.0.0.5", "10.0.0.5"),
        ("[::1]:8443", "::1"),
        ("169.254.169.254", "169.254.169.254"),
        ("[fd00::1]", "fd00::1"),
        ("0.0.0.0:443", "0.0.0.0"),
        ("[::ffff:192.168.1.1]", "192.168.1.1"),
    ] {
        match resolve_address(input, Mode::Production).unwrap_err() {
            DiscoveryError::PrivateAddress { address: got, .. } => {
                assert!(
                    got.to_string().ends_with(address),
                    "{input}: {got} is not {address}"
                )
            }
            other => panic!("{input}: {other:?}"),
        }
    }
}

#[test]
fn development_mode_allows_http_on_localhost_only() {
    let dev = |input: &str| resolve_address(input, Mode::Development);
    assert_eq!(
        dev("localhost:8081").unwrap().as_str(),
        "http://localhost:8081/"
    );
    assert_eq!(
        dev("http://localhost:8081").unwrap().as_str(),
        "http://localhost:8081/"
    );
    assert_eq!(
        dev("bob@localhost:8081").unwrap().as_str(),
        "http://localhost:8081/"
    );
    assert_eq!(dev("127.0.0.1:9").unwrap().as_str(), "http://127.0.0.1:9/");
    assert_eq!(
        dev("wallet.example.jp").unwrap().as_str(),
        "https://wallet.example.jp/"
    );
    assert!(matches!(
        dev("http://wallet.example.jp").unwrap_err(),
        DiscoveryError::InsecureScheme(_)
    ));
}

#[test]
fn public_addresses_are_told_from_private_ones() {
    let public = |s: &str| is_public(s.parse().unwrap());
    for ip in [
        "203.0.113.9",
        "192.0.2.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
    ] {
        assert!(!public(ip), "{ip}");
    }
    for ip in [
        "127.0.0.1",
        "0.0.0.0",
        "169.254.1.1",
        "100.64.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
    ] {
        assert!(!public(ip), "{ip}");
    }
    for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
        assert!(public(ip), "{ip}");
    }
}

// --- Discovery against servers ---

/// An edit of a good metadata document.
type Change = dyn Fn(&mut serde_json::Value);

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_by_the_resolver() {
    let server = FakeServer::wallet().await;
    // `localhost` passes no literal check: the guarded resolver refuses its addresses before
    // any connection is made.
    let issuer = Url::parse(&format!("https://localhost:{}/", server.port)).unwrap();
    let http = http_client(Mode::Production).unwrap();
    let err = discover(&http, &issuer, Mode::Production)
        .await
        .unwrap_err();
    match &err {
        DiscoveryError::PrivateAddress { host, address } => {
            assert_eq!(host, "localhost");
            assert!(address.is_loopback(), "{address}");
        }
        other => panic!("{other:?}"),
    }
    assert!(server.requests("GET", METADATA_PATH).is_empty());
    assert!(err.to_string().contains("public internet"), "{err}");
}

#[tokio::test]
async fn a_private_address_is_refused_by_connect_outside_development() {
    let server = FakeServer::wallet().await;
    let store = Arc::new(MemoryRegistrations::new());
    let wallets = Wallets::new(shop(), store).unwrap();
    let err = wallets.connect(&server.address()).await.unwrap_err();
    assert!(
        matches!(
            err,
            DiscoveryError::PrivateAddress { .. } | DiscoveryError::InsecureScheme(_)
        ),
        "{err:?}"
    );
    assert!(server.state.lock().unwrap().requests.is_empty());
}

#[tokio::test]
async fn a_server_answering_404_is_not_a_wallet() {
    let server = FakeServer::start().await;
    let http = http_client(Mode::Development).unwrap();
    let err = discover(&http, &server.base, Mode::Development)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DiscoveryError::Status { status: 404, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("no Saifu wallet"), "{err}");
}

#[tokio::test]
async fn json_without_the_wallet_fields_is_refused_naming_the_field() {
    let server = FakeServer::start().await;
    let http = http_client(Mode::Development).unwrap();
    let cases: Vec<(&str, Box<Change>)> = vec![
        (
            "issuer",
            Box::new(|m| m["issuer"] = serde_json::Value::Null),
        ),
        (
            "pushed_authorization_request_endpoint",
            Box::new(|m| {
                m.as_object_mut()
                    .unwrap()
                    .remove("pushed_authorization_request_endpoint");
            }),
        ),
        (
            "require_pushed_authorization_requests",
            Box::new(|m| m["require_pushed_authorization_requests"] = false.into()),
        ),
        (
            "\"payment\"",
            Box::new(|m| m["authorization_details_types_supported"] = serde_json::json!(["x"])),
        ),
        (
            "\"S256\"",
            Box::new(|m| m["code_challenge_methods_supported"] = serde_json::json!(["plain"])),
        ),
        (
            "https://other.example/",
            Box::new(|m| m["issuer"] = "https://other.example/".into()),
        ),
        (
            "token_endpoint is not an https URL",
            Box::new(|m| m["token_endpoint"] = "http://shop-network.example/token".into()),
        ),
    ];
    for (named, change) in cases {
        let mut metadata = server.metadata();
        change(&mut metadata);
        server.json("GET", METADATA_PATH, 200, metadata);
        let err = discover(&http, &server.base, Mode::Development)
            .await
            .unwrap_err();
        assert!(matches!(err, DiscoveryError::NotAWallet(..)), "{err:?}");
        assert!(err.to_string().contains(named), "{named}: {err}");
    }

    server.json(
        "GET",
        METADATA_PATH,
        200,
        serde_json::json!({"hello": "world"}),
    );
    let err = discover(&http, &server.base, Mode::Development)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("has no issuer"), "{err}");

    server.route(
        "GET",
        METADATA_PATH,
        200,
        vec![],
        "<html>shop</html>".into(),
    );
    let err = discover(&http, &server.base, Mode::Development)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not JSON"), "{err}");
}

#[tokio::test]
async fn a_wallet_closed_to_new_shops_says_so() {
    let server = FakeServer::start().await;
    let mut metadata = server.metadata();
    metadata
        .as_object_mut()
        .unwrap()
        .remove("registration_endpoint");
    server.json("GET", METADATA_PATH, 200, metadata);
    let http = http_client(Mode::Development).unwrap();
    let err = discover(&http, &server.base, Mode::Development)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DiscoveryError::RegistrationClosed(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not take new shops"), "{err}");
}

#[tokio::test]
async fn a_redirect_is_refused_naming_its_target() {
    let server = FakeServer::start().await;
    server.route(
        "GET",
        METADATA_PATH,
        302,
        vec![("location".into(), "https://elsewhere.example/meta".into())],
        String::new(),
    );
    let wallets = dev_wallets(Arc::new(MemoryRegistrations::new()));
    let err = wallets.connect(&server.address()).await.unwrap_err();
    match &err {
        DiscoveryError::Redirect {
            status, location, ..
        } => {
            assert_eq!(*status, 302);
            assert_eq!(location, "https://elsewhere.example/meta");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("does not follow redirects"),
        "{err}"
    );
    assert_eq!(server.requests("GET", METADATA_PATH).len(), 1);
    assert!(server.requests("POST", "/oauth/register").is_empty());
}

#[tokio::test]
async fn an_oversized_metadata_document_is_refused() {
    let server = FakeServer::start().await;
    let mut metadata = server.metadata();
    metadata["padding"] = "x".repeat(MAX_METADATA_BYTES).into();
    server.json("GET", METADATA_PATH, 200, metadata);
    let http = http_client(Mode::Development).unwrap();
    let err = discover(&http, &server.base, Mode::Development)
        .await
        .unwrap_err();
    assert!(matches!(err, DiscoveryError::TooLarge(_)), "{err:?}");
}

// --- Registration ---

#[tokio::test]
async fn a_good_wallet_is_registered_once_and_reused() {
    let wallet = FakeServer::wallet().await;
    let store = Arc::new(MemoryRegistrations::new());
    let wallets = dev_wallets(store.clone());

    let client = wallets
        .connect(&format!("alice@{}", wallet.address()))
        .await
        .unwrap();
    assert_eq!(client.metadata().issuer, wallet.base.as_str());
    let posts = wallet.requests("POST", "/oauth/register");
    assert_eq!(posts.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&posts[0].body).unwrap();
    assert_eq!(body["client_name"], "Kissa Tanuki");
    assert_eq!(
        body["redirect_uris"],
        serde_json::json!(["https://shop.example/callback"])
    );
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["webhook_url"], "https://shop.example/webhooks/saifu");
    assert_eq!(body["client_uri"], "https://shop.example/");
    assert!(body.get("logo_uri").is_none());
    assert!(posts[0].headers["content-type"].starts_with("application/json"));

    let stored = store.get(&wallet.base).unwrap().unwrap();
    assert_eq!(stored.client_id, "m_dyn1");
    assert_eq!(stored.client_secret.expose_secret(), "cs_topsecret");
    assert_eq!(stored.status, "pending");
    assert_eq!(
        stored.webhook_secret.as_ref().unwrap().expose_secret(),
        "whsec_dGVzdHNlY3JldA=="
    );
    let debug = format!("{stored:?} {wallets:?} {client:?}");
    for secret in ["cs_topsecret", "rat_topsecret", "whsec_dGVzdHNlY3JldA"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }

    // The same wallet by another spelling: the cached client.
    let again = wallets.connect(&wallet.address()).await.unwrap();
    assert!(Arc::ptr_eq(&client, &again));
    // Another process with the same store: discovery again, but no second registration.
    let restarted = dev_wallets(store.clone());
    restarted.connect(&wallet.address()).await.unwrap();
    assert_eq!(wallet.requests("POST", "/oauth/register").len(), 1);
    assert_eq!(wallet.requests("GET", METADATA_PATH).len(), 2);

    // The client authenticates with the registered credentials.
    wallet.json(
        "POST",
        "/oauth/par",
        201,
        serde_json::json!({"request_uri": "urn:ietf:params:oauth:request_uri:x", "expires_in": 60}),
    );
    let payment: crate::PaymentDetails = serde_json::from_value(serde_json::json!({
        "type": "payment",
        "instructed_amount": {"currency": "JPY", "amount": "1200"},
        "order_reference": "ORD-1",
    }))
    .unwrap();
    again.start_checkout(&payment).await.unwrap();
    let par = &wallet.requests("POST", "/oauth/par")[0];
    let expected = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "m_dyn1:cs_topsecret"
        )
    );
    assert_eq!(par.headers["authorization"], expected);
}

#[tokio::test]
async fn each_wallet_gets_a_webhook_path_of_its_own() {
    let wallet = FakeServer::wallet().await;
    let mut shop = shop();
    shop.webhook_url = Some(Url::parse("https://shop.example/webhooks/saifu/{wallet}").unwrap());
    let wallets = Wallets::with_mode(
        shop,
        Arc::new(MemoryRegistrations::new()),
        Mode::Development,
    )
    .unwrap();
    wallets.connect(&wallet.address()).await.unwrap();
    let body: serde_json::Value =
        serde_json::from_str(&wallet.requests("POST", "/oauth/register")[0].body).unwrap();
    assert_eq!(
        body["webhook_url"],
        format!(
            "https://shop.example/webhooks/saifu/127.0.0.1-{}",
            wallet.port
        )
    );
    assert_eq!(
        crate::wallet_key(&Url::parse("https://Wallet.Example.jp/").unwrap()),
        "wallet.example.jp"
    );
    assert_eq!(
        crate::wallet_key(&Url::parse("http://[::1]:8081/").unwrap()),
        "---1--8081"
    );
}

#[tokio::test]
async fn checkouts_at_a_new_wallet_at_once_register_the_shop_once() {
    let wallet = FakeServer::wallet().await;
    let wallets = dev_wallets(Arc::new(MemoryRegistrations::new()));
    let address = wallet.address();
    let named = format!("x@{address}");
    let (a, b, c) = tokio::join!(
        wallets.connect(&address),
        wallets.connect(&address),
        wallets.connect(&named)
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    assert!(Arc::ptr_eq(&a, &b) && Arc::ptr_eq(&b, &c));
    assert_eq!(wallet.requests("POST", "/oauth/register").len(), 1);
    assert_eq!(wallet.requests("GET", METADATA_PATH).len(), 1);
}

#[tokio::test]
async fn a_refused_registration_is_reported_and_nothing_stored() {
    let wallet = FakeServer::wallet().await;
    wallet.json(
        "POST",
        "/oauth/register",
        400,
        serde_json::json!({"error": "invalid_redirect_uri", "error_description": "redirect_uris[0] must be https"}),
    );
    let store = Arc::new(MemoryRegistrations::new());
    let err = dev_wallets(store.clone())
        .connect(&wallet.address())
        .await
        .unwrap_err();
    match &err {
        DiscoveryError::Registration { status, error, .. } => {
            assert_eq!(*status, 400);
            assert_eq!(error, "invalid_redirect_uri");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("must be https"), "{err}");
    assert!(store.get(&wallet.base).unwrap().is_none());
}

#[tokio::test]
async fn update_and_delete_use_the_registration_access_token() {
    let wallet = FakeServer::wallet().await;
    let store = Arc::new(MemoryRegistrations::new());
    let wallets = dev_wallets(store.clone());
    let first = wallets.connect(&wallet.address()).await.unwrap();

    wallet.json(
        "PUT",
        "/oauth/register/m_dyn1",
        200,
        serde_json::json!({
            "client_id": "m_dyn1",
            "client_name": "Kissa Tanuki",
            "redirect_uris": ["https://shop.example/callback"],
            "registration_client_uri": wallet.at("oauth/register/m_dyn1"),
            "saifu_status": "verified",
        }),
    );
    let updated = wallets.update(&wallet.base).await.unwrap();
    assert_eq!(updated.status, "verified");
    // The secrets are kept: the update's answer holds none.
    assert_eq!(updated.client_secret.expose_secret(), "cs_topsecret");
    assert!(updated.webhook_secret.is_some());
    let put = &wallet.requests("PUT", "/oauth/register/m_dyn1")[0];
    assert_eq!(put.headers["authorization"], "Bearer rat_topsecret");
    let body: serde_json::Value = serde_json::from_str(&put.body).unwrap();
    assert_eq!(body["client_id"], "m_dyn1");
    assert_eq!(body["client_name"], "Kissa Tanuki");
    assert_eq!(store.get(&wallet.base).unwrap().unwrap().status, "verified");
    // The cached client was dropped: the next connect builds a new one, without registering.
    let second = wallets.connect(&wallet.address()).await.unwrap();
    assert!(!Arc::ptr_eq(&first, &second));
    assert_eq!(wallet.requests("POST", "/oauth/register").len(), 1);

    // A wrong token: reported, the registration kept.
    wallet.json(
        "DELETE",
        "/oauth/register/m_dyn1",
        401,
        serde_json::json!({"error": "invalid_token"}),
    );
    let err = wallets.delete(&wallet.base).await.unwrap_err();
    assert!(
        matches!(&err, DiscoveryError::Registration { status: 401, error, .. } if error == "invalid_token"),
        "{err:?}"
    );
    assert!(store.get(&wallet.base).unwrap().is_some());

    wallet.route(
        "DELETE",
        "/oauth/register/m_dyn1",
        204,
        vec![],
        String::new(),
    );
    wallets.delete(&wallet.base).await.unwrap();
    let delete = wallet.requests("DELETE", "/oauth/register/m_dyn1");
    assert_eq!(delete.len(), 2);
    assert_eq!(delete[1].headers["authorization"], "Bearer rat_topsecret");
    assert!(store.get(&wallet.base).unwrap().is_none());

    // Deleted: the next connect registers anew.
    wallets.connect(&wallet.address()).await.unwrap();
    assert_eq!(wallet.requests("POST", "/oauth/register").len(), 2);
}

// --- Stores ---

#[test]
fn the_file_store_round_trips_and_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registrations.json");
    let store = FileRegistrations::new(&path);
    let a = registration("https://wallet-a.example/");
    let b = registration("https://wallet-b.example/");
    assert!(store.get(&a.issuer).unwrap().is_none());
    store.put(&a).unwrap();
    store.put(&b).unwrap();

    let reopened = FileRegistrations::new(&path);
    let read = reopened.get(&a.issuer).unwrap().unwrap();
    assert_eq!(read.client_id, "m_1");
    assert_eq!(read.client_secret.expose_secret(), "cs_secret_value");
    assert_eq!(
        read.registration_access_token.expose_secret(),
        "rat_secret_value"
    );
    assert_eq!(
        read.webhook_secret.as_ref().unwrap().expose_secret(),
        "whsec_c2VjcmV0"
    );
    assert_eq!(read.registration_client_uri, a.registration_client_uri);
    assert_eq!(read.redirect_uris, a.redirect_uris);
    assert_eq!(read.issuer, a.issuer);

    reopened.remove(&a.issuer).unwrap();
    assert!(store.get(&a.issuer).unwrap().is_none());
    assert!(store.get(&b.issuer).unwrap().is_some());
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let debug = format!("{read:?} {store:?}");
    assert!(!debug.contains("cs_secret_value"), "{debug}");
    assert!(!debug.contains("rat_secret_value"), "{debug}");
    assert!(!debug.contains("whsec_c2VjcmV0"), "{debug}");
}

#[test]
fn a_corrupt_file_store_is_an_error_not_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registrations.json");
    std::fs::write(&path, "not json").unwrap();
    let store = FileRegistrations::new(&path);
    let err = store
        .get(&Url::parse("https://wallet-a.example/").unwrap())
        .unwrap_err();
    assert!(
        err.to_string().contains("not a registrations file"),
        "{err}"
    );
    assert!(store
        .put(&registration("https://wallet-a.example/"))
        .is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json");
}

#[test]
fn the_memory_store_keeps_one_registration_per_issuer() {
    let store = MemoryRegistrations::new();
    let mut a = registration("https://wallet-a.example/");
    store.put(&a).unwrap();
    a.client_id = "m_2".into();
    store.put(&a).unwrap();
    assert_eq!(store.get(&a.issuer).unwrap().unwrap().client_id, "m_2");
    store.remove(&a.issuer).unwrap();
    assert!(store.get(&a.issuer).unwrap().is_none());
}
