//! The direct connections against sqlx's own behaviour: rows, arguments, errors, URLs.

use sqlx::Row;

use super::*;

fn memory() -> Direct {
    Direct::open(&DirectOptions::from_url("sqlite::memory:").unwrap()).unwrap()
}

#[tokio::test]
async fn rows_and_arguments_read_and_bind_as_with_sqlx() {
    let mut direct = memory();
    let conn: &mut (dyn SqlConn + 'static) = &mut direct;
    sqlx::query(
        "CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL, r DOUBLE PRECISION, b BLOB, maybe TEXT);",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let written = sqlx::query("INSERT INTO t (id, n, r, b, maybe) VALUES ($1, $2, $3, $4, $5)")
        .bind("a")
        .bind(7_i64)
        .bind(1.5_f64)
        .bind(vec![1_u8, 2])
        .bind(None::<String>)
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(written.rows_affected(), 1);
    // Parameters by number, in any order and repeated.
    let row =
        sqlx::query("SELECT id, n, r, b, maybe, n + $2 AS more, $1 AS again FROM t WHERE id = $1")
            .bind("a")
            .bind(1_i64)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(row.get::<String, _>("id"), "a");
    assert_eq!(row.get::<i64, _>("n"), 7);
    assert_eq!(row.get::<i32, _>("n"), 7);
    assert_eq!(row.get::<f64, _>("r"), 1.5);
    assert_eq!(row.get::<Vec<u8>, _>("b"), vec![1, 2]);
    assert_eq!(row.get::<Option<String>, _>("maybe"), None);
    assert_eq!(row.get::<i64, _>("more"), 8);
    assert_eq!(row.get::<String, _>("again"), "a");
    assert!(sqlx::query("SELECT id FROM t WHERE id = $1")
        .bind("b")
        .fetch_optional(&mut *conn)
        .await
        .unwrap()
        .is_none());
    let updated = sqlx::query("UPDATE t SET n = n + 1 WHERE id = $1 RETURNING n")
        .bind("a")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].get::<i64, _>("n"), 8);
    // Several statements without arguments run together.
    sqlx::query("UPDATE t SET n = 1; UPDATE t SET n = n + 1")
        .execute(&mut *conn)
        .await
        .unwrap();
    let n: i64 = sqlx::query("SELECT n FROM t")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get("n");
    assert_eq!(n, 2);
}

#[tokio::test]
async fn constraint_errors_are_classified_as_with_sqlx() {
    let mut direct = memory();
    let conn: &mut (dyn SqlConn + 'static) = &mut direct;
    sqlx::query("CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL CHECK (n >= 0))")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO t VALUES ('a', 1)")
        .execute(&mut *conn)
        .await
        .unwrap();
    let unique = sqlx::query("INSERT INTO t VALUES ('a', 1)")
        .execute(&mut *conn)
        .await
        .unwrap_err();
    assert!(matches!(&unique, Error::Database(db) if db.is_unique_violation()));
    let check = sqlx::query("UPDATE t SET n = -1")
        .execute(&mut *conn)
        .await
        .unwrap_err();
    assert!(matches!(&check, Error::Database(db) if db.is_check_violation()));
    let several = sqlx::query("SELECT $1; SELECT 2")
        .bind(1_i64)
        .execute(&mut *conn)
        .await
        .unwrap_err();
    assert!(matches!(several, Error::Protocol(_)));
}

#[test]
fn urls_name_the_file_and_the_mode() {
    let file = DirectOptions::from_url("sqlite:///tmp/x/saifu.db?mode=rwc").unwrap();
    assert_eq!(file.path.as_deref(), Some("/tmp/x/saifu.db"));
    assert!(file.flags.contains(OpenFlags::SQLITE_OPEN_CREATE));
    let ro = DirectOptions::from_url("sqlite://data/saifu.db?mode=ro").unwrap();
    assert_eq!(ro.path.as_deref(), Some("data/saifu.db"));
    assert!(ro.flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY));
    assert!(!ro.flags.contains(OpenFlags::SQLITE_OPEN_CREATE));
    assert!(DirectOptions::from_url("sqlite::memory:")
        .unwrap()
        .path
        .is_none());
    assert!(DirectOptions::from_url("postgres://x").is_err());
}
