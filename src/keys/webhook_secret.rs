//! A merchant's webhook secret is a 32-byte data key, wrapped by the KEK like every other;
//! this turns it into the Standard Webhooks form (`whsec_…`) that signs and that merchants see.

use base64::{engine::general_purpose::STANDARD, Engine};
use saifu_sdk::webhooks::WebhookSecret;

use super::DataKey;

/// The Standard Webhooks secret (`whsec_…`) made of a 32-byte key.
pub fn secret_of(key: &DataKey) -> anyhow::Result<WebhookSecret> {
    WebhookSecret::parse(&format!("whsec_{}", STANDARD.encode(key.expose())))
        .map_err(|e| anyhow::anyhow!("{e}"))
}
