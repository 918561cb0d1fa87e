//! Where a shop keeps its registrations at wallets: one per issuer, reused for every checkout
//! at that wallet.
//!
//! [`RegistrationStore`] is synchronous: a store is read once per wallet per process (the
//! [`Wallets`](crate::Wallets) type caches the client it builds) and written once per new
//! wallet, so a blocking file read is cheap; a store backed by a database can block on its own
//! runtime handle or keep a synchronous pool. Implementations must be safe to share between
//! threads.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

/// A shop's registration at one wallet, as `POST /oauth/register` answered it. The secrets
/// are [`SecretString`]s: `Debug` prints `[REDACTED]`.
#[derive(Clone, Debug)]
pub struct Registration {
    /// The wallet's issuer, e.g. `https://wallet.example.jp/`.
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// RFC 7592: reads, updates and deletes the registration at `registration_client_uri`.
    pub registration_access_token: SecretString,
    pub registration_client_uri: Url,
    /// The `whsec_…` secret the wallet signs this shop's webhooks with, when the shop gave a
    /// `webhook_url`. The wallet shows it once, at registration.
    pub webhook_secret: Option<SecretString>,
    /// `pending`, `verified` or `suspended`, as the wallet last said.
    pub status: String,
    pub redirect_uris: Vec<Url>,
}

/// A store's failure: I/O or a file that is not a registrations file. Carries no secret.
#[derive(Debug, thiserror::Error)]
#[error("registration store: {0}")]
pub struct StoreError(pub String);

/// One registration per issuer. See the module documentation for why it is synchronous.
pub trait RegistrationStore: Send + Sync {
    /// The registration at `issuer`, if the shop has one.
    fn get(&self, issuer: &Url) -> Result<Option<Registration>, StoreError>;
    /// Inserts or replaces the registration at `registration.issuer`.
    fn put(&self, registration: &Registration) -> Result<(), StoreError>;
    /// Forgets the registration at `issuer` (nothing happens when there is none).
    fn remove(&self, issuer: &Url) -> Result<(), StoreError>;
}

/// Registrations in memory: for tests and for shops that register again after each restart
/// (each restart then creates a new, pending registration at every wallet, so prefer
/// [`FileRegistrations`] or a store of your own).
#[derive(Default)]
pub struct MemoryRegistrations(Mutex<BTreeMap<String, Registration>>);

impl MemoryRegistrations {
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemoryRegistrations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("MemoryRegistrations")
            .field("issuers", &map.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RegistrationStore for MemoryRegistrations {
    fn get(&self, issuer: &Url) -> Result<Option<Registration>, StoreError> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map.get(issuer.as_str()).cloned())
    }

    fn put(&self, registration: &Registration) -> Result<(), StoreError> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(registration.issuer.to_string(), registration.clone());
        Ok(())
    }

    fn remove(&self, issuer: &Url) -> Result<(), StoreError> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(issuer.as_str());
        Ok(())
    }
}

/// Registrations in one JSON file, keyed by issuer. Every change rewrites the file atomically
/// (a temporary file in the same directory, then a rename), and the file is readable by its
/// owner only (mode 0600 on Unix) because it holds client secrets. One process should own a
/// file; within it, changes are serialized.
pub struct FileRegistrations {
    path: PathBuf,
    lock: Mutex<()>,
}

impl fmt::Debug for FileRegistrations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileRegistrations")
            .field("path", &self.path)
            .finish()
    }
}

/// The file's format: plain strings, since the secrets must be written out.
#[derive(Serialize, Deserialize)]
struct Stored {
    client_id: String,
    client_secret: String,
    registration_access_token: String,
    registration_client_uri: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_secret: Option<String>,
    status: String,
    redirect_uris: Vec<Url>,
}

#[derive(Default, Serialize, Deserialize)]
struct StoredFile {
    /// Issuer → registration.
    registrations: BTreeMap<String, Stored>,
}

impl FileRegistrations {
    /// The file need not exist yet; its directory must.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<StoredFile, StoreError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                StoreError(format!(
                    "{} is not a registrations file: {e}",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoredFile::default()),
            Err(e) => Err(StoreError(format!("reading {}: {e}", self.path.display()))),
        }
    }

    fn write(&self, file: &StoredFile) -> Result<(), StoreError> {
        let io = |e: std::io::Error| StoreError(format!("writing {}: {e}", self.path.display()));
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // `NamedTempFile` creates the file with mode 0600 on Unix.
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        let json = serde_json::to_vec_pretty(file).expect("registrations serialize to JSON");
        temp.write_all(&json).map_err(io)?;
        temp.as_file().sync_all().map_err(io)?;
        temp.persist(&self.path).map_err(|e| io(e.error))?;
        Ok(())
    }
}

impl RegistrationStore for FileRegistrations {
    fn get(&self, issuer: &Url) -> Result<Option<Registration>, StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut file = self.read()?;
        Ok(file
            .registrations
            .remove(issuer.as_str())
            .map(|stored| Registration {
                issuer: issuer.clone(),
                client_id: stored.client_id,
                client_secret: stored.client_secret.into(),
                registration_access_token: stored.registration_access_token.into(),
                registration_client_uri: stored.registration_client_uri,
                webhook_secret: stored.webhook_secret.map(Into::into),
                status: stored.status,
                redirect_uris: stored.redirect_uris,
            }))
    }

    fn put(&self, r: &Registration) -> Result<(), StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut file = self.read()?;
        file.registrations.insert(
            r.issuer.to_string(),
            Stored {
                client_id: r.client_id.clone(),
                client_secret: r.client_secret.expose_secret().to_owned(),
                registration_access_token: r.registration_access_token.expose_secret().to_owned(),
                registration_client_uri: r.registration_client_uri.clone(),
                webhook_secret: r
                    .webhook_secret
                    .as_ref()
                    .map(|s| s.expose_secret().to_owned()),
                status: r.status.clone(),
                redirect_uris: r.redirect_uris.clone(),
            },
        );
        self.write(&file)
    }

    fn remove(&self, issuer: &Url) -> Result<(), StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut file = self.read()?;
        if file.registrations.remove(issuer.as_str()).is_some() {
            self.write(&file)?;
        }
        Ok(())
    }
}
