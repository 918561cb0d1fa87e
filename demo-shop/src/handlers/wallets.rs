//! "Which wallet do you use?": the checkout's optional wallet address, the client of the wallet
//! each order went to, and the webhooks of the wallets the shop registered itself at.
//!
//! An empty address is the shop's default wallet, where it was registered by hand. Any other
//! address goes through the SDK's [`Wallets`]: discovered, checked, and registered at on first
//! use. The shop remembers which wallet each order went to, so the callback, the payment, the
//! refund and the webhooks use that wallet's client and registration.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use saifu_sdk::{wallet_key, DiscoveryError, Error, SaifuClient, Url, WebhookSecret};
use secrecy::ExposeSecret;

use crate::i18n::Tr;
use crate::Shop;

/// Orders and wallet keys remembered; the oldest are forgotten first.
const MAX_REMEMBERED: usize = 10_000;

/// The form field of the cart's checkout form.
pub(crate) const WALLET_FIELD: &str = "wallet";

/// The shop's other wallets: the SDK's registry, and which wallet each order went to.
pub(crate) struct ShopWallets {
    pub(crate) wallets: saifu_sdk::Wallets,
    memory: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    /// Order reference → the issuer of the wallet it went to (absent: the default wallet).
    orders: HashMap<String, Url>,
    order_queue: VecDeque<String>,
    /// Wallet key (the webhook path segment) → issuer.
    keys: HashMap<String, Url>,
}

impl ShopWallets {
    pub(crate) fn new(wallets: saifu_sdk::Wallets) -> Self {
        Self {
            wallets,
            memory: Mutex::default(),
        }
    }

    fn memory(&self) -> MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, reference: &str, issuer: &Url) {
        let mut memory = self.memory();
        if memory.order_queue.len() >= MAX_REMEMBERED {
            if let Some(oldest) = memory.order_queue.pop_front() {
                memory.orders.remove(&oldest);
            }
        }
        memory.order_queue.push_back(reference.to_owned());
        memory.orders.insert(reference.to_owned(), issuer.clone());
        if memory.keys.len() < MAX_REMEMBERED {
            memory.keys.insert(wallet_key(issuer), issuer.clone());
        }
    }
}

/// The wallet address in the checkout form's body (`wallet=…`), trimmed; empty when absent.
pub(crate) fn wallet_field(body: &Bytes) -> String {
    url::form_urlencoded::parse(body)
        .find(|(name, _)| name == WALLET_FIELD)
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default()
}

impl Shop {
    /// Whether the cart asks "Which wallet do you use?".
    pub(crate) fn has_wallet_chooser(&self) -> bool {
        self.0.wallets.is_some()
    }

    /// The client for a new checkout at the wallet the shopper named (the default wallet when
    /// `address` is empty), remembered for the order `reference`; or the page saying why that
    /// wallet cannot be used.
    pub(crate) async fn client_for_checkout(
        &self,
        session: &str,
        address: &str,
        reference: &str,
    ) -> Result<Arc<SaifuClient>, Response> {
        let Some(wallets) = self.0.wallets.as_ref().filter(|_| !address.is_empty()) else {
            return Ok(self.0.client.clone());
        };
        let refused = |err: &DiscoveryError| {
            tracing::info!(error = %err, "a shopper's wallet could not be used");
            let tr = Tr::current();
            self.message(
                StatusCode::BAD_REQUEST,
                Some(session),
                &tr.t("shop-wallet-refused-title"),
                &tr.args(
                    "shop-wallet-refused",
                    [("address", address), ("reason", err.to_string().as_str())],
                ),
                self.back_to_cart(),
            )
        };
        let issuer = wallets.wallets.resolve(address).map_err(|e| refused(&e))?;
        if issuer.as_str() == self.0.client.metadata().issuer {
            return Ok(self.0.client.clone());
        }
        let client = wallets
            .wallets
            .connect_issuer(&issuer)
            .await
            .map_err(|e| refused(&e))?;
        wallets.remember(reference, &issuer);
        Ok(client)
    }

    /// The client of the wallet the order `reference` went to.
    pub(crate) async fn client_for(&self, reference: &str) -> Result<Arc<SaifuClient>, Error> {
        let Some(wallets) = &self.0.wallets else {
            return Ok(self.0.client.clone());
        };
        let issuer = wallets.memory().orders.get(reference).cloned();
        let Some(issuer) = issuer else {
            return Ok(self.0.client.clone());
        };
        wallets.wallets.connect_issuer(&issuer).await.map_err(|e| {
            tracing::warn!(error = %e, wallet = %issuer, "the order's wallet could not be reached");
            match e {
                DiscoveryError::Client(e) => e,
                // Counted as the wallet failing, so the shopper may try again later.
                _ => Error::UnexpectedStatus(502),
            }
        })
    }
}

/// `POST /webhooks/saifu/{wallet}`: webhooks of a wallet the shop registered itself at,
/// verified with that registration's secret.
pub(super) async fn webhook(
    State(shop): State<Shop>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let secret = shop.0.wallets.as_ref().and_then(|wallets| {
        let issuer = wallets.memory().keys.get(&key).cloned()?;
        let registration = wallets.wallets.registration(&issuer).ok()??;
        WebhookSecret::parse(registration.webhook_secret?.expose_secret()).ok()
    });
    match secret {
        Some(secret) => super::webhook::receive(&shop, &secret, headers, body).await,
        None => shop.not_found(None).into_response(),
    }
}
