//! The files the wallet writes are its owner's alone: the SQLite database with its `-wal` and
//! `-shm` files, the folder made for them, and the development key files.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use saifu::config::Config;

use crate::helpers::spawn_app_with;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_sqlite_files_and_the_key_files_are_readable_by_their_owner_only() {
    let app = spawn_app_with(|c: &mut Config| {
        // SQLite whatever backend the suite runs on, in a folder the wallet makes.
        c.database_url = Some(format!("sqlite://{}/db/saifu.db", c.data_dir.display()));
    })
    .await;
    // A write, so that the write-ahead log has been used.
    let browser = app.browser();
    assert!(browser.csrf().await.len() > 10);
    let dir = app.data_dir().join("db");
    assert_eq!(mode(&dir), 0o700, "the database folder");
    for name in ["saifu.db", "saifu.db-wal", "saifu.db-shm"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    for name in ["dev-kek.key", "dev-fingerprint.key"] {
        assert_eq!(mode(&app.data_dir().join(name)), 0o600, "{name}");
    }
}
