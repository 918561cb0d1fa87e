//! A shopper's account as the wallet keeps it: no rules and no words, so that the store can
//! return it and every layer can carry it.

use uuid::Uuid;

/// A shopper's account.
#[derive(Clone, Debug)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub created_at: i64,
}
