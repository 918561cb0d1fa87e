//! Where the keys come from: the part of the configuration the key room reads, cut from
//! `Config` when the wallet starts; `Debug` never shows a key value.

use std::path::PathBuf;

use secrecy::SecretString;

/// Where the keys come from, taken from the configuration when the wallet starts.
/// `Debug` shows the key values as `[REDACTED]` (`SecretString`).
#[derive(Clone, Debug, Default)]
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
