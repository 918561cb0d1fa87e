//! The wallet's rules, free of HTTP and SQL: parsed input types and the services that apply
//! the rules, calling the store for persistence.

pub mod account;
pub mod accounts;
pub mod ceremony;
pub mod money;
pub mod return_to;
pub mod secrets;
