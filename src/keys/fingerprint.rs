//! The HMAC key behind card fingerprints (duplicate-card detection) and pairwise subject
//! identifiers, kept apart from the KEKs so that rotating those leaves both stable.

use anyhow::{bail, Context};
use base64::{engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use secrecy::ExposeSecret;

use super::aead::random_32;
use super::file::{
    decode_key, read_single_key, write_new_private, DEV_FINGERPRINT_FILE, DEV_MARKER,
};
use super::settings::KeySettings;

/// The HMAC-SHA256 key for card fingerprints, separate from the KEKs so that rotating those
/// leaves duplicate detection intact.
pub struct FingerprintKey {
    key: ring::hmac::Key,
    pub generated_for_development: bool,
}

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey([redacted])")
    }
}

impl FingerprintKey {
    pub fn load(settings: &KeySettings) -> anyhow::Result<Self> {
        let (bytes, generated) = if let Some(value) = &settings.fingerprint_key {
            (
                decode_key(value.expose_secret().trim())
                    .context("SAIFU_FINGERPRINT_KEY is not a valid key")?,
                false,
            )
        } else if let Some(path) = &settings.fingerprint_key_file {
            read_single_key(path)?
        } else if settings.development {
            let path = settings.data_dir.join(DEV_FINGERPRINT_FILE);
            if !path.exists() {
                write_new_private(
                    &path,
                    &format!("# {DEV_MARKER}\n{}\n", STANDARD.encode(random_32()?)),
                )?;
                tracing::warn!(path = %path.display(), "DEVELOPMENT MODE: generated a card fingerprint key");
            }
            read_single_key(&path)?
        } else {
            bail!("no card fingerprint key configured: set SAIFU_FINGERPRINT_KEY_FILE (or SAIFU_FINGERPRINT_KEY) in production");
        };
        if generated && !settings.development {
            bail!("production mode refuses a generated development fingerprint key: configure SAIFU_FINGERPRINT_KEY_FILE");
        }
        Ok(Self {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &bytes),
            generated_for_development: generated,
        })
    }

    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, bytes),
            generated_for_development: false,
        }
    }

    /// A pairwise subject identifier: the same shopper gets a different, stable `sub` at each
    /// merchant, so merchants cannot correlate shoppers by it.
    pub fn pairwise_subject(&self, user_id: &str, client_id: &str) -> String {
        let mut ctx = ring::hmac::Context::with_key(&self.key);
        ctx.update(b"saifu/pairwise-subject/v1/");
        ctx.update(user_id.as_bytes());
        ctx.update(b"/");
        ctx.update(client_id.as_bytes());
        URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
    }

    /// Hex HMAC of the owner and the card number: equal for the same card of the same shopper,
    /// unrelated across shoppers.
    pub fn fingerprint(&self, owner: &str, number: &str) -> String {
        let mut ctx = ring::hmac::Context::with_key(&self.key);
        ctx.update(b"saifu/card-fingerprint/v1/");
        ctx.update(owner.as_bytes());
        ctx.update(b"/");
        ctx.update(number.as_bytes());
        ctx.sign()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
