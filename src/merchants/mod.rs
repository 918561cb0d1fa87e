//! Merchants as OAuth clients: registration with exactly registered redirect URIs, client
//! secrets kept only as digests, vetting status, and the webhook secret (wrapped by the KEK).

use std::sync::Arc;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ring::rand::{SecureRandom, SystemRandom};
use saifu_sdk::checkout::MerchantCredentials;
use url::Url;

use crate::audit::{url_detail, Action, Actor, Entry};
use crate::error::{Error, Result};
use crate::keys::wrap_context;
use crate::keys::{DataKey, KeyEncryptionKey};
use crate::secrets::{constant_time_eq, sha256_hex};
use crate::store::Refusal;
use crate::store::{NewMerchantRow, Store, StoredMerchant, WrappedTable};
use crate::text::{code_point, hidden_character};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MerchantStatus {
    Pending,
    Verified,
    Suspended,
}

impl MerchantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MerchantStatus::Pending => "pending",
            MerchantStatus::Verified => "verified",
            MerchantStatus::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "verified" => Some(Self::Verified),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Merchant {
    pub client_id: String,
    pub name: String,
    pub domain: String,
    pub status: MerchantStatus,
    pub webhook_url: Option<String>,
    pub redirect_uris: Vec<String>,
}

impl TryFrom<StoredMerchant> for Merchant {
    type Error = Error;
    fn try_from(m: StoredMerchant) -> Result<Self> {
        Ok(Merchant {
            status: MerchantStatus::parse(&m.status).ok_or_else(|| {
                Error::internal(anyhow::anyhow!("unknown merchant status {:?}", m.status))
            })?,
            client_id: m.client_id,
            name: m.name,
            domain: m.domain,
            webhook_url: m.webhook_url,
            redirect_uris: m.redirect_uris,
        })
    }
}

pub struct NewMerchant {
    pub name: String,
    pub redirect_uris: Vec<Url>,
    pub webhook_url: Option<Url>,
    pub domain: Option<String>,
    pub verified: bool,
}

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
fn shown_text(code: &'static str, what: &str, text: &str) -> Result<()> {
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

fn random_b64(len: usize) -> Result<String> {
    let mut bytes = vec![0u8; len];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::internal(anyhow::anyhow!("no system randomness")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn new_client_secret() -> Result<String> {
    Ok(format!("saifu_sk_{}", random_b64(32)?))
}

#[derive(Clone)]
pub struct Merchants {
    store: Store,
    kek: Arc<dyn KeyEncryptionKey>,
}

impl Merchants {
    pub fn new(store: Store, kek: Arc<dyn KeyEncryptionKey>) -> Self {
        Self { store, kek }
    }

    /// Registers a merchant; the secrets are returned once and kept only as a digest (client
    /// secret) or wrapped by the KEK (webhook secret, which signing needs in clear).
    pub async fn create(
        &self,
        new: NewMerchant,
        now: i64,
        by: &Actor,
    ) -> Result<MerchantCredentials> {
        let name = new.name.trim();
        shown_text("invalid_merchant_name", "The merchant name", name)?;
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::invalid(
                "invalid_merchant_name",
                "A merchant name has 1 to 100 characters.",
            ));
        }
        if new.redirect_uris.is_empty() {
            return Err(Error::invalid(
                "invalid_redirect_uri",
                "Register at least one redirect URI.",
            ));
        }
        let domain = match new.domain {
            Some(d) => d.trim().to_ascii_lowercase(),
            None => new.redirect_uris[0]
                .host_str()
                .unwrap_or_default()
                .to_string(),
        };
        shown_text("invalid_domain", "The merchant domain", &domain)?;
        let client_id = format!("mch_{}", random_b64(12)?);
        let client_secret = new_client_secret()?;
        let webhook_key = DataKey::generate().map_err(Error::internal)?;
        let webhook_secret = crate::keys::secret_of(&webhook_key)
            .map_err(Error::internal)?
            .expose();
        let context =
            wrap_context(WrappedTable::WebhookSecrets, &client_id).map_err(Error::internal)?;
        let wrapped = self
            .kek
            .wrap(&webhook_key, &context)
            .await
            .map_err(Error::internal)?;
        let uris: Vec<String> = new.redirect_uris.iter().map(|u| u.to_string()).collect();
        let status = if new.verified { "verified" } else { "pending" };
        let audit = Entry::new(by, Action::MerchantCreated, &client_id)
            .with("name", name)
            .with("domain", domain.as_str())
            .with("status", status)
            .with("redirect_uris", uris.clone())
            .with("webhook_url", new.webhook_url.as_ref().map(url_detail));
        self.store
            .insert_merchant(
                NewMerchantRow {
                    client_id: &client_id,
                    secret_hash: &sha256_hex(client_secret.as_bytes()),
                    name,
                    domain: &domain,
                    status,
                    webhook_url: new.webhook_url.as_ref().map(Url::as_str),
                    webhook_secret_wrapped: &wrapped.bytes,
                    webhook_kek_version: i64::from(wrapped.version),
                    redirect_uris: &uris,
                },
                now,
                &audit.record(now),
            )
            .await
            .map_err(|e| match e.refusal() {
                Some(Refusal::ClientIdTaken) => {
                    Error::conflict("client_id_taken", "That client id is already registered.")
                }
                _ => e.into(),
            })?;
        tracing::info!(client_id = %client_id, name = %name, "merchant registered");
        Ok(MerchantCredentials {
            client_id,
            client_secret,
            webhook_secret,
        })
    }

    pub async fn find(&self, client_id: &str) -> Result<Option<Merchant>> {
        self.store
            .find_merchant(client_id)
            .await?
            .map(Merchant::try_from)
            .transpose()
    }

    pub async fn list(&self) -> Result<Vec<Merchant>> {
        self.store
            .list_merchants()
            .await?
            .into_iter()
            .map(Merchant::try_from)
            .collect()
    }

    /// A new client secret; the old one stops working at once.
    pub async fn rotate_secret(&self, client_id: &str, by: &Actor) -> Result<String> {
        let secret = new_client_secret()?;
        let audit = Entry::new(by, Action::MerchantSecretRotated, client_id);
        self.store
            .set_merchant_secret_hash(
                client_id,
                &sha256_hex(secret.as_bytes()),
                &audit.record(crate::clock::unix_now()),
            )
            .await?;
        tracing::info!(client_id = %client_id, "merchant client secret rotated");
        Ok(secret)
    }

    pub async fn set_status(
        &self,
        client_id: &str,
        status: MerchantStatus,
        by: &Actor,
    ) -> Result<()> {
        let audit = Entry::new(by, Action::MerchantStatusChanged, client_id)
            .with("status", status.as_str());
        self.store
            .set_merchant_status(
                client_id,
                status.as_str(),
                &audit.record(crate::clock::unix_now()),
            )
            .await?;
        tracing::info!(client_id = %client_id, status = status.as_str(), "merchant status changed");
        Ok(())
    }

    /// A merchant-funded campaign: shoppers earn `percent` % of the base points there.
    pub async fn set_points_multiplier(
        &self,
        client_id: &str,
        percent: i64,
        by: &Actor,
    ) -> Result<()> {
        let audit = Entry::new(by, Action::MerchantPointsMultiplierSet, client_id)
            .with("multiplier_percent", percent);
        self.store
            .set_merchant_points_multiplier(
                client_id,
                percent,
                &audit.record(crate::clock::unix_now()),
            )
            .await?;
        tracing::info!(client_id = %client_id, percent, "merchant points multiplier changed");
        Ok(())
    }

    /// Checks a client's credentials. Unknown clients and wrong secrets fail alike, after the
    /// same work.
    pub async fn authenticate(&self, client_id: &str, secret: &str) -> Result<Option<Merchant>> {
        let stored = self.store.merchant_with_secret_hash(client_id).await?;
        let presented = sha256_hex(secret.as_bytes());
        let expected = stored.as_ref().map_or(
            "0000000000000000000000000000000000000000000000000000000000000000",
            |(_, hash)| hash.as_str(),
        );
        if !constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
            return Ok(None);
        }
        stored.map(|(m, _)| Merchant::try_from(m)).transpose()
    }
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
}
