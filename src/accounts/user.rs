//! A shopper's account as the wallet keeps it: no rules and no words, so that the store can
//! return it and every layer can carry it.

use uuid::Uuid;

/// The key of a browser session's data that holds the signed-in shopper's id (a UUID). The
/// session store keeps it in a column of its own too, to read the shopper with the session.
pub const SESSION_USER_KEY: &str = "user_id";

/// A shopper's account.
#[derive(Clone, Debug)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub created_at: i64,
    /// Set while an issuer admin has frozen the account.
    pub frozen: Option<Frozen>,
    /// Raised by each account recovery: a session signed in under an older epoch has ended.
    pub session_epoch: i64,
}

/// When and why the account was frozen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frozen {
    pub at: i64,
    pub reason: String,
}

impl User {
    pub fn is_frozen(&self) -> bool {
        self.frozen.is_some()
    }
}
