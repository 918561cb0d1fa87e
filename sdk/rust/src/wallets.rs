//! Accepting any Saifu wallet: [`Wallets`] turns the wallet address a shopper types into a
//! ready [`SaifuClient`], registering the shop there (RFC 7591) the first time and reusing the
//! stored registration afterwards; it also updates and deletes a registration (RFC 7592).
//!
//! ```no_run
//! # async fn example() -> Result<(), saifu_sdk::DiscoveryError> {
//! use std::sync::Arc;
//! use saifu_sdk::{FileRegistrations, ShopMetadata, Url, Wallets};
//!
//! let shop = ShopMetadata::new(
//!     "Kissa Tanuki",
//!     Url::parse("https://shop.example/callback").unwrap(),
//! );
//! let wallets = Wallets::new(shop, Arc::new(FileRegistrations::new("registrations.json")))?;
//! let client = wallets.connect("alice@wallet.example.jp").await?;
//! // client.start_checkout(&payment) …, exactly as with a wallet configured by hand.
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use reqwest::header::{ACCEPT, AUTHORIZATION};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::checkout::OAuthErrorBody;
use crate::client::{MerchantConfig, SaifuClient};
use crate::discovery::{self, read_capped, unreachable, DiscoveryError, Mode, WalletMetadata};
use crate::registrations::{Registration, RegistrationStore};

/// What the shop tells every wallet it registers at (RFC 7591 client metadata).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopMetadata {
    /// Shown to shoppers on the wallet's consent page.
    pub client_name: String,
    /// The first is the redirect URI the checkout uses.
    pub redirect_uris: Vec<Url>,
    pub client_uri: Option<Url>,
    pub logo_uri: Option<Url>,
    /// Where the wallet sends this shop's signed webhooks (a Saifu extension); the wallet
    /// answers the registration with the webhook secret. A `{wallet}` in it is replaced with
    /// the wallet's [`wallet_key`], so that each wallet's webhooks arrive at a path of their own
    /// and are verified with that registration's secret.
    pub webhook_url: Option<Url>,
}

impl ShopMetadata {
    pub fn new(client_name: impl Into<String>, redirect_uri: Url) -> Self {
        Self {
            client_name: client_name.into(),
            redirect_uris: vec![redirect_uri],
            client_uri: None,
            logo_uri: None,
            webhook_url: None,
        }
    }
}

#[derive(Serialize)]
struct RegistrationRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    client_name: &'a str,
    redirect_uris: &'a [Url],
    token_endpoint_auth_method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_uri: Option<&'a Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logo_uri: Option<&'a Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<Url>,
}

/// A short name for a wallet, made of its host and port, usable as a URL path segment:
/// `https://wallet.example.jp/` → `wallet.example.jp`, `http://localhost:8081/` →
/// `localhost-8081`.
pub fn wallet_key(issuer: &Url) -> String {
    let host = issuer.host_str().unwrap_or_default();
    let mut key: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if let Some(port) = issuer.port() {
        key.push_str(&format!("-{port}"));
    }
    key
}

/// The shop's webhook URL for one wallet: `{wallet}` replaced (see [`ShopMetadata::webhook_url`]).
fn webhook_url_for(template: &Url, issuer: &Url) -> Option<Url> {
    let key = wallet_key(issuer);
    let text = template
        .as_str()
        .replace("%7Bwallet%7D", &key)
        .replace("{wallet}", &key);
    Url::parse(&text).ok()
}

impl<'a> RegistrationRequest<'a> {
    fn new(shop: &'a ShopMetadata, client_id: Option<&'a str>) -> Self {
        Self {
            client_id,
            client_name: &shop.client_name,
            redirect_uris: &shop.redirect_uris,
            token_endpoint_auth_method: "client_secret_basic",
            client_uri: shop.client_uri.as_ref(),
            logo_uri: shop.logo_uri.as_ref(),
            webhook_url: None,
        }
    }

    fn for_wallet(mut self, shop: &ShopMetadata, issuer: &Url) -> Self {
        self.webhook_url = shop
            .webhook_url
            .as_ref()
            .and_then(|t| webhook_url_for(t, issuer));
        self
    }
}

/// `201` of `POST /oauth/register` and `200` of RFC 7592 `PUT`/`GET` (these without secrets).
#[derive(Deserialize)]
struct RegistrationResponse {
    client_id: String,
    client_secret: Option<String>,
    registration_access_token: Option<String>,
    registration_client_uri: Option<Url>,
    webhook_secret: Option<String>,
    saifu_status: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<Url>,
}

/// The shop's gateway to every wallet its shoppers name. Build one per shop and share it
/// (it is cheap to clone); it caches one [`SaifuClient`] per wallet.
#[derive(Clone)]
pub struct Wallets(Arc<Inner>);

struct Inner {
    shop: ShopMetadata,
    store: Arc<dyn RegistrationStore>,
    mode: Mode,
    http: reqwest::Client,
    /// Issuer → client.
    clients: std::sync::Mutex<HashMap<String, Arc<SaifuClient>>>,
    /// Issuer → the lock held across that wallet's discovery, registration, update or delete,
    /// so that two checkouts at a new wallet at once register the shop there once, and a slow
    /// wallet holds up no other.
    busy: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Inner {
    fn cached(&self, issuer: &Url) -> Option<Arc<SaifuClient>> {
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(issuer.as_str())
            .cloned()
    }

    fn forget(&self, issuer: &Url) {
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(issuer.as_str());
    }

    /// Waits for the issuer's lock; the entry goes when its last holder is done, so addresses
    /// shoppers typed once do not pile up.
    async fn busy(&self, issuer: &Url) -> Busy<'_> {
        let lock = self
            .busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(issuer.to_string())
            .or_default()
            .clone();
        Busy {
            inner: self,
            issuer: issuer.to_string(),
            guard: Some(lock.lock_owned().await),
        }
    }
}

struct Busy<'a> {
    inner: &'a Inner,
    issuer: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut busy = self
            .inner
            .busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if busy
            .get(&self.issuer)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            busy.remove(&self.issuer);
        }
    }
}

impl fmt::Debug for Wallets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wallets")
            .field("shop", &self.0.shop)
            .field("mode", &self.0.mode)
            .finish_non_exhaustive()
    }
}

impl Wallets {
    /// Wallets on the public internet only, over https.
    pub fn new(
        shop: ShopMetadata,
        store: Arc<dyn RegistrationStore>,
    ) -> Result<Self, DiscoveryError> {
        Self::with_mode(shop, store, Mode::Production)
    }

    /// [`Mode::Development`] also reaches `http://localhost:PORT` wallets; never use it in
    /// production, since it lets shoppers point the shop at addresses on its own network.
    pub fn with_mode(
        shop: ShopMetadata,
        store: Arc<dyn RegistrationStore>,
        mode: Mode,
    ) -> Result<Self, DiscoveryError> {
        if shop.redirect_uris.is_empty() {
            return Err(DiscoveryError::Client(crate::client::Error::Config(
                "the shop needs at least one redirect URI".into(),
            )));
        }
        let http = discovery::http_client(mode).map_err(crate::client::Error::Http)?;
        Ok(Self(Arc::new(Inner {
            shop,
            store,
            mode,
            http,
            clients: std::sync::Mutex::default(),
            busy: std::sync::Mutex::default(),
        })))
    }

    pub fn mode(&self) -> Mode {
        self.0.mode
    }

    pub fn shop(&self) -> &ShopMetadata {
        &self.0.shop
    }

    /// The issuer of a wallet address, without contacting it.
    pub fn resolve(&self, address: &str) -> Result<Url, DiscoveryError> {
        discovery::resolve_address(address, self.0.mode)
    }

    /// A ready client for the wallet at `address` (see [`discovery::resolve_address`]): the
    /// wallet's metadata is fetched and checked, and the shop registered there unless the
    /// store already holds a registration for it.
    pub async fn connect(&self, address: &str) -> Result<Arc<SaifuClient>, DiscoveryError> {
        let issuer = self.resolve(address)?;
        self.connect_issuer(&issuer).await
    }

    /// Same as [`connect`](Self::connect), with an issuer resolved before (an order's, say).
    pub async fn connect_issuer(&self, issuer: &Url) -> Result<Arc<SaifuClient>, DiscoveryError> {
        if let Some(client) = self.0.cached(issuer) {
            return Ok(client);
        }
        let _busy = self.0.busy(issuer).await;
        // Another checkout may have connected meanwhile.
        if let Some(client) = self.0.cached(issuer) {
            return Ok(client);
        }
        let wallet = discovery::discover(&self.0.http, issuer, self.0.mode).await?;
        let registration = match self.0.store.get(issuer)? {
            Some(registration) => registration,
            None => {
                let registration = self.register(&wallet).await?;
                self.0.store.put(&registration)?;
                registration
            }
        };
        let client = Arc::new(self.client(wallet, &registration)?);
        self.0
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(issuer.to_string(), client.clone());
        Ok(client)
    }

    /// The stored registration at `issuer`, if any (for its webhook secret, for instance).
    pub fn registration(&self, issuer: &Url) -> Result<Option<Registration>, DiscoveryError> {
        Ok(self.0.store.get(issuer)?)
    }

    /// Sends the shop's current metadata to the wallet (RFC 7592 `PUT`) and stores what it
    /// answers; the client secret and webhook secret stay as they were.
    pub async fn update(&self, issuer: &Url) -> Result<Registration, DiscoveryError> {
        let _busy = self.0.busy(issuer).await;
        let mut registration = self.stored(issuer)?;
        let body = RegistrationRequest::new(&self.0.shop, Some(&registration.client_id))
            .for_wallet(&self.0.shop, issuer);
        let response = self
            .0
            .http
            .put(registration.registration_client_uri.clone())
            .header(ACCEPT, "application/json")
            .header(
                AUTHORIZATION,
                bearer(&registration.registration_access_token),
            )
            .json(&body)
            .send()
            .await
            .map_err(|e| unreachable(registration.registration_client_uri.as_str(), e))?;
        let answer = self.answer(issuer, response, 200).await?;
        registration.status = answer.saifu_status.unwrap_or(registration.status);
        registration.redirect_uris = if answer.redirect_uris.is_empty() {
            self.0.shop.redirect_uris.clone()
        } else {
            answer.redirect_uris
        };
        self.0.store.put(&registration)?;
        self.0.forget(issuer);
        Ok(registration)
    }

    /// Deletes the shop's registration at `issuer` (RFC 7592 `DELETE`) and forgets it; the
    /// next [`connect`](Self::connect) there registers anew.
    pub async fn delete(&self, issuer: &Url) -> Result<(), DiscoveryError> {
        let _busy = self.0.busy(issuer).await;
        let registration = self.stored(issuer)?;
        let response = self
            .0
            .http
            .delete(registration.registration_client_uri.clone())
            .header(
                AUTHORIZATION,
                bearer(&registration.registration_access_token),
            )
            .send()
            .await
            .map_err(|e| unreachable(registration.registration_client_uri.as_str(), e))?;
        let status = response.status().as_u16();
        // Only a 204 says the registration is gone; anything else is reported and the
        // registration kept.
        if status != 204 {
            return Err(self.refusal(issuer, response).await);
        }
        self.0.store.remove(issuer)?;
        self.0.forget(issuer);
        Ok(())
    }

    fn stored(&self, issuer: &Url) -> Result<Registration, DiscoveryError> {
        self.0.store.get(issuer)?.ok_or_else(|| {
            DiscoveryError::BadRegistration(
                issuer.to_string(),
                "the shop has no registration there".into(),
            )
        })
    }

    async fn register(&self, wallet: &WalletMetadata) -> Result<Registration, DiscoveryError> {
        let issuer = &wallet.issuer;
        let response = self
            .0
            .http
            .post(wallet.registration_endpoint.clone())
            .header(ACCEPT, "application/json")
            .json(&RegistrationRequest::new(&self.0.shop, None).for_wallet(&self.0.shop, issuer))
            .send()
            .await
            .map_err(|e| unreachable(wallet.registration_endpoint.as_str(), e))?;
        let answer = self.answer(issuer, response, 201).await?;
        let bad = |why: &str| DiscoveryError::BadRegistration(issuer.to_string(), why.into());
        let registration_client_uri = answer
            .registration_client_uri
            .ok_or_else(|| bad("no registration_client_uri"))?;
        if registration_client_uri.origin() != wallet.registration_endpoint.origin() {
            return Err(bad("its registration_client_uri is on another origin"));
        }
        Ok(Registration {
            issuer: issuer.clone(),
            client_id: answer.client_id,
            client_secret: answer
                .client_secret
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad("no client_secret"))?
                .into(),
            registration_access_token: answer
                .registration_access_token
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad("no registration_access_token"))?
                .into(),
            registration_client_uri,
            webhook_secret: answer.webhook_secret.map(Into::into),
            status: answer.saifu_status.unwrap_or_else(|| "pending".into()),
            redirect_uris: self.0.shop.redirect_uris.clone(),
        })
    }

    /// The body of a registration answer with the expected status, else the refusal.
    async fn answer(
        &self,
        issuer: &Url,
        response: reqwest::Response,
        expected: u16,
    ) -> Result<RegistrationResponse, DiscoveryError> {
        if response.status().as_u16() != expected {
            return Err(self.refusal(issuer, response).await);
        }
        let shown = issuer.to_string();
        let body = read_capped(response, &shown).await?;
        serde_json::from_slice(&body).map_err(|e| {
            DiscoveryError::BadRegistration(shown, format!("it is not an RFC 7591 answer: {e}"))
        })
    }

    async fn refusal(&self, issuer: &Url, response: reqwest::Response) -> DiscoveryError {
        let status = response.status().as_u16();
        let shown = issuer.to_string();
        let body = read_capped(response, &shown).await.unwrap_or_default();
        match serde_json::from_slice::<OAuthErrorBody>(&body) {
            Ok(body) => DiscoveryError::Registration {
                issuer: shown,
                status,
                error: body.error.chars().take(100).collect(),
                description: body
                    .error_description
                    .map(|d| d.chars().take(300).collect()),
            },
            Err(_) => DiscoveryError::Registration {
                issuer: shown,
                status,
                error: "unexpected_answer".into(),
                description: None,
            },
        }
    }

    fn client(
        &self,
        wallet: WalletMetadata,
        registration: &Registration,
    ) -> Result<SaifuClient, DiscoveryError> {
        let config = MerchantConfig::new(
            wallet.issuer,
            registration.client_id.clone(),
            registration.client_secret.clone(),
            self.0.shop.redirect_uris[0].clone(),
        );
        Ok(SaifuClient::from_metadata(
            self.0.http.clone(),
            config,
            wallet.metadata,
        )?)
    }
}

fn bearer(token: &SecretString) -> reqwest::header::HeaderValue {
    let mut value =
        reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("Bearer invalid"));
    value.set_sensitive(true);
    value
}
