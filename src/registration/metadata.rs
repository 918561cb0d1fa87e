//! The client metadata a merchant registers (RFC 7591 §2), parsed once: its name, redirect
//! URIs and webhook URL with the rules `saifu merchant create` applies, the client
//! authentication method, and the optional `client_uri` and `logo_uri`. What this wallet does
//! not support (`jwks`, `jwks_uri`, `private_key_jwt`, other grant or response types) is
//! refused by name.

use url::Url;

use super::refusal::Refusal;
use crate::merchants::{parse_redirect_uri, MerchantEdit, RegisteredMetadata};

/// The client authentication methods a registered merchant may choose; the first is the
/// default (RFC 7591 §2).
pub const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post"];

/// The metadata as the merchant sent it, each field as given.
#[derive(Clone, Debug, Default)]
pub struct RequestedMetadata {
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub webhook_url: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    /// Whether `jwks` or `jwks_uri` was sent.
    pub keys_given: bool,
}

/// The metadata, checked.
#[derive(Clone, Debug)]
pub struct ClientMetadata {
    /// Name, domain (the first redirect URI's host), redirect URIs and webhook URL, checked as
    /// an issuer's edit is.
    pub merchant: MerchantEdit,
    pub metadata: RegisteredMetadata,
}

fn invalid(description: impl Into<String>) -> Refusal {
    Refusal::metadata("invalid_client_metadata", description)
}

/// An optional URL the merchant shows: `https` (plain `http` only on loopback hosts).
fn shown_url(field: &str, raw: Option<&str>) -> Result<Option<String>, Refusal> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => parse_redirect_uri(raw)
            .map(|u| Some(u.to_string()))
            .map_err(|e| invalid(format!("{field}: {e}"))),
    }
}

/// Only the one value this wallet supports, when the list is given at all.
fn only(field: &str, given: &Option<Vec<String>>, supported: &str) -> Result<(), Refusal> {
    match given {
        Some(values) if values.iter().any(|v| v != supported) || values.is_empty() => Err(invalid(
            format!("{field} may only be [\"{supported}\"] at this wallet"),
        )),
        _ => Ok(()),
    }
}

impl ClientMetadata {
    pub fn parse(raw: &RequestedMetadata) -> Result<Self, Refusal> {
        if raw.keys_given {
            return Err(invalid(
                "jwks and jwks_uri are not supported by this wallet yet: register with client_secret_basic or client_secret_post",
            ));
        }
        let method = raw
            .token_endpoint_auth_method
            .as_deref()
            .unwrap_or(AUTH_METHODS[0]);
        if !AUTH_METHODS.contains(&method) {
            let why = match method {
                "private_key_jwt" => "private_key_jwt is not supported by this wallet yet",
                _ => "this token_endpoint_auth_method is not supported",
            };
            return Err(invalid(format!(
                "{why}: use client_secret_basic or client_secret_post"
            )));
        }
        only("grant_types", &raw.grant_types, "authorization_code")?;
        only("response_types", &raw.response_types, "code")?;
        let Some(name) = raw.client_name.as_deref() else {
            return Err(invalid(
                "client_name is required: the consent page shows it to the shopper",
            ));
        };
        if let Some(bad) = raw
            .redirect_uris
            .iter()
            .find(|u| u.trim().is_empty() || u.chars().any(|c| c.is_whitespace()))
        {
            return Err(Refusal::metadata(
                "invalid_redirect_uri",
                format!("{bad:?} is not a redirect URI: it is empty or holds a space"),
            ));
        }
        let merchant = MerchantEdit::parse(
            name,
            "",
            &raw.redirect_uris.join("\n"),
            raw.webhook_url.as_deref().unwrap_or(""),
        )
        .map_err(|e| {
            let error = match e.code() {
                "invalid_redirect_uri" => "invalid_redirect_uri",
                _ => "invalid_client_metadata",
            };
            Refusal::metadata(error, e.public_message())
        })?;
        let metadata = RegisteredMetadata {
            token_endpoint_auth_method: method.to_string(),
            client_uri: shown_url("client_uri", raw.client_uri.as_deref())?,
            logo_uri: shown_url("logo_uri", raw.logo_uri.as_deref())?,
        };
        Ok(Self { merchant, metadata })
    }

    pub fn redirect_uris(&self) -> Vec<String> {
        self.merchant
            .redirect_uris
            .iter()
            .map(Url::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> RequestedMetadata {
        RequestedMetadata {
            client_name: Some("Kissa Tanuki".into()),
            redirect_uris: vec!["https://shop.example/callback".into()],
            ..RequestedMetadata::default()
        }
    }

    fn refused(raw: RequestedMetadata) -> &'static str {
        match ClientMetadata::parse(&raw) {
            Err(Refusal::Metadata { error, .. }) => error,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn good_metadata_gives_the_domain_and_the_default_method() {
        let parsed = ClientMetadata::parse(&shop()).unwrap();
        assert_eq!(parsed.merchant.domain, "shop.example");
        assert_eq!(
            parsed.metadata.token_endpoint_auth_method,
            "client_secret_basic"
        );
        let mut post = shop();
        post.token_endpoint_auth_method = Some("client_secret_post".into());
        post.client_uri = Some("https://shop.example".into());
        post.grant_types = Some(vec!["authorization_code".into()]);
        let parsed = ClientMetadata::parse(&post).unwrap();
        assert_eq!(
            parsed.metadata.client_uri.as_deref(),
            Some("https://shop.example/")
        );
    }

    #[test]
    fn unsupported_or_bad_metadata_is_refused_with_its_code() {
        let mut cases: Vec<(RequestedMetadata, &str)> = Vec::new();
        let mut m = shop();
        m.redirect_uris.clear();
        cases.push((m, "invalid_redirect_uri"));
        let mut m = shop();
        m.redirect_uris = vec!["http://shop.example/cb".into()];
        cases.push((m, "invalid_redirect_uri"));
        let mut m = shop();
        m.redirect_uris = vec!["https://shop.example/a\nhttps://evil.example/b".into()];
        cases.push((m, "invalid_redirect_uri"));
        let mut m = shop();
        m.keys_given = true;
        cases.push((m, "invalid_client_metadata"));
        let mut m = shop();
        m.token_endpoint_auth_method = Some("private_key_jwt".into());
        cases.push((m, "invalid_client_metadata"));
        let mut m = shop();
        m.token_endpoint_auth_method = Some("none".into());
        cases.push((m, "invalid_client_metadata"));
        let mut m = shop();
        m.grant_types = Some(vec!["client_credentials".into()]);
        cases.push((m, "invalid_client_metadata"));
        let mut m = shop();
        m.client_name = None;
        cases.push((m, "invalid_client_metadata"));
        let mut m = shop();
        m.client_name = Some("Kissa\u{202E}Tanuki".into());
        cases.push((m, "invalid_client_metadata"));
        let mut m = shop();
        m.logo_uri = Some("javascript:alert(1)".into());
        cases.push((m, "invalid_client_metadata"));
        let mut m = shop();
        m.webhook_url = Some("ftp://shop.example/h".into());
        cases.push((m, "invalid_client_metadata"));
        for (raw, code) in cases {
            assert_eq!(refused(raw.clone()), code, "{raw:?}");
        }
    }
}
