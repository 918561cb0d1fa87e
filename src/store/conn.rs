//! Connections for the store's statements and transactions.
//!
//! On PostgreSQL they come from sqlx's pool. On SQLite they come from [`Slots`], a small pool
//! of our own: sqlx's pool tests every connection as it goes back (a `ping`, which for SQLite
//! is a round trip to the connection's worker thread, through a spawned task), and those
//! hand-offs between threads were the largest cost of a checkout (see BENCHMARKS.md). An
//! SQLite connection is a file handle that does not break while idle, so ours goes back as it
//! is, unless it was left inside a transaction: then it is closed, which rolls that
//! transaction back.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::any::AnyConnectOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, ConnectOptions, Executor, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a statement waits for a free connection before it fails.
pub(super) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Up to `max` SQLite connections, opened when first needed and then kept.
pub(super) struct Slots {
    idle: Mutex<Vec<AnyConnection>>,
    permits: Arc<Semaphore>,
    options: AnyConnectOptions,
    synchronous: String,
}

impl Slots {
    pub(super) fn new(options: AnyConnectOptions, max: u32, synchronous: String) -> Arc<Self> {
        Arc::new(Self {
            idle: Mutex::default(),
            permits: Arc::new(Semaphore::new(max.max(1) as usize)),
            options,
            synchronous,
        })
    }

    /// Waits, in order of arrival, for a free connection (or a free place for a new one).
    pub(super) async fn acquire(self: &Arc<Self>) -> Result<Conn, sqlx::Error> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let mut conn = self.options.connect().await?;
                prepare_sqlite(&mut conn, &self.synchronous).await?;
                conn
            }
        };
        Ok(Conn {
            conn: Some(conn),
            in_transaction: false,
            slots: self.clone(),
            _permit: permit,
        })
    }
}

/// The settings every SQLite connection gets before its first statement.
pub(super) async fn prepare_sqlite(
    conn: &mut AnyConnection,
    synchronous: &str,
) -> Result<(), sqlx::Error> {
    // The busy timeout first: switching the journal mode needs a lock, and without the
    // timeout a concurrent writer (another node, the CLI) would make it fail at once with
    // "database is locked".
    conn.execute("PRAGMA busy_timeout = 10000").await?;
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute(format!("PRAGMA synchronous = {synchronous}").as_str())
        .await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    Ok(())
}

/// An SQLite connection taken from its [`Slots`]; it goes back when dropped.
pub(super) struct Conn {
    conn: Option<AnyConnection>,
    /// Set between `BEGIN` and its end: a connection dropped then is closed, not reused.
    in_transaction: bool,
    slots: Arc<Slots>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !self.in_transaction {
                self.slots
                    .idle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(conn);
            }
            // Otherwise the connection closes on its worker thread, and SQLite rolls back
            // what it left open; the permit then lets a new connection take its place.
        }
    }
}

impl Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.conn.as_ref().expect("a connection until dropped")
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn.as_mut().expect("a connection until dropped")
    }
}

/// A connection for one statement or one operation: `&mut *handle` is an executor.
pub(super) enum Handle {
    Sqlite(Conn),
    Pool(PoolConnection<Any>),
}

impl Deref for Handle {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Handle::Sqlite(c) => c,
            Handle::Pool(c) => c,
        }
    }
}

impl DerefMut for Handle {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Handle::Sqlite(c) => c,
            Handle::Pool(c) => c,
        }
    }
}

/// A write transaction: `&mut *tx` is an executor. Dropped without `commit`, it rolls back.
pub struct Tx(TxInner, PointsLock);

/// Whether the transaction holds the points lock (PostgreSQL only; see [`Tx::lock_points`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum PointsLock {
    NotNeeded,
    NotTaken,
    Taken,
}

/// The advisory lock that points-moving transactions take on PostgreSQL.
const POINTS_LOCK_KEY: i64 = 0x5341_4946_5550; // "SAIFUP"
/// The advisory lock that appends to the audit log take on PostgreSQL.
const AUDIT_LOCK_KEY: i64 = 0x5341_4946_5541; // "SAIFUA"

enum TxInner {
    Sqlite(Conn),
    Pool(Transaction<'static, Any>),
}

impl Tx {
    pub(super) async fn begin_sqlite(mut conn: Conn) -> Result<Self, sqlx::Error> {
        // The write lock up front, so that a writer in another process waits on the busy
        // timeout instead of deadlocking when a read lock would have to be upgraded.
        conn.execute("BEGIN IMMEDIATE").await?;
        conn.in_transaction = true;
        // SQLite runs one writer at a time: its transactions never interleave.
        Ok(Tx(TxInner::Sqlite(conn), PointsLock::NotNeeded))
    }

    pub(super) fn pool(tx: Transaction<'static, Any>) -> Self {
        Tx(TxInner::Pool(tx), PointsLock::NotTaken)
    }

    /// Serializes the points-moving part of transactions on PostgreSQL, from the first points
    /// read or write to the commit: the rules choose lots and check balances on what they
    /// read, so two transactions must not read the same shopper's lots at once, and a
    /// transaction moves points on several shared accounts (the programme's, the merchant's),
    /// which in any order could deadlock with another. Every capture already waits on the
    /// programme's balance row, so this costs no concurrency there. Taken once per
    /// transaction; released at its end.
    pub(super) async fn lock_points(&mut self) -> Result<(), sqlx::Error> {
        if self.1 == PointsLock::NotTaken {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(POINTS_LOCK_KEY)
                .execute(&mut **self)
                .await?;
            self.1 = PointsLock::Taken;
        }
        Ok(())
    }

    /// Serializes appends to the audit log on PostgreSQL, until the commit: each append reads
    /// the chain's head and writes the next entry after it, so two must not read the same head.
    /// On SQLite the transaction already holds the one write lock.
    pub(super) async fn lock_audit_chain(&mut self) -> Result<(), sqlx::Error> {
        if matches!(self.0, TxInner::Pool(_)) {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(AUDIT_LOCK_KEY)
                .execute(&mut **self)
                .await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.end("COMMIT").await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.end("ROLLBACK").await
    }

    async fn end(self, how: &'static str) -> Result<(), sqlx::Error> {
        match self.0 {
            TxInner::Sqlite(mut conn) => {
                conn.execute(how).await?;
                conn.in_transaction = false;
                Ok(())
            }
            TxInner::Pool(tx) if how == "COMMIT" => tx.commit().await,
            TxInner::Pool(tx) => tx.rollback().await,
        }
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            TxInner::Sqlite(c) => c,
            TxInner::Pool(t) => t,
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            TxInner::Sqlite(c) => c,
            TxInner::Pool(t) => t,
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;

    async fn slots(dir: &tempfile::TempDir, max: u32) -> Arc<Slots> {
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let slots = Slots::new(url.parse().unwrap(), max, "FULL".into());
        let mut conn = slots.acquire().await.unwrap();
        conn.execute("CREATE TABLE t (n BIGINT NOT NULL)")
            .await
            .unwrap();
        drop(conn);
        slots
    }

    async fn count(slots: &Arc<Slots>) -> i64 {
        let mut conn = slots.acquire().await.unwrap();
        sqlx::query("SELECT COUNT(*) AS n FROM t")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .get::<i64, _>("n")
    }

    #[tokio::test]
    async fn a_transaction_dropped_without_commit_leaves_nothing_and_frees_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let writer = slots(&dir, 1).await;
        let mut tx = Tx::begin_sqlite(writer.acquire().await.unwrap())
            .await
            .unwrap();
        sqlx::query("INSERT INTO t (n) VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        drop(tx);
        // The next writer gets a working connection, and the dropped insert is gone.
        let mut tx = Tx::begin_sqlite(writer.acquire().await.unwrap())
            .await
            .unwrap();
        sqlx::query("INSERT INTO t (n) VALUES (2)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut conn = writer.acquire().await.unwrap();
        let rows = sqlx::query("SELECT n FROM t")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| r.get::<i64, _>("n"))
                .collect::<Vec<_>>(),
            [2]
        );
    }

    #[tokio::test]
    async fn twenty_concurrent_writers_queue_for_the_one_connection_and_all_commit() {
        let dir = tempfile::tempdir().unwrap();
        let writer = slots(&dir, 1).await;
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    let mut tx = Tx::begin_sqlite(writer.acquire().await.unwrap())
                        .await
                        .unwrap();
                    sqlx::query("INSERT INTO t (n) VALUES ($1)")
                        .bind(i as i64)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    tokio::task::yield_now().await;
                    tx.commit().await.unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(count(&writer).await, 20);
    }

    #[tokio::test]
    async fn a_connection_is_reused_rather_than_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let readers = slots(&dir, 4).await;
        for _ in 0..10 {
            count(&readers).await;
        }
        let idle = readers
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        assert_eq!(idle, 1, "one connection served ten statements in turn");
    }
}
