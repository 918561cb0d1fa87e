//! The client against a fake wallet: a hand-written HTTP/1.1 responder on 127.0.0.1:0 that
//! serves canned answers and records every request, and real ES256 keys made with `ring`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::checkout::Jwk;

const CLIENT_ID: &str = "m_shop";
/// Characters that RFC 6749 §2.3.1 form-urlencoding changes.
const CLIENT_SECRET: &str = "s3cr:et /+&=%é";
const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

impl Recorded {
    fn form(&self) -> HashMap<String, String> {
        form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
}

#[derive(Default)]
struct WalletState {
    /// (method, path) → (status, JSON body).
    routes: HashMap<(String, String), (u16, String)>,
    requests: Vec<Recorded>,
}

struct FakeWallet {
    base: Url,
    state: Arc<Mutex<WalletState>>,
}

impl FakeWallet {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let state = Arc::new(Mutex::new(WalletState::default()));
        let served = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, served.clone()));
            }
        });
        let wallet = Self { base, state };
        wallet.set("GET", METADATA_PATH, 200, wallet.metadata());
        wallet.set("GET", "/oauth/jwks", 200, serde_json::json!({ "keys": [] }));
        wallet.set(
            "POST",
            "/oauth/par",
            201,
            serde_json::json!({ "request_uri": "urn:ietf:params:oauth:request_uri:abc", "expires_in": 60 }),
        );
        wallet
    }

    fn metadata(&self) -> serde_json::Value {
        let at = |path: &str| self.base.join(path).unwrap().to_string();
        serde_json::json!({
            "issuer": self.base.as_str(),
            "authorization_endpoint": at("oauth/authorize"),
            "token_endpoint": at("oauth/token"),
            "pushed_authorization_request_endpoint": at("oauth/par"),
            "jwks_uri": at("oauth/jwks"),
            "require_pushed_authorization_requests": true,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "authorization_details_types_supported": ["payment"],
            "authorization_response_iss_parameter_supported": true,
        })
    }

    fn set(&self, method: &str, path: &str, status: u16, body: serde_json::Value) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert((method.into(), path.into()), (status, body.to_string()));
    }

    fn publish(&self, keys: &[&TestKey]) {
        let jwks = JwkSet {
            keys: keys.iter().map(|k| k.jwk.clone()).collect(),
        };
        self.set(
            "GET",
            "/oauth/jwks",
            200,
            serde_json::to_value(jwks).unwrap(),
        );
    }

    fn requests_to(&self, path: &str) -> Vec<Recorded> {
        let state = self.state.lock().unwrap();
        state
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    fn config(&self) -> MerchantConfig {
        MerchantConfig::new(
            self.base.clone(),
            CLIENT_ID,
            CLIENT_SECRET,
            Url::parse("https://shop.example/saifu/callback").unwrap(),
        )
    }

    async fn client(&self) -> SaifuClient {
        SaifuClient::discover_with(http(), self.config())
            .await
            .unwrap()
    }

    /// The claims the wallet would sign for this merchant.
    fn claims(&self) -> GrantClaims {
        let now = now();
        GrantClaims {
            iss: self.base.to_string(),
            aud: format!("{}/v1/payments", self.base.origin().ascii_serialization()),
            sub: "pairwise-7f3a".into(),
            client_id: CLIENT_ID.into(),
            iat: now,
            exp: now + 300,
            jti: "grant-1".into(),
            authorization_details: vec![payment()],
        }
    }
}

/// One request per connection: enough for reqwest, which honours `Connection: close`.
async fn serve(mut stream: TcpStream, state: Arc<Mutex<WalletState>>) {
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

    let (status, answer) = {
        let mut state = state.lock().unwrap();
        let answer = state.routes.get(&(method.clone(), path.clone())).cloned();
        state.requests.push(Recorded {
            method,
            path,
            headers,
            body,
        });
        answer.unwrap_or((404, "no such route".into()))
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn payment() -> PaymentDetails {
    PaymentDetails::new("JPY", "12800", "A-1001").with_item("Frames", 1, "12800")
}

/// An ES256 key pair as the wallet holds it: PKCS#8 to sign, the JWK to publish.
struct TestKey {
    pkcs8: Vec<u8>,
    /// The uncompressed SEC1 point, `0x04 || x || y`.
    public: Vec<u8>,
    jwk: Jwk,
}

impl TestKey {
    fn generate(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let public = pair.public_key().as_ref().to_vec();
        assert_eq!((public.len(), public[0]), (65, 0x04));
        let jwk = Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: URL_SAFE_NO_PAD.encode(&public[1..33]),
            y: URL_SAFE_NO_PAD.encode(&public[33..]),
            kid: kid.into(),
            use_: "sig".into(),
            alg: "ES256".into(),
        };
        Self {
            pkcs8: pkcs8.as_ref().to_vec(),
            public,
            jwk,
        }
    }

    fn header(&self) -> Header {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(GRANT_TYP.into());
        header.kid = Some(self.jwk.kid.clone());
        header
    }

    fn sign_with(&self, header: &Header, claims: &impl Serialize) -> String {
        jsonwebtoken::encode(header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).unwrap()
    }

    fn sign(&self, claims: &GrantClaims) -> String {
        self.sign_with(&self.header(), claims)
    }
}

fn b64_json(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Rewrites the JWT's header, keeping its payload and signature.
fn with_header(jwt: &str, header: serde_json::Value) -> String {
    let (_, rest) = jwt.split_once('.').unwrap();
    format!("{}.{rest}", b64_json(&header))
}

async fn wallet_with_key() -> (FakeWallet, SaifuClient, TestKey) {
    let wallet = FakeWallet::start().await;
    let key = TestKey::generate("k1");
    wallet.publish(&[&key]);
    let client = wallet.client().await;
    (wallet, client, key)
}

fn assert_refused(result: Result<GrantClaims, Error>, reason: &str) {
    match result {
        Err(Error::InvalidGrant(why)) => {
            assert!(
                why.contains(reason),
                "refused for {why:?}, expected {reason:?}"
            )
        }
        other => panic!("expected a refusal for {reason:?}, got {other:?}"),
    }
}

// --- PKCE and random tokens ---

/// The worked example of RFC 7636 Appendix B.
#[test]
fn pkce_challenge_matches_rfc7636_appendix_b() {
    assert_eq!(
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[test]
fn random_tokens_are_32_fresh_bytes_in_base64url() {
    let a = random_token();
    let b = random_token();
    assert_eq!(a.len(), 43);
    assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
    assert_ne!(a, b);
}

// --- Discovery ---

#[tokio::test]
async fn discovery_accepts_the_wallets_metadata_and_derives_the_audience() {
    let wallet = FakeWallet::start().await;
    let client = SaifuClient::discover(wallet.config()).await.unwrap();
    assert_eq!(client.metadata().issuer, wallet.base.as_str());
    let port = wallet.base.port().unwrap();
    assert_eq!(
        client.audience,
        format!("http://127.0.0.1:{port}/v1/payments")
    );
    assert_eq!(wallet.requests_to(METADATA_PATH).len(), 1);
}

#[tokio::test]
async fn discovery_refuses_metadata_of_another_issuer() {
    let wallet = FakeWallet::start().await;
    let mut metadata = wallet.metadata();
    metadata["issuer"] = "https://evil.example/".into();
    wallet.set("GET", METADATA_PATH, 200, metadata);
    let err = SaifuClient::discover_with(http(), wallet.config())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Metadata(ref why) if why.contains("issuer")),
        "{err:?}"
    );
}

#[tokio::test]
async fn discovery_refuses_a_wallet_without_par_s256_payment_or_basic_auth() {
    let wallet = FakeWallet::start().await;
    let mutations: [(&str, serde_json::Value); 5] = [
        ("require_pushed_authorization_requests", false.into()),
        (
            "code_challenge_methods_supported",
            serde_json::json!(["plain"]),
        ),
        (
            "authorization_details_types_supported",
            serde_json::json!(["account_information"]),
        ),
        (
            "token_endpoint_auth_methods_supported",
            serde_json::json!(["private_key_jwt"]),
        ),
        ("token_endpoint", "not a url".into()),
    ];
    for (field, value) in mutations {
        let mut metadata = wallet.metadata();
        metadata[field] = value;
        wallet.set("GET", METADATA_PATH, 200, metadata);
        let err = SaifuClient::discover_with(http(), wallet.config())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Metadata(ref why) if why.contains(field)),
            "{field}: {err:?}"
        );
    }
}

#[tokio::test]
async fn discovery_reports_a_missing_metadata_document() {
    let wallet = FakeWallet::start().await;
    wallet.state.lock().unwrap().routes.clear();
    let err = SaifuClient::discover_with(http(), wallet.config())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnexpectedStatus(404)), "{err:?}");
}

#[test]
fn metadata_url_follows_rfc8414_for_root_and_path_issuers() {
    let url = |issuer: &str| metadata_url(&Url::parse(issuer).unwrap()).to_string();
    assert_eq!(
        url("http://localhost:8080/"),
        "http://localhost:8080/.well-known/oauth-authorization-server"
    );
    assert_eq!(
        url("https://wallet.example/tenant/"),
        "https://wallet.example/.well-known/oauth-authorization-server/tenant"
    );
}

// --- Starting a checkout ---

#[tokio::test]
async fn start_checkout_pushes_the_request_with_pkce_and_basic_auth() {
    let (wallet, client, _) = wallet_with_key().await;
    let (url, pending) = client.start_checkout(&payment()).await.unwrap();

    let pushed = wallet.requests_to("/oauth/par");
    assert_eq!(pushed.len(), 1);
    let par = &pushed[0];
    assert_eq!(par.method, "POST");
    assert_eq!(
        par.headers["content-type"],
        "application/x-www-form-urlencoded"
    );

    let credentials = par.headers["authorization"].strip_prefix("Basic ").unwrap();
    let credentials = String::from_utf8(STANDARD.decode(credentials).unwrap()).unwrap();
    let (id, secret) = credentials.split_once(':').unwrap();
    let decode = |s: &str| -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned()
    };
    assert_eq!(decode(id), CLIENT_ID);
    assert_eq!(decode(secret), CLIENT_SECRET);
    assert!(
        !secret.contains(':') && !secret.contains(' '),
        "secret not form-encoded: {secret}"
    );

    let form = par.form();
    assert_eq!(form["response_type"], "code");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["redirect_uri"], "https://shop.example/saifu/callback");
    assert_eq!(form["state"], pending.state);
    assert_eq!(form["code_challenge_method"], "S256");
    assert_eq!(
        form["code_challenge"],
        pkce_challenge(pending.code_verifier())
    );
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(pending.code_verifier())
            .unwrap()
            .len(),
        32
    );
    assert_eq!(URL_SAFE_NO_PAD.decode(&pending.state).unwrap().len(), 32);
    let details: Vec<PaymentDetails> =
        serde_json::from_str(&form["authorization_details"]).unwrap();
    assert_eq!(details, vec![payment()]);
    assert!(!form.contains_key("code_verifier"));

    assert_eq!(url.path(), "/oauth/authorize");
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query.len(), 2);
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(
        query["request_uri"],
        "urn:ietf:params:oauth:request_uri:abc"
    );
}

#[tokio::test]
async fn start_checkout_makes_a_fresh_state_and_verifier_each_time() {
    let (_wallet, client, _) = wallet_with_key().await;
    let (_, first) = client.start_checkout(&payment()).await.unwrap();
    let (_, second) = client.start_checkout(&payment()).await.unwrap();
    assert_ne!(first.state, second.state);
    assert_ne!(first.code_verifier(), second.code_verifier());
}

#[tokio::test]
async fn start_checkout_surfaces_the_wallets_oauth_errors() {
    let (wallet, client, _) = wallet_with_key().await;
    wallet.set(
        "POST",
        "/oauth/par",
        400,
        serde_json::json!({"error": "invalid_authorization_details", "error_description": "line items do not sum to the amount"}),
    );
    let err = client.start_checkout(&payment()).await.unwrap_err();
    assert!(
        matches!(err, Error::OAuth { status: 400, ref error, ref description }
            if error == "invalid_authorization_details" && description.as_deref() == Some("line items do not sum to the amount")),
        "{err:?}"
    );

    wallet.set(
        "POST",
        "/oauth/par",
        401,
        serde_json::json!({"error": "invalid_client"}),
    );
    let err = client.start_checkout(&payment()).await.unwrap_err();
    assert!(
        matches!(err, Error::OAuth { status: 401, ref error, .. } if error == "invalid_client")
    );
    assert!(!err.to_string().contains(CLIENT_SECRET));

    wallet.set(
        "POST",
        "/oauth/par",
        500,
        serde_json::json!({"title": "oops"}),
    );
    let err = client.start_checkout(&payment()).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedStatus(500)), "{err:?}");
}

// --- Completing a checkout ---

fn callback(pairs: &[(&str, &str)]) -> Url {
    let mut url = Url::parse("https://shop.example/saifu/callback").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url
}

async fn started(wallet: &FakeWallet, client: &SaifuClient, key: &TestKey) -> PendingCheckout {
    let token = key.sign(&wallet.claims());
    wallet.set(
        "POST",
        "/oauth/token",
        200,
        serde_json::json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "authorization_details": [payment()],
        }),
    );
    client.start_checkout(&payment()).await.unwrap().1
}

#[tokio::test]
async fn complete_checkout_exchanges_the_code_and_verifies_the_grant() {
    let (wallet, client, key) = wallet_with_key().await;
    let pending = started(&wallet, &client, &key).await;
    let iss = wallet.base.to_string();
    let back = callback(&[
        ("code", "the-code"),
        ("state", &pending.state),
        ("iss", &iss),
    ]);

    let grant = client.complete_checkout(&back, &pending).await.unwrap();
    assert_eq!(grant.claims, wallet.claims_like(&grant.claims));
    assert_eq!(grant.authorization_details, vec![payment()]);
    assert_eq!(grant.expires_in, 300);
    assert_eq!(
        client.verify_grant(&grant.token).await.unwrap(),
        grant.claims
    );

    let exchanged = wallet.requests_to("/oauth/token");
    assert_eq!(exchanged.len(), 1);
    let form = exchanged[0].form();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "the-code");
    assert_eq!(form["redirect_uri"], "https://shop.example/saifu/callback");
    assert_eq!(form["code_verifier"], pending.code_verifier());
    assert_eq!(
        form.len(),
        4,
        "client_id goes in the Basic header only: {form:?}"
    );
    assert!(exchanged[0].headers["authorization"].starts_with("Basic "));
}

impl FakeWallet {
    /// `claims()` with the time fields of `signed`, which were fixed when the token was made.
    fn claims_like(&self, signed: &GrantClaims) -> GrantClaims {
        GrantClaims {
            iat: signed.iat,
            exp: signed.exp,
            ..self.claims()
        }
    }
}

#[tokio::test]
async fn complete_checkout_refuses_another_state_before_any_token_request() {
    let (wallet, client, key) = wallet_with_key().await;
    let pending = started(&wallet, &client, &key).await;
    let iss = wallet.base.to_string();
    let cases = [
        callback(&[("code", "c"), ("state", "someone-elses"), ("iss", &iss)]),
        callback(&[("code", "c"), ("iss", &iss)]),
        callback(&[
            ("code", "c"),
            ("state", &pending.state),
            ("state", "x"),
            ("iss", &iss),
        ]),
        // Even a denial is not believed without the right state.
        callback(&[
            ("error", "access_denied"),
            ("state", "forged"),
            ("iss", &iss),
        ]),
    ];
    for back in cases {
        let err = client.complete_checkout(&back, &pending).await.unwrap_err();
        assert!(matches!(err, Error::StateMismatch), "{back}: {err:?}");
    }
    assert!(wallet.requests_to("/oauth/token").is_empty());
}

#[tokio::test]
async fn complete_checkout_refuses_another_or_missing_iss_before_any_token_request() {
    let (wallet, client, key) = wallet_with_key().await;
    let pending = started(&wallet, &client, &key).await;
    let state = pending.state.as_str();
    let cases = [
        callback(&[
            ("code", "c"),
            ("state", state),
            ("iss", "https://evil.example/"),
        ]),
        callback(&[("code", "c"), ("state", state)]),
        // The issuer exactly as serialized, not a look-alike.
        callback(&[
            ("code", "c"),
            ("state", state),
            ("iss", wallet.base.as_str().trim_end_matches('/')),
        ]),
    ];
    for back in cases {
        let err = client.complete_checkout(&back, &pending).await.unwrap_err();
        assert!(matches!(err, Error::IssuerMismatch), "{back}: {err:?}");
    }
    assert!(wallet.requests_to("/oauth/token").is_empty());
}

#[tokio::test]
async fn complete_checkout_turns_callback_errors_into_sdk_errors_without_a_token_request() {
    let (wallet, client, key) = wallet_with_key().await;
    let pending = started(&wallet, &client, &key).await;
    let (state, iss) = (pending.state.as_str(), wallet.base.as_str());

    let denied = callback(&[("error", "access_denied"), ("state", state), ("iss", iss)]);
    let err = client
        .complete_checkout(&denied, &pending)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Denied), "{err:?}");

    let failed = callback(&[
        ("error", "server_error"),
        ("error_description", "try again"),
        ("state", state),
        ("iss", iss),
    ]);
    let err = client
        .complete_checkout(&failed, &pending)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Authorization { ref error, ref description }
            if error == "server_error" && description.as_deref() == Some("try again")),
        "{err:?}"
    );

    let no_code = callback(&[("state", state), ("iss", iss)]);
    let err = client
        .complete_checkout(&no_code, &pending)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingCode), "{err:?}");

    assert!(wallet.requests_to("/oauth/token").is_empty());
}

#[tokio::test]
async fn complete_checkout_surfaces_a_refused_code_without_leaking_it() {
    let (wallet, client, key) = wallet_with_key().await;
    let pending = started(&wallet, &client, &key).await;
    wallet.set(
        "POST",
        "/oauth/token",
        400,
        serde_json::json!({"error": "invalid_grant"}),
    );
    let back = callback(&[
        ("code", "secret-code-123"),
        ("state", &pending.state),
        ("iss", wallet.base.as_str()),
    ]);
    let err = client.complete_checkout(&back, &pending).await.unwrap_err();
    assert!(matches!(err, Error::OAuth { status: 400, ref error, .. } if error == "invalid_grant"));
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("secret-code-123"));
        assert!(!shown.contains(pending.code_verifier()));
    }
}

#[tokio::test]
async fn complete_checkout_refuses_a_grant_that_does_not_verify() {
    let (wallet, client, key) = wallet_with_key().await;
    let pending = started(&wallet, &client, &key).await;
    let stranger = TestKey::generate("k1");
    wallet.set(
        "POST",
        "/oauth/token",
        200,
        serde_json::json!({
            "access_token": stranger.sign(&wallet.claims()),
            "token_type": "Bearer",
            "expires_in": 300,
            "authorization_details": [payment()],
        }),
    );
    let back = callback(&[
        ("code", "c"),
        ("state", &pending.state),
        ("iss", wallet.base.as_str()),
    ]);
    let err = client.complete_checkout(&back, &pending).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidGrant(ref why) if why.contains("signature")),
        "{err:?}"
    );
}

// --- Verifying grants ---

#[tokio::test]
async fn a_valid_grant_verifies() {
    let (wallet, client, key) = wallet_with_key().await;
    let claims = wallet.claims();
    assert_eq!(
        client.verify_grant(&key.sign(&claims)).await.unwrap(),
        claims
    );
    // The JWKS is fetched once, then served from the cache.
    assert_eq!(
        client.verify_grant(&key.sign(&claims)).await.unwrap(),
        claims
    );
    assert_eq!(wallet.requests_to("/oauth/jwks").len(), 1);
}

#[tokio::test]
async fn a_tampered_signature_is_refused() {
    let (wallet, client, key) = wallet_with_key().await;
    let jwt = key.sign(&wallet.claims());
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    signature[10] ^= 0x01;
    let tampered = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature));
    assert_refused(client.verify_grant(&tampered).await, "signature");
}

#[tokio::test]
async fn a_tampered_payload_is_refused() {
    let (wallet, client, key) = wallet_with_key().await;
    let jwt = key.sign(&wallet.claims());
    let mut parts: Vec<String> = jwt.split('.').map(String::from).collect();
    let mut claims = serde_json::to_value(wallet.claims()).unwrap();
    claims["authorization_details"][0]["instructed_amount"]["amount"] = "9999999".into();
    parts[1] = b64_json(&claims);
    assert_refused(client.verify_grant(&parts.join(".")).await, "signature");
}

#[tokio::test]
async fn alg_none_and_every_alg_but_es256_are_refused() {
    let (wallet, client, key) = wallet_with_key().await;
    let jwt = key.sign(&wallet.claims());
    let (_, payload_and_signature) = jwt.split_once('.').unwrap();
    let payload = payload_and_signature.split('.').next().unwrap();
    for alg in ["none", "None", "NONE"] {
        let header = serde_json::json!({"alg": alg, "typ": "at+jwt", "kid": "k1"});
        let unsigned = format!("{}.{payload}.", b64_json(&header));
        assert_refused(client.verify_grant(&unsigned).await, "only ES256");
    }
    for alg in ["ES384", "ES512", "RS256", "PS256", "EdDSA", "es256", ""] {
        let header = serde_json::json!({"alg": alg, "typ": "at+jwt", "kid": "k1"});
        assert_refused(
            client.verify_grant(&with_header(&jwt, header)).await,
            "only ES256",
        );
    }
    let header = serde_json::json!({"typ": "at+jwt", "kid": "k1"});
    assert_refused(
        client.verify_grant(&with_header(&jwt, header)).await,
        "JOSE header",
    );
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let (wallet, client, key) = wallet_with_key().await;
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(GRANT_TYP.into());
    header.kid = Some("k1".into());
    // The bytes a confused verifier might use as the HMAC secret.
    let secrets = [
        key.public.clone(),
        serde_json::to_vec(&key.jwk).unwrap(),
        URL_SAFE_NO_PAD.decode(&key.jwk.x).unwrap(),
    ];
    for secret in secrets {
        let forged = jsonwebtoken::encode(
            &header,
            &wallet.claims(),
            &EncodingKey::from_secret(&secret),
        )
        .unwrap();
        assert_refused(client.verify_grant(&forged).await, "algorithm \"HS256\"");
    }
}

#[tokio::test]
async fn a_wrong_or_missing_typ_is_refused() {
    let (wallet, client, key) = wallet_with_key().await;
    for typ in [Some("JWT"), Some("at+JWT "), Some("dpop+jwt"), None] {
        let mut header = key.header();
        header.typ = typ.map(String::from);
        let jwt = key.sign_with(&header, &wallet.claims());
        assert_refused(client.verify_grant(&jwt).await, "typ");
    }
    let mut header = key.header();
    header.typ = Some("application/at+jwt".into());
    assert!(client
        .verify_grant(&key.sign_with(&header, &wallet.claims()))
        .await
        .is_ok());
}

#[tokio::test]
async fn critical_header_extensions_are_refused() {
    let (wallet, client, key) = wallet_with_key().await;
    let jwt = key.sign(&wallet.claims());
    let header = serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1", "crit": ["exp"]});
    assert_refused(
        client.verify_grant(&with_header(&jwt, header)).await,
        "critical",
    );
}

#[tokio::test]
async fn an_unknown_kid_is_refused_without_refetching_within_a_second() {
    let (wallet, client, key) = wallet_with_key().await;
    client
        .verify_grant(&key.sign(&wallet.claims()))
        .await
        .unwrap();

    let stranger = TestKey::generate("k-unknown");
    assert_refused(
        client.verify_grant(&stranger.sign(&wallet.claims())).await,
        "unknown signing key",
    );
    let mut header = key.header();
    header.kid = None;
    assert_refused(
        client
            .verify_grant(&key.sign_with(&header, &wallet.claims()))
            .await,
        "no kid",
    );
    assert_eq!(
        wallet.requests_to("/oauth/jwks").len(),
        1,
        "refetched within a second"
    );
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_once_and_picks_up_a_rotated_key() {
    let (wallet, client, old) = wallet_with_key().await;
    let client = client.with_jwks_refetch_interval(Duration::ZERO);
    client
        .verify_grant(&old.sign(&wallet.claims()))
        .await
        .unwrap();

    let new = TestKey::generate("k2");
    wallet.publish(&[&new]);
    client
        .verify_grant(&new.sign(&wallet.claims()))
        .await
        .unwrap();
    assert_eq!(wallet.requests_to("/oauth/jwks").len(), 2);

    // The retired key went with the refetch.
    assert_refused(
        client.verify_grant(&old.sign(&wallet.claims())).await,
        "unknown signing key",
    );
    // Still unknown after its one refetch: refused.
    let stranger = TestKey::generate("k3");
    assert_refused(
        client.verify_grant(&stranger.sign(&wallet.claims())).await,
        "unknown signing key",
    );
    assert_eq!(
        wallet.requests_to("/oauth/jwks").len(),
        4,
        "one fetch per unknown kid"
    );
}

#[tokio::test]
async fn a_burst_of_unknown_kids_fetches_the_jwks_at_most_once() {
    let (wallet, client, key) = wallet_with_key().await;
    let client = Arc::new(client);
    let claims = wallet.claims();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let client = client.clone();
            let mut header = key.header();
            header.kid = Some(format!("random-{i}"));
            let jwt = key.sign_with(&header, &claims);
            tokio::spawn(async move { client.verify_grant(&jwt).await })
        })
        .collect();
    for task in tasks {
        assert_refused(task.await.unwrap(), "unknown signing key");
    }
    assert_eq!(wallet.requests_to("/oauth/jwks").len(), 1);
    // The known key still verifies from the cache.
    client.verify_grant(&key.sign(&claims)).await.unwrap();
    assert_eq!(wallet.requests_to("/oauth/jwks").len(), 1);
}

#[tokio::test]
async fn a_grant_for_another_audience_is_refused() {
    let (wallet, client, key) = wallet_with_key().await;
    for aud in [
        "https://evil.example/v1/payments",
        "http://127.0.0.1/v1/payments",
        "",
    ] {
        let claims = GrantClaims {
            aud: aud.into(),
            ..wallet.claims()
        };
        assert_refused(client.verify_grant(&key.sign(&claims)).await, "audience");
    }
    let mut claims = serde_json::to_value(wallet.claims()).unwrap();
    claims.as_object_mut().unwrap().remove("aud");
    assert_refused(
        client
            .verify_grant(&key.sign_with(&key.header(), &claims))
            .await,
        "aud",
    );
}

#[tokio::test]
async fn a_grant_from_another_issuer_is_refused() {
    let (wallet, client, key) = wallet_with_key().await;
    let trimmed = wallet.base.as_str().trim_end_matches('/').to_owned();
    for iss in ["https://evil.example/", trimmed.as_str()] {
        let claims = GrantClaims {
            iss: iss.into(),
            ..wallet.claims()
        };
        assert_refused(
            client.verify_grant(&key.sign(&claims)).await,
            "another server",
        );
    }
}

#[tokio::test]
async fn an_expired_grant_is_refused_but_30_s_of_skew_is_tolerated() {
    let (wallet, client, key) = wallet_with_key().await;
    let expired = GrantClaims {
        exp: now() - 120,
        ..wallet.claims()
    };
    assert_refused(client.verify_grant(&key.sign(&expired)).await, "expired");
    let just_expired = GrantClaims {
        exp: now() - 10,
        ..wallet.claims()
    };
    assert!(client.verify_grant(&key.sign(&just_expired)).await.is_ok());
}

#[tokio::test]
async fn a_grant_for_another_merchant_is_refused() {
    let (wallet, client, key) = wallet_with_key().await;
    let claims = GrantClaims {
        client_id: "m_other".into(),
        ..wallet.claims()
    };
    assert_refused(
        client.verify_grant(&key.sign(&claims)).await,
        "another merchant",
    );
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let (_wallet, client, _) = wallet_with_key().await;
    for jwt in ["", "a.b", "a.b.c.d", "!!!.e30.", "e30.e30.e30"] {
        assert!(
            matches!(client.verify_grant(jwt).await, Err(Error::InvalidGrant(_))),
            "{jwt}"
        );
    }
}

#[test]
fn jwks_entries_that_cannot_verify_es256_are_ignored() {
    let key = TestKey::generate("k1");
    let mut wrong_alg = key.jwk.clone();
    wrong_alg.alg = "ES384".into();
    let mut for_encryption = key.jwk.clone();
    for_encryption.use_ = "enc".into();
    let mut short = key.jwk.clone();
    short.x = URL_SAFE_NO_PAD.encode([1u8; 16]);
    for jwk in [wrong_alg, for_encryption, short] {
        let keys = usable_keys(&JwkSet { keys: vec![jwk] });
        assert!(keys.is_empty());
    }
    assert_eq!(
        usable_keys(&JwkSet {
            keys: vec![key.jwk.clone()]
        })
        .len(),
        1
    );
}

// --- Secrets stay out of Debug ---

#[tokio::test]
async fn debug_output_shows_no_secrets() {
    let (wallet, client, key) = wallet_with_key().await;
    let pending = started(&wallet, &client, &key).await;
    let back = callback(&[
        ("code", "the-code"),
        ("state", &pending.state),
        ("iss", wallet.base.as_str()),
    ]);
    let grant = client.complete_checkout(&back, &pending).await.unwrap();

    let config = format!("{:?}", wallet.config());
    let pending_debug = format!("{pending:?}");
    let grant_debug = format!("{grant:?}");
    let client_debug = format!("{client:?}");
    for shown in [&config, &pending_debug, &grant_debug, &client_debug] {
        assert!(!shown.contains(CLIENT_SECRET), "{shown}");
        assert!(!shown.contains(pending.code_verifier()), "{shown}");
        assert!(!shown.contains(&grant.token), "{shown}");
        assert!(
            !shown.contains(grant.token.split('.').nth(2).unwrap()),
            "{shown}"
        );
    }
    assert!(config.contains(CLIENT_ID));
    assert!(pending_debug.contains(&pending.state));
    assert!(grant_debug.contains("REDACTED") && grant_debug.contains("A-1001"));
}

#[test]
fn pending_checkout_survives_a_session_store() {
    let pending = PendingCheckout {
        state: random_token(),
        code_verifier: random_token(),
    };
    let stored = serde_json::to_string(&pending).unwrap();
    let restored: PendingCheckout = serde_json::from_str(&stored).unwrap();
    assert_eq!(restored, pending);
    assert_eq!(restored.code_verifier(), pending.code_verifier());
}
