//! Dynamic registration of merchants (RFC 7591) and its management (RFC 7592): a shop
//! registers itself, starts pending (not verified) and is vetted by the issuer like any other
//! merchant. Registration is limited per client address, can be switched off by the issuer,
//! and a name imitating a verified merchant's is kept for review. `metadata` parses what the
//! shop sends; `lookalike` compares names.

pub mod lookalike;
pub mod metadata;
mod refusal;

pub use self::refusal::Refusal;

use std::net::IpAddr;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::SecretString;
use url::Url;

use self::metadata::{ClientMetadata, RequestedMetadata};
use crate::audit::{url_detail, Action, Actor, Entry};
use crate::error::{Error, Result};
use crate::merchants::{Merchant, Merchants, NewMerchant, SelfRegistration};
use crate::secrets::{constant_time_eq, sha256_hex};
use crate::store::{self, MerchantRowEdit, RegistrationEdit, Store};
use crate::webhooks::Webhooks;

/// The issuer's switch for registration, as the database names it.
const SWITCH: &str = "registration";
/// The window the per-address limit counts in: an hour (the store keeps counters that long).
const WINDOW_SECS: i64 = store::COUNTER_WINDOW_SECS;

/// A registered merchant, with the secrets given once (on registration only).
#[derive(Debug)]
pub struct Registered {
    pub merchant: Merchant,
    pub client_secret: Option<SecretString>,
    pub registration_access_token: Option<SecretString>,
    /// Given when the merchant registered a webhook URL.
    pub webhook_secret: Option<SecretString>,
}

#[derive(Clone)]
pub struct Registrations {
    store: Store,
    merchants: Merchants,
    webhooks: Webhooks,
    per_hour: u32,
}

fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::internal(anyhow::anyhow!("no system randomness")))?;
    Ok(format!("saifu_rat_{}", URL_SAFE_NO_PAD.encode(bytes)))
}

impl Registrations {
    /// `per_hour` registrations are taken from one client address per hour.
    pub fn new(store: Store, merchants: Merchants, webhooks: Webhooks, per_hour: u32) -> Self {
        Self {
            webhooks,
            store,
            merchants,
            per_hour,
        }
    }

    /// Whether registration is open (it is unless the issuer switched it off).
    pub async fn is_open(&self) -> Result<bool> {
        Ok(self.store.switch(SWITCH).await?.unwrap_or(true))
    }

    /// Opens or closes registration for every node, audited; `false` if it already was so.
    pub async fn set_open(&self, open: bool, by: &Actor, now: i64) -> Result<bool> {
        if self.is_open().await? == open {
            return Ok(false);
        }
        let action = match open {
            true => Action::RegistrationEnabled,
            false => Action::RegistrationDisabled,
        };
        let audit = Entry::new(by, action, SWITCH).record(now);
        self.store
            .set_switch(SWITCH, open, now, &by.to_string(), &audit)
            .await?;
        tracing::info!(open, by = %by, "dynamic registration switched");
        Ok(true)
    }

    /// Registers a merchant from its metadata, sent from `peer`: pending, flagged for review
    /// when its name imitates a verified merchant's.
    pub async fn register(
        &self,
        raw: &RequestedMetadata,
        peer: IpAddr,
        now: i64,
    ) -> std::result::Result<Registered, Refusal> {
        if !self.is_open().await? {
            return Err(Refusal::Disabled);
        }
        let key = format!("registration:ip:{peer}");
        let (count, started) = self.store.count_request(&key, now, WINDOW_SECS).await?;
        if count > i64::from(self.per_hour) {
            tracing::warn!(peer = %peer, "registration rate limit reached");
            return Err(Refusal::TooMany {
                retry_after: (started + WINDOW_SECS - now).max(1),
            });
        }
        let parsed = ClientMetadata::parse(raw)?;
        let verified = self.store.verified_merchant_names(None).await?;
        let resembles = lookalike::resembled(&parsed.merchant.name, &verified).map(str::to_string);
        let token = new_token()?;
        let has_webhook = parsed.merchant.webhook_url.is_some();
        let created = self
            .merchants
            .create_registered(
                NewMerchant {
                    name: parsed.merchant.name.clone(),
                    redirect_uris: parsed.merchant.redirect_uris,
                    webhook_url: parsed.merchant.webhook_url,
                    domain: Some(parsed.merchant.domain),
                    verified: false,
                },
                SelfRegistration {
                    token_hash: sha256_hex(token.as_bytes()),
                    metadata: parsed.metadata,
                    review_resembles: resembles.clone(),
                },
                now,
            )
            .await
            .map_err(|e| match e {
                Error::Internal(_) => Refusal::Server(e),
                e => Refusal::metadata("invalid_client_metadata", e.public_message()),
            })?;
        if let Some(like) = &resembles {
            tracing::warn!(client_id = %created.client_id, resembles = %like, "a registered merchant's name resembles a verified merchant's: flagged for review");
        }
        let merchant = self.live(&created.client_id).await?;
        Ok(Registered {
            merchant,
            client_secret: Some(created.client_secret.into()),
            registration_access_token: Some(token.into()),
            webhook_secret: has_webhook.then(|| created.webhook_secret.into()),
        })
    }

    async fn live(&self, client_id: &str) -> std::result::Result<Merchant, Refusal> {
        self.merchants
            .find(client_id)
            .await?
            .ok_or(Refusal::InvalidToken)
    }

    /// Checks a registration access token for `client_id`. Unknown clients and wrong tokens
    /// fail alike, after the same work.
    async fn authorize(
        &self,
        client_id: &str,
        token: Option<&str>,
    ) -> std::result::Result<(), Refusal> {
        let stored = self.store.registration_token_hash(client_id).await?;
        let presented = sha256_hex(token.unwrap_or_default().as_bytes());
        let expected = stored
            .as_deref()
            .unwrap_or("0000000000000000000000000000000000000000000000000000000000000000");
        let matches = constant_time_eq(presented.as_bytes(), expected.as_bytes());
        match (token, stored.is_some(), matches) {
            (Some(_), true, true) => Ok(()),
            _ => Err(Refusal::InvalidToken),
        }
    }

    /// The registered merchant, for its own registration access token (RFC 7592 §2.1).
    pub async fn read(
        &self,
        client_id: &str,
        token: Option<&str>,
    ) -> std::result::Result<Merchant, Refusal> {
        self.authorize(client_id, token).await?;
        self.live(client_id).await
    }

    /// Replaces the registered merchant's metadata (RFC 7592 §2.2). Its status and secrets
    /// stay; a verified merchant's redirect URIs stay on its vetted domain; the name is
    /// compared again with the verified merchants'. A webhook URL given for the first time gets
    /// a fresh webhook secret, returned this once (as on registration).
    pub async fn update(
        &self,
        client_id: &str,
        token: Option<&str>,
        sent_client_id: Option<&str>,
        raw: &RequestedMetadata,
        now: i64,
    ) -> std::result::Result<Registered, Refusal> {
        self.authorize(client_id, token).await?;
        if sent_client_id.is_some_and(|sent| sent != client_id) {
            return Err(Refusal::metadata(
                "invalid_request",
                "client_id in the body must be the client_id of the registration",
            ));
        }
        let current = self.live(client_id).await?;
        let parsed = ClientMetadata::parse(raw)?;
        if current.trusted() && parsed.merchant.domain != current.domain {
            return Err(Refusal::metadata(
                "invalid_redirect_uri",
                format!(
                    "the issuer verified this merchant at {}: its first redirect URI stays on that domain (ask the issuer to change it)",
                    current.domain
                ),
            ));
        }
        let verified = self.store.verified_merchant_names(Some(client_id)).await?;
        let resembles = lookalike::resembled(&parsed.merchant.name, &verified);
        let uris = parsed.redirect_uris();
        let webhook_url = parsed.merchant.webhook_url.as_ref().map(Url::as_str);
        let audit = Entry::new(
            &Actor::Registration,
            Action::MerchantRegistrationUpdated,
            client_id,
        )
        .with("name", parsed.merchant.name.as_str())
        .with("domain", parsed.merchant.domain.as_str())
        .with("redirect_uris", uris.clone())
        .with(
            "webhook_url",
            parsed.merchant.webhook_url.as_ref().map(url_detail),
        )
        .with("review_resembles", resembles)
        .record(now);
        self.store
            .update_registration(
                &RegistrationEdit {
                    merchant: MerchantRowEdit {
                        client_id,
                        name: &parsed.merchant.name,
                        domain: &parsed.merchant.domain,
                        webhook_url,
                        redirect_uris: &uris,
                    },
                    metadata: &parsed.metadata,
                    review_resembles: resembles,
                },
                &audit,
            )
            .await
            .map_err(|e| match e {
                store::Error::NotFound => Refusal::InvalidToken,
                other => other.into(),
            })?;
        tracing::info!(client_id = %client_id, "registered merchant updated its metadata");
        let first_webhook = current.webhook_url.is_none() && webhook_url.is_some();
        let webhook_secret = if first_webhook {
            let secret = self
                .webhooks
                .rotate_secret(
                    client_id,
                    std::time::Duration::ZERO,
                    now,
                    &Actor::Registration,
                )
                .await
                .map_err(Refusal::Server)?;
            Some(SecretString::from(secret))
        } else {
            None
        };
        Ok(Registered {
            merchant: self.live(client_id).await?,
            client_secret: None,
            registration_access_token: None,
            webhook_secret,
        })
    }

    /// Deletes the registration for good (RFC 7592 §2.3): from now on the merchant's
    /// credentials, requests and grants are refused.
    pub async fn delete(
        &self,
        client_id: &str,
        token: Option<&str>,
        now: i64,
    ) -> std::result::Result<(), Refusal> {
        self.authorize(client_id, token).await?;
        let audit = Entry::new(
            &Actor::Registration,
            Action::MerchantRegistrationDeleted,
            client_id,
        )
        .record(now);
        self.store
            .delete_registration(client_id, now, &audit)
            .await
            .map_err(|e| match e {
                store::Error::NotFound => Refusal::InvalidToken,
                other => other.into(),
            })?;
        tracing::info!(client_id = %client_id, "registered merchant deleted its registration");
        Ok(())
    }
}
