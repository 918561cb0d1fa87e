//! Key-encryption keys (KEKs): the versioned keys that wrap every data key, behind the
//! `KeyEncryptionKey` trait so an external KMS can take their place. `LocalKeyring` holds them
//! locally, from a keyring file (re-read when it changes) or a configured value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use anyhow::{bail, Context};
use async_trait::async_trait;
use base64::{engine::general_purpose::STANDARD, Engine};
use ring::aead::LessSafeKey;
use secrecy::ExposeSecret;

use super::aead::{open, random_32, seal, DataKey, WrappedKey};
use super::file::{
    parse_keyring, read_keyring_file, write_new_private, ParsedKeyring, Version, DEV_KEK_FILE,
    DEV_MARKER,
};
use super::settings::KeySettings;

/// Wraps and unwraps data keys. `context` binds a wrapped key to its record (the card id), so
/// a wrapped key copied to another record does not unwrap.
#[async_trait]
pub trait KeyEncryptionKey: Send + Sync {
    /// The version that wraps new data keys.
    async fn active_version(&self) -> anyhow::Result<u32>;
    async fn wrap(&self, key: &DataKey, context: &[u8]) -> anyhow::Result<WrappedKey>;
    async fn unwrap(&self, wrapped: &WrappedKey, context: &[u8]) -> anyhow::Result<DataKey>;
}

struct Loaded {
    versions: BTreeMap<u32, Version>,
    modified: Option<SystemTime>,
}

/// KEK versions held locally: from a keyring file (re-read when it changes, so `saifu keys
/// rotate` takes effect in running servers) or from a configuration value.
pub struct LocalKeyring {
    file: Option<PathBuf>,
    loaded: RwLock<Loaded>,
    pub generated_for_development: bool,
}

impl std::fmt::Debug for LocalKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKeyring")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl LocalKeyring {
    /// Resolves the keyring from `kek`, then `kek_file`, then (development only) the generated
    /// file in the data directory. Production refuses generated keys.
    pub fn load(settings: &KeySettings) -> anyhow::Result<Self> {
        let keyring = if let Some(value) = &settings.kek {
            let parsed =
                parse_keyring(value.expose_secret()).context("SAIFU_KEK is not a valid keyring")?;
            Self::from_parsed(None, parsed, None)
        } else if let Some(path) = &settings.kek_file {
            Self::from_file(path)?
        } else if settings.development {
            let path = settings.data_dir.join(DEV_KEK_FILE);
            if !path.exists() {
                let key = random_32()?;
                write_new_private(
                    &path,
                    &format!("# {DEV_MARKER}\nv1 {}\n", STANDARD.encode(key)),
                )?;
                tracing::warn!(path = %path.display(), "DEVELOPMENT MODE: generated a key-encryption key. Fine for trying Saifu out with test cards, never for real ones; production refuses it");
            }
            Self::from_file(&path)?
        } else {
            bail!(
                "no key-encryption key configured: set SAIFU_KEK_FILE (or SAIFU_KEK) in production"
            );
        };
        if keyring.generated_for_development && !settings.development {
            bail!("production mode refuses a generated development key: configure SAIFU_KEK_FILE with keys of your own");
        }
        Ok(keyring)
    }

    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let (parsed, modified) = read_keyring_file(path)?;
        Ok(Self::from_parsed(
            Some(path.to_path_buf()),
            parsed,
            modified,
        ))
    }

    fn from_parsed(
        file: Option<PathBuf>,
        parsed: ParsedKeyring,
        modified: Option<SystemTime>,
    ) -> Self {
        Self {
            file,
            generated_for_development: parsed.development,
            loaded: RwLock::new(Loaded {
                versions: parsed.versions,
                modified,
            }),
        }
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Re-reads the keyring file when it changed on disk. A file that no longer parses is
    /// reported and ignored: the keys in memory stay in use.
    fn refresh(&self) {
        let Some(path) = &self.file else { return };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified == self.loaded.read().expect("keyring lock").modified {
            return;
        }
        match read_keyring_file(path) {
            Ok((parsed, modified)) => {
                let mut loaded = self.loaded.write().expect("keyring lock");
                loaded.versions = parsed.versions;
                loaded.modified = modified;
                tracing::info!(path = %path.display(), "key-encryption keyring reloaded");
            }
            Err(err) => {
                tracing::error!(path = %path.display(), error = format!("{err:#}"), "keyring file changed but cannot be read; keeping the keys in memory")
            }
        }
    }

    /// Versions and whether each is retired, oldest first.
    pub fn versions(&self) -> Vec<(u32, bool)> {
        self.refresh();
        let loaded = self.loaded.read().expect("keyring lock");
        loaded
            .versions
            .iter()
            .map(|(v, s)| (*v, matches!(s, Version::Retired)))
            .collect()
    }

    fn active(loaded: &Loaded) -> anyhow::Result<(u32, &LessSafeKey)> {
        loaded
            .versions
            .iter()
            .rev()
            .find_map(|(v, s)| match s {
                Version::Live(key) => Some((*v, key.as_ref())),
                Version::Retired => None,
            })
            .context("the keyring has no live key-encryption key")
    }
}

fn wrap_aad(version: u32, context: &[u8]) -> Vec<u8> {
    let mut aad = format!("saifu/data-key/v{version}/").into_bytes();
    aad.extend_from_slice(context);
    aad
}

#[async_trait]
impl KeyEncryptionKey for LocalKeyring {
    async fn active_version(&self) -> anyhow::Result<u32> {
        self.refresh();
        let loaded = self.loaded.read().expect("keyring lock");
        Ok(Self::active(&loaded)?.0)
    }

    async fn wrap(&self, key: &DataKey, context: &[u8]) -> anyhow::Result<WrappedKey> {
        self.refresh();
        let loaded = self.loaded.read().expect("keyring lock");
        let (version, kek) = Self::active(&loaded)?;
        let bytes = seal(kek, key.expose(), &wrap_aad(version, context))?;
        Ok(WrappedKey { version, bytes })
    }

    async fn unwrap(&self, wrapped: &WrappedKey, context: &[u8]) -> anyhow::Result<DataKey> {
        self.refresh();
        let loaded = self.loaded.read().expect("keyring lock");
        let kek = match loaded.versions.get(&wrapped.version) {
            Some(Version::Live(kek)) => kek,
            Some(Version::Retired) => {
                bail!("key-encryption key version {} is retired", wrapped.version)
            }
            None => bail!(
                "key-encryption key version {} is not in the keyring",
                wrapped.version
            ),
        };
        let plain = open(kek, &wrapped.bytes, &wrap_aad(wrapped.version, context))
            .context("a data key failed to unwrap: wrong key, or altered or moved ciphertext")?;
        let bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .context("unwrapped data key has the wrong length")?;
        Ok(DataKey::from_bytes(bytes))
    }
}
