//! The `Idempotency-Key` a client sends with a POST, parsed once: 1 to 255 characters.

use crate::error::{Error, Result};

/// A client's idempotency key, as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    /// Parses the header's value; a missing, empty, overlong or non-text key is refused.
    pub fn parse(raw: Option<&str>) -> Result<Self> {
        raw.filter(|k| !k.is_empty() && k.len() <= Self::MAX_LEN)
            .map(|k| Self(k.to_string()))
            .ok_or_else(|| {
                Error::invalid(
                    "idempotency_key_required",
                    "Send an Idempotency-Key header (1 to 255 characters) with every POST.",
                )
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_1_to_255_characters_are_accepted() {
        assert_eq!(IdempotencyKey::parse(Some("k")).unwrap().as_str(), "k");
        let longest = "k".repeat(255);
        assert!(IdempotencyKey::parse(Some(&longest)).is_ok());
    }

    #[test]
    fn a_missing_empty_or_overlong_key_is_refused() {
        for raw in [None, Some(""), Some(&*"k".repeat(256))] {
            let err = IdempotencyKey::parse(raw).unwrap_err();
            assert_eq!(err.code(), "idempotency_key_required");
        }
    }
}
