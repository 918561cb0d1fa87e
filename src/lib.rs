//! Saifu, a personal commerce wallet. `Application::build` assembles exactly what production
//! runs, so tests and the CLI start the same server.

pub mod accounts;
pub mod addresses;
pub mod admin;
mod app;
pub mod audit;
pub mod card;
pub mod checkout;
pub mod cli;
pub mod clock;
pub mod config;
pub mod disputes;
pub mod error;
pub mod http;
pub mod i18n;
pub mod idempotency;
pub mod keys;
pub mod merchants;
pub mod money;
pub mod payments;
pub mod points;
pub mod processor;
pub mod receipts;
pub mod recovery;
pub mod registration;
pub mod risk;
pub mod secrets;
pub mod shops;
mod state;
pub mod store;
pub mod text;
pub mod vault;
pub mod webhooks;

pub use app::{init_tracing, shutdown_signal, Application};
pub use state::{key_settings, open_store, points_first_run, webhook_settings, AppState};
