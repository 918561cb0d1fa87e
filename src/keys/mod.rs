//! Key material, the crypto base under the vault, grant signing, merchants and webhooks: the
//! versioned key-encryption keys (KEKs) that wrap every data key, AES-GCM sealing, the HMAC key
//! for card fingerprints, and what each wrapped key is bound to. Keys come from `KeySettings`
//! (a file or a base64 value); development generates them into the data directory, marked as
//! such, and production refuses them.

pub mod aead;
mod file;
pub mod fingerprint;
pub mod kek;
pub mod webhook_secret;
pub mod wrapped;

use std::path::PathBuf;

use secrecy::SecretString;

pub use self::aead::{aes_key, open, seal, DataKey, WrappedKey};
pub use self::file::{
    add_version_to_file, retire_version_in_file, DEV_FINGERPRINT_FILE, DEV_KEK_FILE,
};
pub use self::fingerprint::FingerprintKey;
pub use self::kek::{KeyEncryptionKey, LocalKeyring};
pub use self::webhook_secret::secret_of;
pub use self::wrapped::{rewrap_all, wrap_context};

/// Where the keys come from, taken from the configuration when the wallet starts.
#[derive(Clone, Default)]
pub struct KeySettings {
    /// Development mode may generate missing keys into `data_dir`; production refuses them.
    pub development: bool,
    pub data_dir: PathBuf,
    /// The keyring file (`v1 <base64>` lines).
    pub kek_file: Option<PathBuf>,
    /// The keyring itself. Takes precedence over `kek_file`.
    pub kek: Option<SecretString>,
    pub fingerprint_key_file: Option<PathBuf>,
    /// The fingerprint key itself. Takes precedence over `fingerprint_key_file`.
    pub fingerprint_key: Option<SecretString>,
}

impl std::fmt::Debug for KeySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySettings")
            .field("development", &self.development)
            .field("data_dir", &self.data_dir)
            .field("kek_file", &self.kek_file)
            .field("kek", &self.kek.as_ref().map(|_| "[redacted]"))
            .field("fingerprint_key_file", &self.fingerprint_key_file)
            .field(
                "fingerprint_key",
                &self.fingerprint_key.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests;
