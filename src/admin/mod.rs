//! The issuer's admins: their accounts (separate from shoppers), roles, one-time invitations
//! and passkeys. `role` says what each role may do; `identity` runs invitations and the
//! passkey ceremonies.

pub mod account;
pub mod dashboard;
pub mod identity;
pub mod role;
mod signin;

pub use self::account::Admin;
pub use self::identity::{Admins, Invitation};
pub use self::role::{Permission, Role, ROLES};
