//! Points: how they are earned, held, redeemed, given back and expired. `policy` holds the
//! arithmetic, `ledger` the typed vocabulary (accounts, entry kinds, hold states, postings),
//! `rules` the pure decisions the store applies, and `service` what the pages and the janitor use.

pub mod ledger;
pub mod policy;
pub mod rules;
pub mod service;

pub use ledger::{EntryKind, HoldState, PointsRefusal};
pub use policy::PointsPolicy;
pub use rules::Rules;
pub use service::{refused, PointsService, PointsView};
