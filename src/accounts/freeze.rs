//! Frozen shoppers: an issuer admin freezes an account (with a reason) and unfreezes it, each
//! change recorded in the audit log in the same transaction; and the look-ups the console
//! finds shoppers with. What a frozen shopper is refused is worded in `refusals`.

use uuid::Uuid;

use super::account::Email;
use super::user::User;
use super::Accounts;
use crate::audit::{Action, Actor, Entry};
use crate::error::{Error, Result};
use crate::store::Refusal;
use crate::text::{code_point, hidden_character};

/// Why an admin froze or unfroze a shopper: 1 to 500 characters, trimmed, none hidden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreezeReason(String);

impl FreezeReason {
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        let invalid =
            |message: String| Error::invalid("invalid_freeze_reason", message).on_field("reason");
        if s.is_empty() {
            return Err(invalid("Give a reason (1 to 500 characters).".into()));
        }
        if s.chars().count() > 500 {
            return Err(invalid("A reason has at most 500 characters.".into()));
        }
        if let Some(c) = hidden_character(s) {
            return Err(invalid(format!(
                "A reason cannot hold the invisible or control character {}.",
                code_point(c)
            )));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn target(user_id: Uuid) -> String {
    format!("shopper:{user_id}")
}

/// Words what the store refused for the admin.
fn refused(err: crate::store::Error) -> Error {
    match err.refusal() {
        Some(Refusal::AlreadyFrozen) => {
            Error::conflict("already_frozen", "This shopper is already frozen.")
        }
        Some(Refusal::NotFrozen) => Error::conflict("not_frozen", "This shopper is not frozen."),
        // An unknown shopper is the store's `NotFound`: 404.
        _ => err.into(),
    }
}

impl Accounts {
    /// Freezes the shopper, recording who did it and why; refused (`already_frozen`) when
    /// they are frozen, and nothing is recorded.
    pub async fn freeze(
        &self,
        user_id: Uuid,
        reason: &FreezeReason,
        by: &Actor,
        now: i64,
    ) -> Result<()> {
        let entry =
            Entry::new(by, Action::ShopperFrozen, target(user_id)).with("reason", reason.as_str());
        self.store
            .freeze_user(user_id, reason.as_str(), now, &entry.record(now))
            .await
            .map_err(refused)?;
        tracing::info!(user_id = %user_id, actor = %by, "shopper frozen");
        Ok(())
    }

    /// Unfreezes the shopper, recording who did it (and why, when given); refused
    /// (`not_frozen`) when they are not frozen, and nothing is recorded.
    pub async fn unfreeze(
        &self,
        user_id: Uuid,
        reason: Option<&FreezeReason>,
        by: &Actor,
        now: i64,
    ) -> Result<()> {
        let mut entry = Entry::new(by, Action::ShopperUnfrozen, target(user_id));
        if let Some(reason) = reason {
            entry = entry.with("reason", reason.as_str());
        }
        self.store
            .unfreeze_user(user_id, now, &entry.record(now))
            .await
            .map_err(refused)?;
        tracing::info!(user_id = %user_id, actor = %by, "shopper unfrozen");
        Ok(())
    }

    /// The shopper with this address, compared as accounts are (in any letter case).
    pub async fn find_by_email(&self, email: &Email) -> Result<Option<User>> {
        Ok(self.store.find_user_by_email(&email.normalized()).await?)
    }

    /// The `limit` newest shoppers, newest first.
    pub async fn newest(&self, limit: i64) -> Result<Vec<User>> {
        Ok(self.store.newest_users(limit).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_trimmed_and_bounded() {
        assert_eq!(
            FreezeReason::parse("  card reported stolen ")
                .unwrap()
                .as_str(),
            "card reported stolen"
        );
        assert!(FreezeReason::parse(&"é".repeat(500)).is_ok());
        for bad in ["", "   ", &"x".repeat(501)] {
            let err = FreezeReason::parse(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_freeze_reason");
            assert_eq!(err.field(), Some("reason"));
        }
    }

    #[test]
    fn a_reason_with_hidden_characters_is_refused() {
        for c in ['\u{202E}', '\u{200B}', '\n', '\0'] {
            let err = FreezeReason::parse(&format!("fraud{c}report")).unwrap_err();
            assert_eq!(err.code(), "invalid_freeze_reason", "{}", code_point(c));
        }
    }
}
