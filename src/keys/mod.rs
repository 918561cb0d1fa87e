//! Key material, the crypto base under the vault, grant signing, merchants and webhooks: the
//! versioned key-encryption keys (KEKs) that wrap every data key, AES-GCM sealing, the HMAC key
//! for card fingerprints, and what each wrapped key is bound to. Keys come from `KeySettings`
//! (a file or a base64 value); development generates them into the data directory, marked as
//! such, and production refuses them.

pub mod aead;
mod file;
pub mod fingerprint;
pub mod kek;
mod settings;
pub mod webhook_secret;
pub mod wrapped;

pub use self::aead::{aes_key, open, seal, DataKey, WrappedKey};
pub use self::file::{
    add_version_to_file, retire_version_in_file, DEV_FINGERPRINT_FILE, DEV_KEK_FILE,
};
pub use self::fingerprint::FingerprintKey;
pub use self::kek::{KeyEncryptionKey, LocalKeyring};
pub use self::settings::KeySettings;
pub use self::webhook_secret::secret_of;
pub use self::wrapped::{rewrap_all, wrap_context};

#[cfg(test)]
mod tests;
