//! Test support shared by every module of the suite (and, for the passkey and the page
//! readers, by the checkout benchmark): the app per test, the browser, the soft passkey and
//! the checkout fixtures.

mod admin;
mod app;
mod browser;
mod disputes;
mod hooks;
mod pages;
mod passkey;
mod shopper;

pub use admin::*;
pub use app::*;
pub use browser::*;
pub use disputes::*;
pub use hooks::*;
pub use pages::*;
pub use passkey::*;
pub use shopper::*;
