//! The checkout flow, per DESIGN.md, one module per step: a merchant pushes an authorization
//! request (`pushed`: PAR + PKCE + payment details); the shopper sees the wallet's consent page
//! (`consent`) and approves with a passkey assertion whose challenge is derived from the exact
//! payment (`approval`); the merchant exchanges the one-time code for a signed payment grant
//! (`token`), which the payments API verifies (`grant`).

pub mod approval;
pub mod card_authorization;
mod challenge;
pub mod consent;
pub mod details;
pub mod failure;
mod grant;
pub mod one_touch;
pub mod pkce;
pub mod pushed;
mod shipping;
pub mod signing;
pub mod standing;
pub mod token;

use std::sync::Arc;

use saifu_sdk::checkout::PaymentDetails;
use url::Url;

use self::details::PaymentRequest;
use self::signing::GrantSigner;
use crate::accounts::Accounts;
use crate::error::{Error, Kind, Result};
use crate::keys::FingerprintKey;
use crate::merchants::Merchants;
use crate::points::Programmes;
use crate::risk::Risk;
use crate::shops::Shops;
use crate::store::checkout::Pushed;
use crate::store::Store;
use crate::vault::Vault;

/// Lifetimes, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    /// A pushed request, and the consent made from it (at most 600).
    pub request: i64,
    /// An authorization code (at most 60).
    pub code: i64,
    /// A payment grant (at most 600).
    pub grant: i64,
    /// How long a node holds a card authorization it started at an approval before the
    /// reconciler may release it.
    pub in_flight_lease: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            request: 600,
            code: 60,
            grant: 600,
            in_flight_lease: 30,
        }
    }
}

/// What a [`Checkout`] is built from.
pub struct CheckoutParts {
    pub store: Store,
    pub merchants: Merchants,
    pub signer: GrantSigner,
    pub accounts: Accounts,
    pub vault: Vault,
    /// Derives the pairwise subject (`sub`) of each grant.
    pub subjects: Arc<FingerprintKey>,
    /// The issuer identifier; the payments audience is its origin's `/v1/payments`.
    pub issuer: Url,
    pub lifetimes: Lifetimes,
    /// The points programme: its version in force, and the merchants' campaigns.
    pub programmes: Programmes,
    /// The issuer's risk limits, checked at the consent and counted at the approval.
    pub risk: Risk,
}

/// The checkout service: a shared handle (cloned for every request that takes it), its parts
/// behind one `Arc`.
#[derive(Clone)]
pub struct Checkout(Arc<CheckoutInner>);

impl std::ops::Deref for Checkout {
    type Target = CheckoutInner;

    fn deref(&self) -> &CheckoutInner {
        &self.0
    }
}

/// What a [`Checkout`] holds.
pub struct CheckoutInner {
    store: Store,
    pub merchants: Merchants,
    pub signer: GrantSigner,
    accounts: Accounts,
    vault: Vault,
    subjects: Arc<FingerprintKey>,
    issuer: Url,
    audience: String,
    lifetimes: Lifetimes,
    pub programmes: Programmes,
    pub risk: Risk,
    /// The shopper's connected shops: their blocks and monthly caps.
    pub shops: Shops,
}

impl Checkout {
    pub fn new(parts: CheckoutParts) -> Self {
        let audience = format!(
            "{}/v1/payments",
            parts.issuer.origin().ascii_serialization()
        );
        Self(Arc::new(CheckoutInner {
            store: parts.store.clone(),
            merchants: parts.merchants,
            signer: parts.signer,
            accounts: parts.accounts,
            vault: parts.vault,
            subjects: parts.subjects,
            issuer: parts.issuer,
            audience,
            lifetimes: parts.lifetimes,
            programmes: parts.programmes,
            risk: parts.risk,
            shops: Shops::new(parts.store.clone()),
        }))
    }

    /// The issuer identifier, as in discovery and in `iss` parameters and claims.
    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    /// The issuer identifier as a URL, the base of the endpoints discovery names.
    pub fn issuer_url(&self) -> &Url {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Whether cards are charged by the simulated processor (no money moves).
    pub fn test_mode(&self) -> bool {
        self.vault.processor().test_mode()
    }

    /// The merchant's redirect URI for this request, with `params` and our `iss` added.
    fn back_to_merchant(&self, pushed: &Pushed, params: &[(&str, &str)]) -> Result<Url> {
        let mut redirect = Url::parse(&pushed.redirect_uri).map_err(Error::internal)?;
        {
            let mut query = redirect.query_pairs_mut();
            for (name, value) in params {
                query.append_pair(name, value);
            }
            query
                .append_pair("state", &pushed.state)
                .append_pair("iss", self.issuer());
        }
        Ok(redirect)
    }
}

fn suspended() -> Error {
    Error::new(
        Kind::Forbidden,
        "merchant_suspended",
        "Saifu has suspended this shop. Payments to it are not possible.",
    )
}

fn consent_closed() -> Error {
    Error::conflict(
        "consent_closed",
        "This payment was already approved or cancelled.",
    )
}

fn stored_payment(details_json: &str) -> Result<PaymentRequest> {
    let details: Vec<PaymentDetails> = serde_json::from_str(details_json)?;
    let first = details
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal(anyhow::anyhow!("stored details are empty")))?;
    PaymentRequest::from_details(first)
        .map_err(|e| Error::internal(anyhow::anyhow!("stored details no longer parse: {e}")))
}
