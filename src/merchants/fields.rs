//! What an issuer types about a merchant, parsed once: the shown name and domain, redirect
//! URIs, an edit of them with the webhook URL, and the reason behind a vetting status. Text
//! the consent page or the merchant will show is refused if it hides characters.

use url::Url;

use crate::error::{Error, Kind, Result};
use crate::text::{code_point, hidden_character};

/// A redirect URI a merchant may register: absolute, no fragment or credentials, and https
/// (plain http only for loopback development hosts).
pub fn parse_redirect_uri(raw: &str) -> std::result::Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("{raw:?} is not an absolute URL: {e}"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(format!("{raw:?} must use https (http only for localhost)")),
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{raw:?} must have no fragment and no credentials"));
    }
    Ok(url)
}

/// Refuses a name or domain the consent page would show with a control or format character
/// in it (a bidi override can make "Frame Shop" read as another shop's name).
pub(super) fn shown_text(code: &'static str, what: &str, text: &str) -> Result<()> {
    match hidden_character(text) {
        Some(c) => Err(Error::invalid(
            code,
            format!(
                "{what} contains {}, a control or invisible formatting character; such characters are not allowed.",
                code_point(c)
            ),
        )),
        None => Ok(()),
    }
}

/// The most characters a merchant's name holds.
const MAX_NAME_CHARS: usize = 100;
/// The longest DNS name.
const MAX_DOMAIN_CHARS: usize = 253;

/// A merchant's name as the consent page shows it: trimmed, 1 to 100 characters, nothing
/// hidden in it.
pub(super) fn merchant_name(raw: &str) -> Result<&str> {
    let name = raw.trim();
    shown_text("invalid_merchant_name", "The merchant name", name)?;
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(
            "invalid_merchant_name",
            "A merchant name has 1 to 100 characters.",
        ));
    }
    Ok(name)
}

/// A merchant's domain as the consent page shows it: lower case, no spaces, nothing hidden.
fn merchant_domain(raw: &str) -> Result<String> {
    let domain = raw.trim().to_ascii_lowercase();
    shown_text("invalid_domain", "The merchant domain", &domain)?;
    if domain.is_empty()
        || domain.chars().count() > MAX_DOMAIN_CHARS
        || domain.contains(char::is_whitespace)
        || domain.contains('/')
    {
        return Err(Error::invalid(
            "invalid_domain",
            "A domain is a host name such as shop.example, without spaces or a path.",
        ));
    }
    Ok(domain)
}

/// What an issuer may change about a merchant, parsed.
#[derive(Clone, Debug)]
pub struct MerchantEdit {
    pub name: String,
    pub domain: String,
    /// At least one, without duplicates, in the order given.
    pub redirect_uris: Vec<Url>,
    pub webhook_url: Option<Url>,
}

impl MerchantEdit {
    /// Parses an edit form: the redirect URIs one per line, a blank domain meaning the first
    /// redirect URI's host, a blank webhook URL meaning none.
    pub fn parse(name: &str, domain: &str, redirect_uris: &str, webhook_url: &str) -> Result<Self> {
        let name = merchant_name(name)?.to_string();
        let mut uris: Vec<Url> = Vec::new();
        for line in redirect_uris
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let uri = parse_redirect_uri(line)
                .map_err(|e| Error::invalid("invalid_redirect_uri", e).on_field("redirect_uris"))?;
            if !uris.contains(&uri) {
                uris.push(uri);
            }
        }
        let Some(first) = uris.first() else {
            return Err(Error::invalid(
                "invalid_redirect_uri",
                "Register at least one redirect URI.",
            )
            .on_field("redirect_uris"));
        };
        let domain = match domain.trim() {
            "" => merchant_domain(first.host_str().unwrap_or_default())?,
            given => merchant_domain(given)?,
        };
        let webhook_url = match webhook_url.trim() {
            "" => None,
            given => Some(
                crate::webhooks::target::parse_target(given)
                    .map_err(|e| Error::invalid("invalid_webhook_url", e.to_string()))?,
            ),
        };
        Ok(Self {
            name,
            domain,
            redirect_uris: uris,
            webhook_url,
        })
    }
}

/// The most characters a status reason holds.
const MAX_REASON_CHARS: usize = 500;

/// Why an issuer set a merchant's status: 1 to 500 characters, none of them a control or
/// invisible formatting character (the merchant reads it in the event, the issuer on a page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReason(String);

impl StatusReason {
    pub fn parse(raw: &str) -> Result<Self> {
        let text = raw.trim();
        if text.is_empty() || text.chars().count() > MAX_REASON_CHARS {
            return Err(Error::invalid(
                "invalid_status_reason",
                format!("A reason has 1 to {MAX_REASON_CHARS} characters."),
            ));
        }
        if let Some(c) = hidden_character(text) {
            return Err(Error::invalid(
                "invalid_status_reason",
                format!(
                    "The reason contains {}, a control or invisible formatting character; such characters are not allowed.",
                    code_point(c)
                ),
            ));
        }
        Ok(Self(text.to_string()))
    }

    /// An optional reason from a form or a command line: blank means none.
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>> {
        raw.filter(|r| !r.trim().is_empty())
            .map(Self::parse)
            .transpose()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(super) fn unknown_merchant() -> Error {
    Error::new(
        Kind::NotFound,
        "merchant_not_found",
        "No merchant has this client id.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_https_or_loopback() {
        assert!(parse_redirect_uri("https://shop.example/callback").is_ok());
        assert!(parse_redirect_uri("http://localhost:3000/cb").is_ok());
        assert!(parse_redirect_uri("http://127.0.0.1:3000/cb").is_ok());
        for bad in [
            "http://shop.example/cb",
            "https://shop.example/cb#x",
            "https://u:p@shop.example/cb",
            "/cb",
            "javascript:alert(1)",
        ] {
            assert!(parse_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shown_names_refuse_bidi_and_invisible_characters() {
        assert!(shown_text("invalid_merchant_name", "The merchant name", "Frame Shop").is_ok());
        let err = shown_text(
            "invalid_merchant_name",
            "The merchant name",
            "Frame\u{202E}pohS",
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_merchant_name");
        assert_eq!(
            err.public_message(),
            "The merchant name contains U+202E, a control or invisible formatting character; such characters are not allowed."
        );
    }

    #[test]
    fn an_edit_form_is_parsed_once_into_checked_values() {
        let edit = MerchantEdit::parse(
            " Frame Shop ",
            "",
            "https://frames.example/cb\n\n  https://frames.example/cb2 \nhttps://frames.example/cb\n",
            "https://frames.example/hooks",
        )
        .unwrap();
        assert_eq!(edit.name, "Frame Shop");
        assert_eq!(edit.domain, "frames.example");
        assert_eq!(edit.redirect_uris.len(), 2);
        assert!(edit.webhook_url.is_some());
        let none = MerchantEdit::parse("A", "A.Example", "https://a.example/cb", " ").unwrap();
        assert_eq!(none.domain, "a.example");
        assert_eq!(none.webhook_url, None);
    }

    #[test]
    fn bad_fields_are_refused_with_their_codes() {
        let cases = [
            (
                ("", "", "https://a.example/cb", ""),
                "invalid_merchant_name",
            ),
            (
                ("A\u{202E}B", "", "https://a.example/cb", ""),
                "invalid_merchant_name",
            ),
            (
                ("A", "a b.example", "https://a.example/cb", ""),
                "invalid_domain",
            ),
            (("A", "", "", ""), "invalid_redirect_uri"),
            (("A", "", "http://a.example/cb", ""), "invalid_redirect_uri"),
            (
                ("A", "", "https://a.example/cb", "ftp://a.example/h"),
                "invalid_webhook_url",
            ),
        ];
        for ((name, domain, uris, hook), code) in cases {
            let err = MerchantEdit::parse(name, domain, uris, hook).unwrap_err();
            assert_eq!(err.code(), code, "{name:?} {domain:?} {uris:?} {hook:?}");
        }
    }

    #[test]
    fn reasons_are_trimmed_bounded_and_shown_safely() {
        assert_eq!(
            StatusReason::parse("  chargebacks  ").unwrap().as_str(),
            "chargebacks"
        );
        assert_eq!(StatusReason::parse_optional(Some("  ")).unwrap(), None);
        assert_eq!(StatusReason::parse_optional(None).unwrap(), None);
        assert!(StatusReason::parse(&"x".repeat(500)).is_ok());
        for bad in [
            "",
            "   ",
            &"x".repeat(501),
            "bad\u{202E}reason",
            "two\nlines",
        ] {
            let err = StatusReason::parse(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_status_reason", "{bad:?}");
        }
    }
}
