//! What the wallet home and the Activity page show of account recovery (filled in by
//! `account_recovery`), apart so that the page templates need not import the handlers.

/// The recovery part of the wallet home.
#[derive(Default)]
pub struct HomeRecovery {
    /// The first codes, shown once right after sign-up.
    pub codes: Vec<String>,
    /// The shopper has no recovery codes.
    pub missing: bool,
    /// When recoveries were cancelled by the shopper's passkey sign-ins.
    pub cancelled: Vec<String>,
}

/// One line of the Activity page's "Account security" list.
pub struct SecurityLine {
    pub what: String,
    pub when: String,
}
