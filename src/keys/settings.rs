//! Where the keys come from: the part of the configuration the key room reads, cut from
//! `Config` when the wallet starts, with the key values redacted from `Debug`.

use std::path::PathBuf;

use secrecy::SecretString;

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
