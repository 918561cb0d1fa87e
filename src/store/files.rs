//! The SQLite database's files are the owner's alone: the database, its `-wal` and `-shm`
//! files (sessions, digests of secrets, wrapped keys, payments) are 0600, and a data folder
//! made for them is 0700, whatever the umask. SQLite gives the `-wal` and `-shm` files it
//! creates the database file's mode, so the database is created 0600 before SQLite opens it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Suffixes of the files SQLite keeps next to the database.
const SIDE_FILES: [&str; 4] = ["", "-wal", "-shm", "-journal"];

/// Makes `path`'s folder (0700, if it is missing) and the database file (0600, if it is
/// missing), and narrows the database and its side files that exist to 0600.
pub(super) fn prepare_sqlite_files(path: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    create_private(path).with_context(|| format!("creating {}", path.display()))?;
    narrow_sqlite_files(path);
    Ok(())
}

/// Narrows the database and its side files that exist to 0600. A file the wallet may not
/// change (another owner's, say) is left with a warning.
pub(super) fn narrow_sqlite_files(path: &Path) {
    for file in side_files(path) {
        match make_private(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "could not make a database file private (0600)")
            }
        }
    }
}

fn side_files(path: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    SIDE_FILES.iter().map(move |suffix| {
        let mut name = OsString::from(path.as_os_str());
        name.push(suffix);
        PathBuf::from(name)
    })
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map(drop)
}

#[cfg(unix)]
fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode == 0o600 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map(drop)
}

#[cfg(not(unix))]
fn make_private(path: &Path) -> std::io::Result<()> {
    std::fs::metadata(path).map(drop)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_database_and_its_folder_are_private_and_loose_side_files_are_narrowed() {
        let root = tempfile::tempdir().unwrap();
        let db = root.path().join("data/nested/saifu.db");
        prepare_sqlite_files(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(db.parent().unwrap()), 0o700);
        assert_eq!(mode(&root.path().join("data")), 0o700);
        let wal = root.path().join("data/nested/saifu.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o664)).unwrap();
        prepare_sqlite_files(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));
    }
}
