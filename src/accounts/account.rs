//! Parsed account inputs: an email address, a display name, a passkey name.

use crate::error::{Error, Result};

/// An email address, trimmed, as typed; compared and stored unique in lower case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        let invalid = || {
            Error::invalid(
                "invalid_email",
                "Enter an email address like name@example.com.",
            )
            .on_field("email")
        };
        if s.is_empty() || s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || local.len() > 64
            || local.contains('@')
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || domain.contains(['[', ']', '(', ')', '<', '>', ',', ';', ':', '"', '\\'])
        {
            return Err(invalid());
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// The name a shopper is greeted by: 1 to 100 characters, trimmed, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Error::invalid(
                "invalid_display_name",
                "Enter the name we should greet you by.",
            )
            .on_field("display_name"));
        }
        if s.chars().count() > 100 || s.chars().any(char::is_control) {
            return Err(Error::invalid(
                "invalid_display_name",
                "A display name has at most 100 characters and no control characters.",
            )
            .on_field("display_name"));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A label for a passkey: 1 to 64 characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
            return Err(Error::invalid(
                "invalid_passkey_name",
                "A passkey name has 1 to 64 characters.",
            )
            .on_field("name"));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_normalized_to_lower_case() {
        let e = Email::parse("  Alice.Smith@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Alice.Smith@Example.COM");
        assert_eq!(e.normalized(), "alice.smith@example.com");
    }

    #[test]
    fn malformed_emails_are_refused_with_a_field_error() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "alice@.com",
            "alice@example..com",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_email", "{bad}");
            assert_eq!(err.field(), Some("email"));
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn display_name_limits() {
        assert_eq!(DisplayName::parse("  Hanako ").unwrap().as_str(), "Hanako");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
        assert!(DisplayName::parse("a\u{0007}b").is_err());
    }

    #[test]
    fn passkey_name_limits() {
        assert!(PasskeyName::parse("Laptop").is_ok());
        assert!(PasskeyName::parse("").is_err());
        assert!(PasskeyName::parse(&"x".repeat(65)).is_err());
    }
}
