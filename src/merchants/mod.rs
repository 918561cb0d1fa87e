//! Merchants as OAuth clients: registration with exactly registered redirect URIs, client
//! secrets kept only as digests, vetting status, and the webhook secret (wrapped by the KEK).
//! `fields` parses what an issuer types; `status` changes the vetting status (and announces
//! the trust mark); `edit` applies an edit of a merchant's name, domain and addresses.

mod edit;
mod fields;
mod status;

use self::fields::{merchant_name, shown_text};
pub use self::fields::{parse_redirect_uri, MerchantEdit, StatusReason};

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
pub use crate::store::StoredRegistration as RegisteredMetadata;
use crate::store::{NewMerchantRow, NewRegistrationRow, Store, StoredMerchant, WrappedTable};

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
    /// Why the merchant has its status, as the issuer wrote it.
    pub status_reason: Option<String>,
    /// When the status last changed (Unix seconds); `None` if it never did.
    pub status_changed_at: Option<i64>,
    pub created_at: i64,
    /// The metadata of a merchant that registered itself (RFC 7591); `None` if the issuer
    /// created it.
    pub registration: Option<RegisteredMetadata>,
    /// The verified merchant's name this one's imitates: the issuer should review it.
    pub review_resembles: Option<String>,
    /// When its registration was deleted; no credential of it works since.
    pub deleted_at: Option<i64>,
}

impl Merchant {
    /// Whether the consent page shows the issuer's trust mark.
    pub fn trusted(&self) -> bool {
        self.status == MerchantStatus::Verified
    }
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
            status_reason: m.status_reason,
            status_changed_at: m.status_changed_at,
            created_at: m.created_at,
            registration: m.registration,
            review_resembles: m.review_resembles,
            deleted_at: m.deleted_at,
        })
    }
}

/// What a merchant registering itself stores besides a new merchant's fields: its registration
/// access token's digest, its metadata, and the verified merchant's name it imitates.
pub struct SelfRegistration {
    pub token_hash: String,
    pub metadata: RegisteredMetadata,
    pub review_resembles: Option<String>,
}

pub struct NewMerchant {
    pub name: String,
    pub redirect_uris: Vec<Url>,
    pub webhook_url: Option<Url>,
    pub domain: Option<String>,
    pub verified: bool,
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
        self.insert(new, None, now, by).await
    }

    /// Registers a merchant that registered itself (pending, audited as `merchant.registered`
    /// by `registration`), with its metadata; the secrets are returned once, as by `create`.
    pub async fn create_registered(
        &self,
        new: NewMerchant,
        registration: SelfRegistration,
        now: i64,
    ) -> Result<MerchantCredentials> {
        self.insert(new, Some(registration), now, &Actor::Registration)
            .await
    }

    async fn insert(
        &self,
        new: NewMerchant,
        registration: Option<SelfRegistration>,
        now: i64,
        by: &Actor,
    ) -> Result<MerchantCredentials> {
        let name = merchant_name(&new.name)?;
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
        let action = match registration {
            Some(_) => Action::MerchantRegistered,
            None => Action::MerchantCreated,
        };
        let mut audit = Entry::new(by, action, &client_id)
            .with("name", name)
            .with("domain", domain.as_str())
            .with("status", status)
            .with("redirect_uris", uris.clone())
            .with("webhook_url", new.webhook_url.as_ref().map(url_detail));
        if let Some(r) = &registration {
            audit = audit.with("review_resembles", r.review_resembles.as_deref());
        }
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
                    registered: registration.as_ref().map(|r| NewRegistrationRow {
                        token_hash: &r.token_hash,
                        metadata: &r.metadata,
                        review_resembles: r.review_resembles.as_deref(),
                    }),
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

    /// The merchant, even one whose registration was deleted (for the issuer's records).
    pub async fn on_record(&self, client_id: &str) -> Result<Option<Merchant>> {
        self.store
            .merchant_on_record(client_id)
            .await?
            .map(Merchant::try_from)
            .transpose()
    }

    /// Merchants whose name, domain or client id contains `query` (any letter case), newest
    /// first; all of them (up to `limit`) without a query.
    pub async fn search(&self, query: Option<&str>, limit: i64) -> Result<Vec<Merchant>> {
        let query = query.map(str::trim).filter(|q| !q.is_empty());
        self.store
            .search_merchants(query, limit)
            .await?
            .into_iter()
            .map(Merchant::try_from)
            .collect()
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
