//! The two migration folders, `migrations/sqlite` and `migrations/postgres`, say the same
//! thing: the wallet keeps one schema, written once per backend.

use std::collections::BTreeMap;
use std::path::Path;

/// The migrations of one backend's folder, by file name.
fn migrations(backend: &str) -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// The same file names in both folders, and the same contents once the one type the backends
/// spell differently is read alike: PostgreSQL's `BYTEA` is SQLite's `BLOB`. That is the only
/// normalisation: every other word, type, constraint, comment and space must match, so a
/// migration added to one folder only, or a column that differs, fails here. Each backend
/// also uses only its own spelling (no `BLOB` for PostgreSQL, no `BYTEA` for SQLite).
#[test]
fn the_sqlite_and_postgres_migrations_say_the_same_thing() {
    let sqlite = migrations("sqlite");
    let postgres = migrations("postgres");
    assert!(!sqlite.is_empty(), "no migrations found");
    assert_eq!(
        sqlite.keys().collect::<Vec<_>>(),
        postgres.keys().collect::<Vec<_>>(),
        "both folders hold the same migrations"
    );
    for (name, sqlite_sql) in &sqlite {
        let postgres_sql = &postgres[name];
        assert!(!sqlite_sql.contains("BYTEA"), "{name}: SQLite says BLOB");
        assert!(
            !postgres_sql.contains("BLOB"),
            "{name}: PostgreSQL says BYTEA"
        );
        let read_alike = postgres_sql.replace("BYTEA", "BLOB");
        if let Some((line, (s, p))) = sqlite_sql
            .lines()
            .zip(read_alike.lines())
            .enumerate()
            .find(|(_, (s, p))| s != p)
        {
            panic!(
                "{name} differs at line {}:\n  sqlite:   {s}\n  postgres: {p}",
                line + 1
            );
        }
        assert_eq!(*sqlite_sql, read_alike, "{name}: the same statements");
    }
}
