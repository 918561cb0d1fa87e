//! Key files on disk: the keyring text format (versions, retired versions, the development
//! marker), rotating and retiring versions in a keyring file, and writing key files that only
//! their owner can read.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{bail, Context};
use base64::{engine::general_purpose::STANDARD, Engine};
use ring::aead::LessSafeKey;
use secrecy::{ExposeSecret, SecretString};

use super::aead::{aes_key, random_32};

/// Files written by development mode carry this marker, so production can refuse them.
pub(super) const DEV_MARKER: &str = "saifu-development-key-do-not-use-in-production";
pub const DEV_KEK_FILE: &str = "dev-kek.key";
pub const DEV_FINGERPRINT_FILE: &str = "dev-fingerprint.key";

/// One version's state in a keyring.
pub(super) enum Version {
    Live(Box<LessSafeKey>),
    Retired,
}

pub(super) struct ParsedKeyring {
    pub(super) versions: BTreeMap<u32, Version>,
    pub(super) development: bool,
}

/// Keyring text: one version per line, `v<N> <base64 key>` or `v<N> retired`; a bare base64
/// line is version 1. Items may also be separated by commas and written `v<N>:<base64>`
/// (handy in an environment variable). `#` starts a comment.
pub(super) fn parse_keyring(text: &str) -> anyhow::Result<ParsedKeyring> {
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

pub(super) fn read_keyring_file(
    path: &Path,
) -> anyhow::Result<(ParsedKeyring, Option<SystemTime>)> {
    let text = SecretString::from(
        std::fs::read_to_string(path)
            .with_context(|| format!("reading keyring {}", path.display()))?,
    );
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let parsed = parse_keyring(text.expose_secret())
        .with_context(|| format!("keyring {} is not valid", path.display()))?;
    Ok((parsed, modified))
}

pub(super) fn read_single_key(path: &Path) -> anyhow::Result<([u8; 32], bool)> {
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

pub(super) fn decode_key(b64: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = zeroize::Zeroizing::new(STANDARD.decode(b64).context("a key must be base64")?);
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("a key must be 32 bytes, base64-encoded"))
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

/// The folder of a key file, if missing: the owner's alone (0700), whatever the umask.
#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
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

pub(super) fn write_new_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
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
