//! Merchants' webhook secrets: unwrapping the ones that sign (the current one, and the
//! previous one while a rotation's overlap lasts) and rotating them.

use std::time::Duration;

use saifu_sdk::webhooks::WebhookSecret;

use super::{unknown_merchant, Webhooks};
use crate::audit::{Action, Actor, Entry};
use crate::error::{Error, Result};
use crate::keys::{secret_of, wrap_context, DataKey, WrappedKey};
use crate::store::webhooks::WebhookEndpoint;
use crate::store::WrappedTable;

impl Webhooks {
    /// The secrets to sign with now: the current one, and the previous one during a
    /// rotation's overlap.
    pub(super) async fn secrets(
        &self,
        client_id: &str,
        endpoint: &WebhookEndpoint,
        now: i64,
    ) -> anyhow::Result<Vec<WebhookSecret>> {
        let mut secrets = vec![
            self.unwrap_secret(client_id, &endpoint.secret_wrapped, endpoint.kek_version)
                .await?,
        ];
        if let Some((bytes, version, expires_at)) = &endpoint.previous {
            if *expires_at > now {
                secrets.push(self.unwrap_secret(client_id, bytes, *version).await?);
            }
        }
        Ok(secrets)
    }

    /// One of the merchant's webhook secrets, unwrapped by the KEK.
    async fn unwrap_secret(
        &self,
        client_id: &str,
        wrapped: &[u8],
        kek_version: i64,
    ) -> anyhow::Result<WebhookSecret> {
        let context = wrap_context(WrappedTable::WebhookSecrets, client_id)?;
        let key = self
            .kek
            .unwrap(
                &WrappedKey {
                    version: u32::try_from(kek_version)?,
                    bytes: wrapped.to_vec(),
                },
                &context,
            )
            .await?;
        secret_of(&key)
    }

    /// A new webhook secret for the merchant, returned once. The previous one keeps signing
    /// (next to the new one) for `overlap`.
    pub async fn rotate_secret(
        &self,
        client_id: &str,
        overlap: Duration,
        now: i64,
        by: &Actor,
    ) -> Result<String> {
        let key = DataKey::generate().map_err(Error::internal)?;
        let context =
            wrap_context(WrappedTable::WebhookSecrets, client_id).map_err(Error::internal)?;
        let wrapped = self
            .kek
            .wrap(&key, &context)
            .await
            .map_err(Error::internal)?;
        let audit = Entry::new(by, Action::MerchantWebhookSecretRotated, client_id)
            .with("overlap_secs", overlap.as_secs());
        if !self
            .store
            .rotate_webhook_secret(
                client_id,
                &wrapped.bytes,
                i64::from(wrapped.version),
                now + overlap.as_secs() as i64,
                &audit.record(now),
            )
            .await?
        {
            return Err(unknown_merchant());
        }
        tracing::info!(client_id = %client_id, overlap_secs = overlap.as_secs(), "webhook secret rotated");
        Ok(secret_of(&key).map_err(Error::internal)?.expose())
    }

    /// The merchant's current webhook secret (for tools that configure the merchant's side,
    /// such as `saifu demo`).
    pub async fn current_secret(&self, client_id: &str) -> Result<String> {
        let endpoint = self
            .store
            .webhook_endpoint(client_id)
            .await?
            .ok_or_else(unknown_merchant)?;
        let secret = self
            .unwrap_secret(client_id, &endpoint.secret_wrapped, endpoint.kek_version)
            .await
            .map_err(Error::internal)?;
        Ok(secret.expose())
    }
}
