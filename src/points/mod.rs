//! Points: how they are earned, held, redeemed, given back and expired. `policy` holds the
//! arithmetic, `ledger` the typed vocabulary (accounts, entry kinds, hold states, postings),
//! `rules` the pure decisions the store applies, `programme` and `campaign` the issuer's
//! versioned rules and merchants' campaigns, `programmes` the service that keeps them,
//! `service` what the pages and the janitor use, and `statement` and `statements` the
//! merchants' monthly statements.

pub mod campaign;
pub mod ledger;
pub mod lots;
pub mod policy;
pub mod programme;
pub mod programmes;
pub mod rules;
pub mod service;
pub mod statement;
pub mod statements;

pub use campaign::{Campaign, CampaignForm, CampaignState, NewCampaign};
pub use ledger::{EntryKind, HoldState, PointsRefusal};
pub use policy::PointsPolicy;
pub use programme::{Programme, ProgrammeForm, ProgrammeRules, RedemptionRefusal};
pub use programmes::Programmes;
pub use rules::Rules;
pub use service::{refused, PointsService, PointsView};
pub use statement::{Statement, StatementLine, StatementMonth};
pub use statements::Statements;
