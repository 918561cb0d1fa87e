//! The merchant's server side of a Saifu checkout: discovery, the pushed authorization request
//! with PKCE, the callback and code exchange, and offline verification of payment grants
//! against the wallet's JWKS.

use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::{form_urlencoded, Url};

use crate::checkout::{
    AuthorizationServerMetadata, GrantClaims, JwkSet, OAuthErrorBody, ParResponse, PaymentDetails,
    TokenResponse, GRANT_TYP, PAYMENT_TYPE,
};

/// An unknown `kid` refetches the JWKS at most this often, so that forged tokens with random
/// `kid`s cannot turn the merchant into an amplifier against the wallet. Short, because a
/// grant reaches the SDK in the answer to its own token request: an unknown `kid` there is
/// almost always a key the wallet just rotated to, and refusing it would lose a checkout whose
/// code is already spent.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(1);

/// Clock skew tolerated on `exp`.
const EXP_LEEWAY_SECS: u64 = 30;

/// Only for the client that `discover` builds; `discover_with` callers choose their own.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const REDACTED: &str = "[REDACTED]";

/// What a merchant registered with the wallet, and where the wallet lives.
#[derive(Clone, Debug)]
pub struct MerchantConfig {
    /// The wallet's issuer identifier, e.g. `https://wallet.example/`.
    pub issuer: Url,
    pub client_id: String,
    /// `SecretString`'s `Debug` prints `[REDACTED]`.
    pub client_secret: SecretString,
    /// Exactly as registered with the wallet.
    pub redirect_uri: Url,
}

impl MerchantConfig {
    pub fn new(
        issuer: Url,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
        redirect_uri: Url,
    ) -> Self {
        Self {
            issuer,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uri,
        }
    }
}

/// What the merchant keeps (in its session store, for instance) between `start_checkout` and
/// the callback. It holds the PKCE verifier, so treat it as a secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCheckout {
    pub state: String,
    code_verifier: String,
}

impl PendingCheckout {
    pub fn code_verifier(&self) -> &str {
        &self.code_verifier
    }
}

impl fmt::Debug for PendingCheckout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingCheckout")
            .field("state", &self.state)
            .field("code_verifier", &REDACTED)
            .finish()
    }
}

/// A payment grant, verified: hand `token` to `POST /v1/payments`.
#[derive(Clone)]
pub struct Grant {
    /// The grant JWT. Anyone holding it can spend it once, so it is redacted from `Debug`.
    pub token: String,
    pub expires_in: u64,
    /// As the token endpoint returned them; `claims.authorization_details` are the signed ones.
    pub authorization_details: Vec<PaymentDetails>,
    pub claims: GrantClaims,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("token", &REDACTED)
            .field("expires_in", &self.expires_in)
            .field("authorization_details", &self.authorization_details)
            .field("claims", &self.claims)
            .finish()
    }
}

/// Everything that can go wrong on the merchant's side of a checkout. No variant carries a
/// secret (client secret, code, verifier or grant).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("HTTP request to the wallet failed: {0}")]
    Http(#[from] reqwest::Error),
    /// An RFC 6749 error answer from the PAR or token endpoint.
    #[error(
        "the wallet refused the request (HTTP {status}): {error}{}",
        suffix(description)
    )]
    OAuth {
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// A problem (RFC 9457) answer of the payments API. A card decline is status 402 with a
    /// `decline_code`; a 502 `processor_error` is safe to retry with the same idempotency key.
    #[error(
        "the wallet refused the request (HTTP {status}): {code}{}",
        suffix(detail)
    )]
    Problem {
        status: u16,
        code: String,
        detail: Option<String>,
        decline_code: Option<String>,
    },
    /// A failed answer that is not an RFC 6749 error body.
    #[error("the wallet answered HTTP {0}")]
    UnexpectedStatus(u16),
    #[error("the shopper declined the payment")]
    Denied,
    /// The callback carried an `error` other than `access_denied`.
    #[error(
        "the wallet ended the authorization with {error}{}",
        suffix(description)
    )]
    Authorization {
        error: String,
        description: Option<String>,
    },
    #[error("the callback's state is not the pending checkout's")]
    StateMismatch,
    #[error("the callback's iss is missing or is not the wallet's issuer")]
    IssuerMismatch,
    #[error("the callback carries no authorization code")]
    MissingCode,
    #[error("invalid payment grant: {0}")]
    InvalidGrant(String),
    #[error("unusable discovery metadata: {0}")]
    Metadata(String),
    #[error("invalid merchant configuration: {0}")]
    Config(String),
}

pub(crate) fn suffix(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

/// The S256 PKCE code challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

/// 32 random bytes, base64url without padding: a `state` or a PKCE code verifier.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The system RNG only fails when the OS has none; nothing secure can be done then.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The merchant's client of one Saifu wallet. Build it once with `discover` and share it
/// (behind an `Arc`): it caches the wallet's signing keys.
#[derive(Debug)]
pub struct SaifuClient {
    http: reqwest::Client,
    config: MerchantConfig,
    metadata: AuthorizationServerMetadata,
    endpoints: Endpoints,
    /// `aud` of every grant: the wallet's payments API.
    audience: String,
    keys: RwLock<HashMap<String, DecodingKey>>,
    /// When the JWKS was last requested; held across the fetch so that concurrent misses wait
    /// for one fetch instead of each starting their own.
    jwks_fetched_at: tokio::sync::Mutex<Option<Instant>>,
    jwks_refetch_interval: Duration,
}

#[derive(Debug)]
struct Endpoints {
    authorization: Url,
    token: Url,
    par: Url,
    jwks: Url,
}

impl SaifuClient {
    /// Fetches and checks the wallet's discovery metadata, with an HTTP client that does not
    /// follow redirects and times out.
    pub async fn discover(config: MerchantConfig) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Self::discover_with(http, config).await
    }

    /// Same as `discover`, with the caller's HTTP client.
    pub async fn discover_with(
        http: reqwest::Client,
        config: MerchantConfig,
    ) -> Result<Self, Error> {
        check_config(&config)?;
        let response = http
            .get(metadata_url(&config.issuer))
            .header(ACCEPT, "application/json")
            .send()
            .await?;
        let metadata: AuthorizationServerMetadata = read_json(response).await?;
        Self::from_metadata(http, config, metadata)
    }

    /// A client from metadata already fetched (by wallet discovery), checked the same way.
    pub(crate) fn from_metadata(
        http: reqwest::Client,
        config: MerchantConfig,
        metadata: AuthorizationServerMetadata,
    ) -> Result<Self, Error> {
        check_config(&config)?;
        let endpoints = check_metadata(&metadata, &config)?;
        let audience = format!(
            "{}/v1/payments",
            config.issuer.origin().ascii_serialization()
        );
        Ok(Self {
            http,
            config,
            metadata,
            endpoints,
            audience,
            keys: RwLock::default(),
            jwks_fetched_at: tokio::sync::Mutex::default(),
            jwks_refetch_interval: JWKS_REFETCH_INTERVAL,
        })
    }

    pub fn metadata(&self) -> &AuthorizationServerMetadata {
        &self.metadata
    }

    /// Pushes the authorization request (PAR with PKCE S256) and returns the URL to send the
    /// shopper to, and what to keep until the callback.
    pub async fn start_checkout(
        &self,
        payment: &PaymentDetails,
    ) -> Result<(Url, PendingCheckout), Error> {
        let state = random_token();
        let code_verifier = random_token();
        let code_challenge = pkce_challenge(&code_verifier);
        // Plain strings and integers: serialization cannot fail.
        let details = serde_json::to_string(std::slice::from_ref(payment))
            .expect("payment details serialize to JSON");
        let form = [
            ("response_type", "code"),
            ("client_id", self.config.client_id.as_str()),
            ("redirect_uri", self.config.redirect_uri.as_str()),
            ("state", state.as_str()),
            ("code_challenge", code_challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("authorization_details", details.as_str()),
        ];
        let response = self
            .http
            .post(self.endpoints.par.clone())
            .header(AUTHORIZATION, self.client_authentication())
            .header(ACCEPT, "application/json")
            .form(&form)
            .send()
            .await?;
        let par: ParResponse = read_json(response).await?;

        let mut url = self.endpoints.authorization.clone();
        url.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("request_uri", &par.request_uri);
        Ok((
            url,
            PendingCheckout {
                state,
                code_verifier,
            },
        ))
    }

    /// Handles the wallet's redirect back: checks `state` and `iss` before anything else, then
    /// exchanges the code and verifies the grant.
    pub async fn complete_checkout(
        &self,
        callback: &Url,
        pending: &PendingCheckout,
    ) -> Result<Grant, Error> {
        let params = CallbackParams::parse(callback);
        // A response to a request this session did not make (CSRF, injected code) or from
        // another authorization server (mix-up, RFC 9207) is dropped unread.
        if pending.state.is_empty() || params.state.as_deref() != Some(pending.state.as_str()) {
            return Err(Error::StateMismatch);
        }
        if params.iss.as_deref() != Some(self.metadata.issuer.as_str()) {
            return Err(Error::IssuerMismatch);
        }
        if let Some(error) = params.error {
            return Err(if error == "access_denied" {
                Error::Denied
            } else {
                Error::Authorization {
                    error,
                    description: params.error_description,
                }
            });
        }
        let code = params
            .code
            .filter(|c| !c.is_empty())
            .ok_or(Error::MissingCode)?;

        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", self.config.redirect_uri.as_str()),
            ("code_verifier", pending.code_verifier.as_str()),
        ];
        let response = self
            .http
            .post(self.endpoints.token.clone())
            .header(AUTHORIZATION, self.client_authentication())
            .header(ACCEPT, "application/json")
            .form(&form)
            .send()
            .await?;
        let token: TokenResponse = read_json(response).await?;
        let claims = self.verify_grant(&token.access_token).await?;
        Ok(Grant {
            token: token.access_token,
            expires_in: token.expires_in,
            authorization_details: token.authorization_details,
            claims,
        })
    }

    /// Verifies a grant JWT offline: ES256 only, `typ` `at+jwt`, a key of the wallet's JWKS,
    /// and `iss`, `aud`, `exp` and `client_id` for this merchant.
    pub async fn verify_grant(&self, jwt: &str) -> Result<GrantClaims, Error> {
        let header = GrantHeader::parse(jwt)?;
        let key = self.signing_key(&header.kid).await?;

        let mut validation = Validation::new(Algorithm::ES256);
        validation.leeway = EXP_LEEWAY_SECS;
        validation.set_issuer(&[&self.metadata.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<GrantClaims>(jwt, &key, &validation)
            .map_err(|e| Error::InvalidGrant(rejection_reason(e.kind())))?
            .claims;

        if claims.client_id != self.config.client_id {
            return Err(Error::InvalidGrant(
                "it was issued to another merchant (client_id)".into(),
            ));
        }
        Ok(claims)
    }

    /// RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined and encoded.
    fn client_authentication(&self) -> HeaderValue {
        let id: String =
            form_urlencoded::byte_serialize(self.config.client_id.as_bytes()).collect();
        let secret: String =
            form_urlencoded::byte_serialize(self.config.client_secret.expose_secret().as_bytes())
                .collect();
        let credentials = STANDARD.encode(format!("{id}:{secret}"));
        let mut value = HeaderValue::from_str(&format!("Basic {credentials}"))
            .expect("base64 is a valid header value");
        value.set_sensitive(true);
        value
    }

    fn cached_key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(kid)
            .cloned()
    }

    /// The key for `kid`, fetching the JWKS on the first use and again for an unknown `kid`,
    /// but at most once per `jwks_refetch_interval`.
    async fn signing_key(&self, kid: &str) -> Result<DecodingKey, Error> {
        if let Some(key) = self.cached_key(kid) {
            return Ok(key);
        }
        let mut fetched_at = self.jwks_fetched_at.lock().await;
        // Another verification may have refreshed the keys while this one waited.
        if let Some(key) = self.cached_key(kid) {
            return Ok(key);
        }
        let unknown =
            || Error::InvalidGrant(format!("unknown signing key (kid {})", printable(kid)));
        if fetched_at.is_some_and(|at| at.elapsed() < self.jwks_refetch_interval) {
            return Err(unknown());
        }
        // Counted before the request, so failures are rate-limited too.
        *fetched_at = Some(Instant::now());
        let response = self
            .http
            .get(self.endpoints.jwks.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await?;
        let jwks: JwkSet = read_json(response).await?;
        let keys = usable_keys(&jwks);
        let key = keys.get(kid).cloned();
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
        key.ok_or_else(unknown)
    }
}

fn check_config(config: &MerchantConfig) -> Result<(), Error> {
    let issuer = &config.issuer;
    if !matches!(issuer.scheme(), "https" | "http") {
        return Err(Error::Config("the issuer must be an http(s) URL".into()));
    }
    if issuer.query().is_some() || issuer.fragment().is_some() {
        return Err(Error::Config(
            "the issuer may have no query or fragment (RFC 8414)".into(),
        ));
    }
    if config.client_id.is_empty() {
        return Err(Error::Config("the client_id is empty".into()));
    }
    Ok(())
}

/// RFC 8414 §3: the well-known segment goes between the host and the issuer's path.
fn metadata_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let path = issuer.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    url
}

fn check_metadata(
    metadata: &AuthorizationServerMetadata,
    config: &MerchantConfig,
) -> Result<Endpoints, Error> {
    let fail = |reason: String| Err(Error::Metadata(reason));
    if metadata.issuer != config.issuer.as_str() {
        return fail(format!(
            "issuer {:?} is not the configured {:?}",
            metadata.issuer,
            config.issuer.as_str()
        ));
    }
    if !metadata.require_pushed_authorization_requests {
        return fail("require_pushed_authorization_requests is not true".into());
    }
    let supports = |list: &[String], value: &str| list.iter().any(|v| v == value);
    let required = [
        (
            "code_challenge_methods_supported",
            &metadata.code_challenge_methods_supported,
            "S256",
        ),
        (
            "authorization_details_types_supported",
            &metadata.authorization_details_types_supported,
            PAYMENT_TYPE,
        ),
        (
            "token_endpoint_auth_methods_supported",
            &metadata.token_endpoint_auth_methods_supported,
            "client_secret_basic",
        ),
    ];
    for (field, list, value) in required {
        if !supports(list, value) {
            return fail(format!("{field} lacks {value:?}"));
        }
    }
    let endpoint = |field: &str, value: &str| {
        Url::parse(value).map_err(|e| Error::Metadata(format!("{field} is not a URL: {e}")))
    };
    Ok(Endpoints {
        authorization: endpoint("authorization_endpoint", &metadata.authorization_endpoint)?,
        token: endpoint("token_endpoint", &metadata.token_endpoint)?,
        par: endpoint(
            "pushed_authorization_request_endpoint",
            &metadata.pushed_authorization_request_endpoint,
        )?,
        jwks: endpoint("jwks_uri", &metadata.jwks_uri)?,
    })
}

/// A successful answer as `T`; a failed one as `Error::OAuth` when it has an RFC 6749 body.
async fn read_json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, Error> {
    let status = response.status();
    if status.is_success() {
        return Ok(response.json().await?);
    }
    let body = response.bytes().await?;
    Err(match serde_json::from_slice::<OAuthErrorBody>(&body) {
        Ok(body) => Error::OAuth {
            status: status.as_u16(),
            error: body.error,
            description: body.error_description,
        },
        Err(_) => Error::UnexpectedStatus(status.as_u16()),
    })
}

/// The callback's parameters; one given twice counts as absent, so it fails its check.
#[derive(Default)]
struct CallbackParams {
    state: Option<String>,
    iss: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl CallbackParams {
    fn parse(callback: &Url) -> Self {
        let mut seen: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in callback.query_pairs() {
            seen.entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
        let mut single = |name: &str| match seen.remove(name) {
            Some(mut values) if values.len() == 1 => values.pop(),
            _ => None,
        };
        Self {
            state: single("state"),
            iss: single("iss"),
            code: single("code"),
            error: single("error"),
            error_description: single("error_description"),
        }
    }
}

/// The JOSE header, read by hand so that `alg` values `jsonwebtoken` has no variant for
/// (`none`, …) get a clear refusal rather than a parse error.
struct GrantHeader {
    kid: String,
}

impl GrantHeader {
    fn parse(jwt: &str) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct Raw {
            alg: String,
            typ: Option<String>,
            kid: Option<String>,
            crit: Option<serde_json::Value>,
        }
        let invalid = |reason: &str| Error::InvalidGrant(reason.to_owned());
        let mut parts = jwt.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("it is not a compact JWS"));
        };
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| invalid("its header is not base64url"))?;
        let raw: Raw = serde_json::from_slice(&header)
            .map_err(|_| invalid("its header is not a JOSE header"))?;

        if raw.alg != "ES256" {
            return Err(Error::InvalidGrant(format!(
                "algorithm {} is not accepted, only ES256",
                printable(&raw.alg)
            )));
        }
        // RFC 9068 §4 names both spellings.
        let typ = raw.typ.as_deref();
        if typ != Some(GRANT_TYP) && typ != Some("application/at+jwt") {
            return Err(invalid("its typ is not at+jwt"));
        }
        if raw.crit.is_some() {
            return Err(invalid(
                "it has critical header extensions, none are supported",
            ));
        }
        let kid = raw.kid.ok_or_else(|| invalid("its header has no kid"))?;
        Ok(Self { kid })
    }
}

/// The JWKS entries that can verify ES256 grants, by `kid`.
fn usable_keys(jwks: &JwkSet) -> HashMap<String, DecodingKey> {
    let coordinate_ok = |c: &str| URL_SAFE_NO_PAD.decode(c).is_ok_and(|b| b.len() == 32);
    jwks.keys
        .iter()
        .filter(|k| k.kty == "EC" && k.crv == "P-256" && k.alg == "ES256" && k.use_ == "sig")
        .filter(|k| coordinate_ok(&k.x) && coordinate_ok(&k.y))
        .filter_map(|k| {
            Some((
                k.kid.clone(),
                DecodingKey::from_ec_components(&k.x, &k.y).ok()?,
            ))
        })
        .collect()
}

fn rejection_reason(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::InvalidSignature => "its signature does not verify".into(),
        ErrorKind::ExpiredSignature => "it has expired".into(),
        ErrorKind::InvalidIssuer => "it was issued by another server (iss)".into(),
        ErrorKind::InvalidAudience => "it is meant for another audience (aud)".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("it lacks the {claim} claim"),
        ErrorKind::InvalidClaimFormat(claim) => format!("its {claim} claim is malformed"),
        ErrorKind::InvalidAlgorithm => "algorithm is not accepted, only ES256".into(),
        ErrorKind::InvalidEcdsaKey => "the wallet's key is not a usable P-256 key".into(),
        // serde names the field at fault; claims are not secret.
        ErrorKind::Json(e) => format!("its claims are not grant claims: {e}"),
        ErrorKind::Base64(_) | ErrorKind::Utf8(_) | ErrorKind::InvalidToken => {
            "it is not a well-formed JWT".into()
        }
        _ => "it was refused".into(),
    }
}

/// An attacker-chosen header value, made safe and short enough for a log line.
fn printable(value: &str) -> String {
    const MAX: usize = 32;
    if value.chars().count() <= MAX {
        format!("{value:?}")
    } else {
        format!("{:?}…", value.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
impl SaifuClient {
    fn with_jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.jwks_refetch_interval = interval;
        self
    }
}

mod disputes_api;
mod payments_api;
mod points_api;
mod receipts_api;

#[cfg(test)]
mod tests;
