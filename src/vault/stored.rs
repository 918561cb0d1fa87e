//! A card kept in the vault, as its owner sees it: brand, last four digits, expiry and
//! holder, never the number. The store reads these rows; the pages show them.

use uuid::Uuid;

/// A card as shown to its owner: nothing secret.
#[derive(Clone, Debug)]
pub struct StoredCard {
    pub id: Uuid,
    pub user_id: Uuid,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub holder: String,
    pub is_default: bool,
    pub created_at: i64,
}
