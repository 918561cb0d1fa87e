//! Saifu merchant SDK: the merchant's server side of a Saifu checkout, and the wire types that
//! the Saifu server shares with its clients, so that the two cannot drift apart.
//!
//! - [`SaifuClient`]: one wallet, configured by hand ([`MerchantConfig`]): PAR with PKCE, the
//!   callback, grant verification, the payments API.
//! - [`Wallets`]: any Saifu wallet a shopper names (`wallet.example.jp`,
//!   `name@wallet.example.jp`): [`discovery`] resolves and checks it (https only, no redirects,
//!   no private addresses outside [`Mode::Development`]), the shop registers itself there on
//!   first use (RFC 7591) and keeps the registration in a [`RegistrationStore`]
//!   ([`MemoryRegistrations`], [`FileRegistrations`]); `update` and `delete` manage it
//!   (RFC 7592).
//! - [`verify_webhook`] and [`verify_receipt`]: what the wallet signs.

pub mod checkout;
pub mod client;
pub mod discovery;
pub mod disputes;
pub mod payments;
pub mod points;
pub mod problem;
pub mod receipts;
pub mod registrations;
pub mod wallets;
pub mod webhooks;

pub use checkout::{Amount, GrantClaims, LineItem, PaymentDetails, TokenResponse};
pub use client::{
    pkce_challenge, random_token, Error, Grant, MerchantConfig, PendingCheckout, SaifuClient,
};
pub use discovery::{DiscoveryError, Mode};
pub use disputes::{Dispute, DisputeAnswer, DisputeEvidence};
pub use payments::{CreatePayment, Payment};
pub use points::{PointsStatement, PointsStatementLine};
pub use problem::Problem;
pub use receipts::{verify_receipt, ReceiptClaims, ReceiptError};
pub use registrations::{
    FileRegistrations, MemoryRegistrations, Registration, RegistrationStore, StoreError,
};
/// The types `MerchantConfig` is built from, so that merchants need not depend on them.
pub use secrecy::SecretString;
pub use url::Url;
pub use wallets::{wallet_key, ShopMetadata, Wallets};
pub use webhooks::{verify_webhook, Event, WebhookSecret};
