//! Key material of the vault: the versioned key-encryption keys (KEKs) that wrap each card's
//! data key, behind the `KeyEncryptionKey` trait so an external KMS can take their place, and
//! the separate HMAC key for duplicate-card fingerprints. Keys come from configuration (a file
//! or a base64 value); development generates them into the data directory, marked as such.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use anyhow::{bail, Context};
use async_trait::async_trait;
use base64::{engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::config::Config;

/// Files written by development mode carry this marker, so production can refuse them.
const DEV_MARKER: &str = "saifu-development-key-do-not-use-in-production";
pub const DEV_KEK_FILE: &str = "dev-kek.key";
pub const DEV_FINGERPRINT_FILE: &str = "dev-fingerprint.key";

/// A random 256-bit key that encrypts one card number.
pub struct DataKey(SecretBox<[u8; 32]>);

impl DataKey {
    pub fn generate() -> anyhow::Result<Self> {
        Ok(Self(SecretBox::new(Box::new(random_32()?))))
    }

    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

/// A data key encrypted under one KEK version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    pub version: u32,
    pub bytes: Vec<u8>,
}

/// Wraps and unwraps data keys. `context` binds a wrapped key to its record (the card id), so
/// a wrapped key copied to another record does not unwrap.
#[async_trait]
pub trait KeyEncryptionKey: Send + Sync {
    /// The version that wraps new data keys.
    async fn active_version(&self) -> anyhow::Result<u32>;
    async fn wrap(&self, key: &DataKey, context: &[u8]) -> anyhow::Result<WrappedKey>;
    async fn unwrap(&self, wrapped: &WrappedKey, context: &[u8]) -> anyhow::Result<DataKey>;
}

/// One version's state in a keyring.
enum Version {
    Live(Box<LessSafeKey>),
    Retired,
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
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        let keyring = if let Some(value) = &config.kek {
            let parsed =
                parse_keyring(value.expose_secret()).context("SAIFU_KEK is not a valid keyring")?;
            Self::from_parsed(None, parsed, None)
        } else if let Some(path) = &config.kek_file {
            Self::from_file(path)?
        } else if config.is_development() {
            let path = config.data_dir.join(DEV_KEK_FILE);
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
        if keyring.generated_for_development && !config.is_development() {
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
        Ok(DataKey(SecretBox::new(Box::new(bytes))))
    }
}

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
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        let (bytes, generated) = if let Some(value) = &config.fingerprint_key {
            (
                decode_key(value.expose_secret().trim())
                    .context("SAIFU_FINGERPRINT_KEY is not a valid key")?,
                false,
            )
        } else if let Some(path) = &config.fingerprint_key_file {
            read_single_key(path)?
        } else if config.is_development() {
            let path = config.data_dir.join(DEV_FINGERPRINT_FILE);
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
        if generated && !config.is_development() {
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

/// AES-256-GCM with a random nonce; the output is nonce ‖ ciphertext ‖ tag.
pub fn seal(key: &LessSafeKey, plaintext: &[u8], aad: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| anyhow::anyhow!("no system randomness"))?;
    let mut buffer = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut buffer,
    )
    .map_err(|_| anyhow::anyhow!("encryption failed"))?;
    let mut out = nonce.to_vec();
    out.append(&mut buffer);
    Ok(out)
}

/// Opens what `seal` produced. Fails on a wrong key, wrong associated data or any change.
pub fn open(
    key: &LessSafeKey,
    sealed: &[u8],
    aad: &[u8],
) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        bail!("ciphertext too short");
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow::anyhow!("bad nonce"))?;
    let mut buffer = zeroize::Zeroizing::new(body.to_vec());
    let plain_len = key
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .map_err(|_| anyhow::anyhow!("decryption failed"))?
        .len();
    buffer.truncate(plain_len);
    Ok(buffer)
}

pub fn aes_key(bytes: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("32-byte AES-256 key"))
}

struct ParsedKeyring {
    versions: BTreeMap<u32, Version>,
    development: bool,
}

/// Keyring text: one version per line, `v<N> <base64 key>` or `v<N> retired`; a bare base64
/// line is version 1. Items may also be separated by commas and written `v<N>:<base64>`
/// (handy in an environment variable). `#` starts a comment.
fn parse_keyring(text: &str) -> anyhow::Result<ParsedKeyring> {
    let mut versions = BTreeMap::new();
    let mut development = false;
    for item in text
        .split(['\n', ','])
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        if item.trim_start_matches(['#', ' ']) == DEV_MARKER {
            development = true;
            continue;
        }
        if item.starts_with('#') {
            continue;
        }
        let (version, value) = match item
            .strip_prefix('v')
            .and_then(|rest| rest.split_once([' ', ':', '\t']))
        {
            Some((n, value)) => (
                n.parse::<u32>()
                    .context("a key version must be v<number>")?,
                value.trim(),
            ),
            None => (1, item),
        };
        let state = if value == "retired" {
            Version::Retired
        } else {
            Version::Live(Box::new(aes_key(&decode_key(value)?)))
        };
        if versions.insert(version, state).is_some() {
            bail!("key version v{version} appears twice");
        }
    }
    if versions.is_empty() {
        bail!("the keyring holds no keys");
    }
    Ok(ParsedKeyring {
        versions,
        development,
    })
}

fn read_keyring_file(path: &Path) -> anyhow::Result<(ParsedKeyring, Option<SystemTime>)> {
    let text = SecretString::from(
        std::fs::read_to_string(path)
            .with_context(|| format!("reading keyring {}", path.display()))?,
    );
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let parsed = parse_keyring(text.expose_secret())
        .with_context(|| format!("keyring {} is not valid", path.display()))?;
    Ok((parsed, modified))
}

fn read_single_key(path: &Path) -> anyhow::Result<([u8; 32], bool)> {
    let text = SecretString::from(
        std::fs::read_to_string(path)
            .with_context(|| format!("reading key file {}", path.display()))?,
    );
    let mut development = false;
    let mut key = None;
    for line in text
        .expose_secret()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        if line.trim_start_matches(['#', ' ']) == DEV_MARKER {
            development = true;
        } else if !line.starts_with('#') {
            key = Some(
                decode_key(line)
                    .with_context(|| format!("key file {} is not valid", path.display()))?,
            );
        }
    }
    Ok((
        key.with_context(|| format!("key file {} holds no key", path.display()))?,
        development,
    ))
}

fn decode_key(b64: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = zeroize::Zeroizing::new(STANDARD.decode(b64).context("a key must be base64")?);
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("a key must be 32 bytes, base64-encoded"))
}

fn random_32() -> anyhow::Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("no system randomness"))?;
    Ok(bytes)
}

/// Adds a new KEK version to a keyring file and returns it. The file is replaced atomically.
pub fn add_version_to_file(path: &Path) -> anyhow::Result<u32> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading keyring {}", path.display()))?;
    let parsed = parse_keyring(&text)?;
    let next = parsed.versions.keys().next_back().copied().unwrap_or(0) + 1;
    let mut updated = upgrade_bare_line(&text);
    if !updated.ends_with('\n') {
        updated.push('\n');
    }
    updated.push_str(&format!("v{next} {}\n", STANDARD.encode(random_32()?)));
    replace_private(path, &updated)?;
    Ok(next)
}

/// Marks `version` retired in a keyring file, destroying its key material there.
pub fn retire_version_in_file(path: &Path, version: u32) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading keyring {}", path.display()))?;
    let parsed = parse_keyring(&text)?;
    let active = parsed
        .versions
        .iter()
        .rev()
        .find_map(|(v, s)| matches!(s, Version::Live(_)).then_some(*v));
    match parsed.versions.get(&version) {
        None => bail!("version v{version} is not in the keyring"),
        Some(Version::Retired) => bail!("version v{version} is already retired"),
        Some(Version::Live(_)) if active == Some(version) => {
            bail!("v{version} is the active version: rotate to a new version first")
        }
        Some(Version::Live(_)) => {}
    }
    let updated: String = upgrade_bare_line(&text)
        .lines()
        .map(|line| {
            let is_it = line
                .trim()
                .strip_prefix('v')
                .and_then(|r| r.split_once([' ', ':', '\t']))
                .map(|(n, _)| n)
                == Some(&version.to_string());
            if is_it {
                format!("v{version} retired\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    replace_private(path, &updated)
}

/// Rewrites a bare base64 line (implicit version 1) as `v1 <key>`, so versions are explicit.
fn upgrade_bare_line(text: &str) -> String {
    text.lines()
        .map(|line| {
            let t = line.trim();
            if !t.is_empty() && !t.starts_with('#') && !t.starts_with('v') && t != DEV_MARKER {
                format!("v1 {t}\n")
            } else if t == DEV_MARKER {
                format!("# {DEV_MARKER}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}

#[cfg(unix)]
fn open_private(path: &Path, create_new: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    options.open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path, create_new: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    options.open(path)
}

fn write_new_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = open_private(path, true)
        .with_context(|| format!("creating key file {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

fn replace_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    {
        let mut file =
            open_private(&tmp, false).with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Environment;

    fn dev_config(dir: &Path) -> Config {
        Config {
            data_dir: dir.to_path_buf(),
            ..Config::default()
        }
    }

    #[tokio::test]
    async fn wrap_and_unwrap_round_trip_and_bind_the_context() {
        let dir = tempfile::tempdir().unwrap();
        let ring = LocalKeyring::load(&dev_config(dir.path())).unwrap();
        assert!(ring.generated_for_development);
        let dk = DataKey::generate().unwrap();
        let wrapped = ring.wrap(&dk, b"card-a").await.unwrap();
        assert_eq!(wrapped.version, 1);
        assert_eq!(
            ring.unwrap(&wrapped, b"card-a").await.unwrap().expose(),
            dk.expose()
        );
        assert!(
            ring.unwrap(&wrapped, b"card-b").await.is_err(),
            "moved to another record"
        );
        let mut tampered = wrapped.clone();
        tampered.bytes[20] ^= 1;
        assert!(ring.unwrap(&tampered, b"card-a").await.is_err(), "altered");
        assert!(!format!("{dk:?}").contains(&STANDARD.encode(dk.expose())));
    }

    #[tokio::test]
    async fn a_different_key_cannot_unwrap() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ring_a = LocalKeyring::load(&dev_config(a.path())).unwrap();
        let ring_b = LocalKeyring::load(&dev_config(b.path())).unwrap();
        let wrapped = ring_a
            .wrap(&DataKey::generate().unwrap(), b"c")
            .await
            .unwrap();
        assert!(ring_b.unwrap(&wrapped, b"c").await.is_err());
    }

    #[tokio::test]
    async fn rotation_adds_a_version_that_running_keyrings_pick_up_and_retirement_stops_decryption()
    {
        let dir = tempfile::tempdir().unwrap();
        let ring = LocalKeyring::load(&dev_config(dir.path())).unwrap();
        let path = dir.path().join(DEV_KEK_FILE);
        let dk = DataKey::generate().unwrap();
        let old = ring.wrap(&dk, b"c").await.unwrap();

        // Another process (the CLI) rotates the file; mtime granularity needs a moment.
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(add_version_to_file(&path).unwrap(), 2);
        assert_eq!(ring.active_version().await.unwrap(), 2);
        let new = ring.wrap(&dk, b"c").await.unwrap();
        assert_eq!(new.version, 2);
        assert_eq!(ring.unwrap(&old, b"c").await.unwrap().expose(), dk.expose());

        assert!(
            retire_version_in_file(&path, 2).is_err(),
            "the active version can't be retired"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        retire_version_in_file(&path, 1).unwrap();
        let err = ring.unwrap(&old, b"c").await.unwrap_err();
        assert!(err.to_string().contains("retired"), "{err}");
        assert_eq!(ring.unwrap(&new, b"c").await.unwrap().expose(), dk.expose());
        assert_eq!(ring.versions(), vec![(1, true), (2, false)]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("v1 retired") && text.contains(DEV_MARKER),
            "{text}"
        );
    }

    #[test]
    fn keyring_text_forms() {
        let k1 = STANDARD.encode([1u8; 32]);
        let k2 = STANDARD.encode([2u8; 32]);
        assert_eq!(parse_keyring(&k1).unwrap().versions.len(), 1);
        let both = parse_keyring(&format!("v1:{k1},v2:{k2}")).unwrap();
        assert_eq!(
            both.versions.keys().copied().collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert!(!both.development);
        assert!(
            parse_keyring(&format!("v1 {k1}\nv1 {k2}")).is_err(),
            "duplicate version"
        );
        assert!(parse_keyring("v1 c2hvcnQ=").is_err(), "short key");
        assert!(parse_keyring("# only a comment").is_err());
        // A plain key file (as `head -c 32 /dev/urandom | base64` makes) is version 1.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.key");
        std::fs::write(&path, format!("{k1}\n")).unwrap();
        assert_eq!(add_version_to_file(&path).unwrap(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(&format!("v1 {k1}\n")), "{text}");
    }

    #[test]
    fn production_refuses_generated_and_missing_keys() {
        let dir = tempfile::tempdir().unwrap();
        LocalKeyring::load(&dev_config(dir.path())).unwrap();
        FingerprintKey::load(&dev_config(dir.path())).unwrap();
        let mut prod = dev_config(dir.path());
        prod.env = Environment::Production;
        assert!(LocalKeyring::load(&prod).is_err(), "missing");
        prod.kek_file = Some(dir.path().join(DEV_KEK_FILE));
        let err = LocalKeyring::load(&prod).unwrap_err();
        assert!(err.to_string().contains("development key"), "{err}");
        prod.fingerprint_key_file = Some(dir.path().join(DEV_FINGERPRINT_FILE));
        assert!(FingerprintKey::load(&prod).is_err());
        prod.kek = Some(SecretString::from(STANDARD.encode([7u8; 32])));
        prod.fingerprint_key = Some(SecretString::from(STANDARD.encode([8u8; 32])));
        assert!(LocalKeyring::load(&prod).is_ok());
        assert!(FingerprintKey::load(&prod).is_ok());
    }

    #[test]
    fn fingerprints_are_per_owner_and_keyed() {
        let k = FingerprintKey::from_bytes(&[3u8; 32]);
        let other = FingerprintKey::from_bytes(&[4u8; 32]);
        let n = "4242424242424242";
        assert_eq!(k.fingerprint("u1", n), k.fingerprint("u1", n));
        assert_ne!(k.fingerprint("u1", n), k.fingerprint("u2", n));
        assert_ne!(k.fingerprint("u1", n), other.fingerprint("u1", n));
        assert_eq!(k.fingerprint("u1", n).len(), 64);
    }
}
