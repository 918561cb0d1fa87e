//! Finding a shopper's own wallet: a wallet address (`wallet.example.jp`,
//! `name@wallet.example.jp`, with an optional port) resolved to an issuer, its RFC 8414
//! metadata fetched and checked for what a Saifu checkout needs.
//!
//! The address comes from a shopper, so the fetch is guarded: only `https`, no redirects
//! followed, a short timeout, a cap on the body, and no private, loopback, link-local,
//! unique-local or unspecified address. The address check runs inside the HTTP client's DNS
//! resolver ([`GuardedResolver`]), on the very addresses the connection is then made to, so
//! that a name that resolves to a public address when checked and to a private one when
//! connected (DNS rebinding) is refused too.
//!
//! Development mode lifts the address check and allows plain `http` for `localhost`, so that a
//! shop and wallets on one machine can try it out. Never enable it in production.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, LOCATION};
use serde::Deserialize;
use url::{Host, Url};

use crate::checkout::{AuthorizationServerMetadata, PAYMENT_TYPE};

/// Discovery requests give up after this long: a shopper is waiting.
const DISCOVERY_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// A metadata document is a few hundred bytes; anything far larger is not a wallet's.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// Whether discovery may reach wallets on this machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Only `https`, only public addresses.
    #[default]
    Production,
    /// Also `http://localhost:PORT` (and `localhost:PORT` written bare), and any address.
    Development,
}

/// Why a wallet address could not be used. No variant carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    #[error("{input:?} is not a wallet address: {reason}")]
    InvalidAddress { input: String, reason: String },
    #[error("wallet addresses must use https ({0} is not allowed outside development mode)")]
    InsecureScheme(String),
    #[error("{host} resolves to {address}, a private, loopback or local address; wallets must be on the public internet")]
    PrivateAddress { host: String, address: IpAddr },
    #[error(
        "{url} redirects (HTTP {status}) to {location}; wallet discovery does not follow redirects"
    )]
    Redirect {
        url: String,
        status: u16,
        location: String,
    },
    #[error("{url} answered HTTP {status}: there is no Saifu wallet at this address")]
    Status { url: String, status: u16 },
    #[error("the metadata at {0} is larger than {MAX_METADATA_BYTES} bytes")]
    TooLarge(String),
    #[error("{0} is not a Saifu wallet: {1}")]
    NotAWallet(String, String),
    #[error("the wallet at {0} does not take new shops (it advertises no registration_endpoint)")]
    RegistrationClosed(String),
    #[error("could not reach the wallet at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// An RFC 7591/7592 error answer of the wallet's registration endpoint.
    #[error(
        "the wallet at {issuer} refused the registration (HTTP {status}): {error}{}",
        crate::client::suffix(description)
    )]
    Registration {
        issuer: String,
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// The wallet's registration answer is not an RFC 7591 answer.
    #[error("the wallet at {0} answered the registration with something unusable: {1}")]
    BadRegistration(String, String),
    #[error(transparent)]
    Store(#[from] crate::registrations::StoreError),
    /// The checkout client could not be built from the wallet's metadata.
    #[error(transparent)]
    Client(#[from] crate::client::Error),
}

/// Resolves a wallet address to its issuer, `https://host[:port]/`.
///
/// Accepted: `wallet.example.jp`, `name@wallet.example.jp`, `wallet.example.jp:8443`,
/// `https://wallet.example.jp`. In [`Mode::Development`] also `localhost:8081` and
/// `http://localhost:8081` (and `127.0.0.1`, `[::1]`), which resolve to `http://…`.
pub fn resolve_address(input: &str, mode: Mode) -> Result<Url, DiscoveryError> {
    let invalid = |reason: &str| DiscoveryError::InvalidAddress {
        input: input.chars().take(200).collect(),
        reason: reason.to_owned(),
    };
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("it contains spaces"));
    }
    let url = if let Some((scheme, _)) = trimmed.split_once("://") {
        let url = Url::parse(trimmed).map_err(|e| invalid(&e.to_string()))?;
        if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
            return Err(invalid("only https addresses are wallets"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("it carries a user name"));
        }
        url
    } else {
        // `name@host`: the name is the shopper's account there; the wallet is the host.
        let host = match trimmed.rsplit_once('@') {
            Some((name, host)) if !name.is_empty() => host,
            Some(_) => return Err(invalid("nothing before the @")),
            None => trimmed,
        };
        if host.contains(['/', '?', '#', '@', '\\']) {
            return Err(invalid("a wallet address is a host name, without a path"));
        }
        let mut url =
            Url::parse(&format!("https://{host}")).map_err(|e| invalid(&e.to_string()))?;
        if mode == Mode::Development && url.host().as_ref().is_some_and(is_local_host) {
            // `set_scheme` keeps a port that is https's default; rebuild instead.
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            let host = url.host_str().unwrap_or_default().to_owned();
            url =
                Url::parse(&format!("http://{host}{port}")).map_err(|e| invalid(&e.to_string()))?;
        }
        url
    };
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a wallet address is a host name, without a path"));
    }
    let Some(host) = url.host() else {
        return Err(invalid("it has no host"));
    };
    match mode {
        Mode::Production => {
            if url.scheme() != "https" {
                return Err(DiscoveryError::InsecureScheme(url.scheme().to_owned()));
            }
            match host {
                Host::Domain(name) if !name.contains('.') || name.ends_with("localhost") => {
                    return Err(invalid("it is not a public host name"))
                }
                Host::Ipv4(ip) => check_public(&url, IpAddr::V4(ip))?,
                Host::Ipv6(ip) => check_public(&url, IpAddr::V6(ip))?,
                Host::Domain(_) => {}
            }
        }
        Mode::Development => {
            if url.scheme() == "http" && !is_local_host(&host) {
                return Err(DiscoveryError::InsecureScheme(format!(
                    "http for {host} (only localhost)"
                )));
            }
        }
    }
    Ok(url)
}

fn is_local_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => *name == "localhost",
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

fn check_public(url: &Url, ip: IpAddr) -> Result<(), DiscoveryError> {
    if is_public(ip) {
        Ok(())
    } else {
        Err(DiscoveryError::PrivateAddress {
            host: url.host_str().unwrap_or_default().to_owned(),
            address: ip,
        })
    }
}

/// Whether an address is one a wallet on the public internet may have: not private,
/// loopback, link-local, unique-local, shared (CGNAT), multicast, documentation or unspecified,
/// also when an IPv6 address embeds an IPv4 one.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                // 100.64.0.0/10, shared address space (RFC 6598).
                || (a == 100 && (64..128).contains(&b))
                // 198.18.0.0/15, benchmarking (RFC 2544).
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                // ::/96 (IPv4-compatible, deprecated), 64:ff9b::/96 NAT64, 2001:db8::/32 documentation.
                || v6.segments()[..6] == [0; 6]
                || (first == 0x64 && v6.segments()[1] == 0xff9b)
                || (first == 0x2001 && v6.segments()[1] == 0x0db8))
        }
    }
}

/// The HTTP client's resolver outside development: resolves with the system resolver and
/// refuses the name when any of its addresses is not public, so the check applies to the
/// addresses the connection is made to.
#[derive(Clone, Debug, Default)]
pub struct GuardedResolver;

/// What the resolver refuses with; reqwest wraps it, [`DiscoveryError`] unwraps it.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {address}, which is not a public address")]
struct RefusedAddress {
    host: String,
    address: IpAddr,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addresses.iter().find(|a| !is_public(a.ip())) {
                return Err(Box::new(RefusedAddress {
                    host,
                    address: bad.ip(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client for shopper-named wallets: no redirects, short timeouts, and outside
/// development the [`GuardedResolver`]. The same client then serves the wallet's PAR, token,
/// JWKS and payments requests.
pub fn http_client(mode: Mode) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(DISCOVERY_CONNECT_TIMEOUT)
        .timeout(DISCOVERY_TIMEOUT * 3);
    match mode {
        Mode::Production => builder.dns_resolver(Arc::new(GuardedResolver)).build(),
        Mode::Development => builder.build(),
    }
}

/// A Saifu wallet's metadata, checked: the RFC 8414 fields the checkout uses, and where shops
/// register.
#[derive(Clone, Debug)]
pub struct WalletMetadata {
    /// The issuer, as the wallet names itself.
    pub issuer: Url,
    pub metadata: AuthorizationServerMetadata,
    pub registration_endpoint: Url,
}

#[derive(Deserialize)]
struct RegistrationField {
    registration_endpoint: Option<String>,
}

/// Fetches `{issuer}/.well-known/oauth-authorization-server` with `http` (build it with
/// [`http_client`]) and checks that it describes a Saifu wallet that takes new shops.
pub async fn discover(
    http: &reqwest::Client,
    issuer: &Url,
    mode: Mode,
) -> Result<WalletMetadata, DiscoveryError> {
    let mut url = issuer.clone();
    url.set_path(METADATA_PATH);
    let shown = url.to_string();
    let unreachable = |e: reqwest::Error| unreachable(&shown, e);
    let response = tokio::time::timeout(
        DISCOVERY_TIMEOUT,
        http.get(url.clone())
            .header(ACCEPT, "application/json")
            .send(),
    )
    .await
    .map_err(|_| DiscoveryError::Unreachable {
        url: shown.clone(),
        reason: "it did not answer in time".into(),
    })?
    .map_err(unreachable)?;
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("(no Location)")
            .chars()
            .take(200)
            .collect();
        return Err(DiscoveryError::Redirect {
            url: shown,
            status: status.as_u16(),
            location,
        });
    }
    if !status.is_success() {
        return Err(DiscoveryError::Status {
            url: shown,
            status: status.as_u16(),
        });
    }
    let body = read_capped(response, &shown).await?;
    check(issuer, &body, mode)
}

pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    shown: &str,
) -> Result<Vec<u8>, DiscoveryError> {
    if response
        .content_length()
        .is_some_and(|l| l > MAX_METADATA_BYTES as u64)
    {
        return Err(DiscoveryError::TooLarge(shown.to_owned()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(shown, e))? {
        if body.len() + chunk.len() > MAX_METADATA_BYTES {
            return Err(DiscoveryError::TooLarge(shown.to_owned()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The resolver's refusal, found in the error's sources, becomes `PrivateAddress`.
pub(crate) fn unreachable(url: &str, error: reqwest::Error) -> DiscoveryError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<RefusedAddress>() {
            return DiscoveryError::PrivateAddress {
                host: refused.host.clone(),
                address: refused.address,
            };
        }
        source = e.source();
    }
    let reason = if error.is_timeout() {
        "it did not answer in time".to_owned()
    } else if error.is_connect() {
        "no connection could be made".to_owned()
    } else {
        // reqwest's message names the URL, which holds no secret here.
        error.without_url().to_string()
    };
    DiscoveryError::Unreachable {
        url: url.to_owned(),
        reason,
    }
}

fn check(issuer: &Url, body: &[u8], mode: Mode) -> Result<WalletMetadata, DiscoveryError> {
    let not_a_wallet = |reason: String| DiscoveryError::NotAWallet(issuer.to_string(), reason);
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| not_a_wallet("its metadata is not JSON".into()))?;
    if !value.is_object() {
        return Err(not_a_wallet("its metadata is not a JSON object".into()));
    }
    // Each required field by name, so the message says which one is missing.
    let obj = value.as_object().expect("checked above");
    for field in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "pushed_authorization_request_endpoint",
        "authorization_details_types_supported",
        "code_challenge_methods_supported",
    ] {
        if obj.get(field).is_none_or(|v| v.is_null()) {
            return Err(not_a_wallet(format!("its metadata has no {field}")));
        }
    }
    if obj.get("require_pushed_authorization_requests") != Some(&serde_json::Value::Bool(true)) {
        return Err(not_a_wallet(
            "its metadata does not set require_pushed_authorization_requests".into(),
        ));
    }
    let metadata: AuthorizationServerMetadata = serde_json::from_value(value.clone())
        .map_err(|e| not_a_wallet(format!("its metadata is malformed: {e}")))?;
    let named = Url::parse(&metadata.issuer).ok();
    if named.as_ref() != Some(issuer) {
        return Err(not_a_wallet(format!(
            "its metadata names the issuer {:?}, not {:?}",
            metadata.issuer.chars().take(200).collect::<String>(),
            issuer.as_str()
        )));
    }
    let lacks = |list: &[String], value: &str| !list.iter().any(|v| v == value);
    if lacks(
        &metadata.authorization_details_types_supported,
        PAYMENT_TYPE,
    ) {
        return Err(not_a_wallet(
            "authorization_details_types_supported lacks \"payment\"".into(),
        ));
    }
    if lacks(&metadata.code_challenge_methods_supported, "S256") {
        return Err(not_a_wallet(
            "code_challenge_methods_supported lacks \"S256\"".into(),
        ));
    }
    for (field, value) in [
        ("authorization_endpoint", &metadata.authorization_endpoint),
        ("token_endpoint", &metadata.token_endpoint),
        (
            "pushed_authorization_request_endpoint",
            &metadata.pushed_authorization_request_endpoint,
        ),
        ("jwks_uri", &metadata.jwks_uri),
    ] {
        check_endpoint(issuer, field, value, mode)?;
    }
    let registration = serde_json::from_value::<RegistrationField>(value)
        .ok()
        .and_then(|r| r.registration_endpoint)
        .ok_or_else(|| DiscoveryError::RegistrationClosed(issuer.to_string()))?;
    let registration_endpoint =
        check_endpoint(issuer, "registration_endpoint", &registration, mode)?;
    Ok(WalletMetadata {
        issuer: issuer.clone(),
        metadata,
        registration_endpoint,
    })
}

/// An endpoint is an absolute URL under the same rules as the wallet address: the shop will
/// send its credentials there.
fn check_endpoint(
    issuer: &Url,
    field: &str,
    value: &str,
    mode: Mode,
) -> Result<Url, DiscoveryError> {
    let bad =
        |why: &str| DiscoveryError::NotAWallet(issuer.to_string(), format!("its {field} {why}"));
    let url = Url::parse(value).map_err(|_| bad("is not a URL"))?;
    match (mode, url.scheme()) {
        (_, "https") => {}
        (Mode::Development, "http") if url.host().as_ref().is_some_and(is_local_host) => {}
        _ => return Err(bad("is not an https URL")),
    }
    if mode == Mode::Production {
        match url.host() {
            Some(Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => {
                return Err(bad("points at a private address"))
            }
            Some(Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => {
                return Err(bad("points at a private address"))
            }
            _ => {}
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests;
