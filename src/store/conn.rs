//! Connections for the store's statements and transactions.
//!
//! On PostgreSQL they come from sqlx's pool. On SQLite they come from [`Slots`], a small pool
//! of our own [`Direct`] connections, whose statements run on the calling thread (see
//! `direct/`): hand-offs between threads were the largest cost of a checkout (see
//! BENCHMARKS.md). An SQLite connection is a file handle that does not break while idle, so
//! ours goes back as it is.
//!
//! **Group commit.** SQLite writes share one connection (the writer's `Slots`, of one). Write
//! transactions queued for it are applied together in one database transaction: the first
//! opens it (`BEGIN IMMEDIATE`), each runs inside its own `SAVEPOINT`, so that one that fails
//! or is dropped rolls back alone, and the batch is committed, with one fsync, when no other
//! transaction is waiting for the writer (or the batch has grown large or old). Each
//! transaction's `commit` returns only after the shared `COMMIT` has returned, that is after
//! the batch is on disk at `synchronous=FULL`; if that `COMMIT` fails, every member gets the
//! error. A transaction sees its own writes and those of the batch's earlier members, and
//! readers on other connections see none of them until the batch commits. A single-statement
//! write outside a transaction ([`Slots::acquire`] on the writer) first commits an open batch,
//! so it too is acknowledged only once durable. Store transactions await nothing but their
//! own statements, so no member holds the batch up for other I/O.

use std::cell::RefCell;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::AnyPool;
use sqlx::{Any, AnyConnection, Executor, Transaction};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use super::direct::{Direct, DirectOptions, SqlConn};

/// How long a statement waits for a free connection before it fails.
pub(super) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A batch commits once it has this many members, even if more transactions are waiting.
const BATCH_MAX_MEMBERS: usize = 64;
/// A batch commits once it has been open this long, even if more transactions are waiting:
/// its first member's caller waits for the whole batch.
const BATCH_MAX_AGE: Duration = Duration::from_millis(3);

/// Up to `max` SQLite connections, opened when first needed and then kept.
pub(super) struct Slots {
    idle: Mutex<Vec<Direct>>,
    permits: Arc<Semaphore>,
    options: DirectOptions,
    synchronous: String,
    /// Set on the writer's slots (one connection): the open batch of write transactions.
    batch: Option<Batching>,
}

/// The writer's batch of transactions (see the module's documentation).
pub(super) struct Batching {
    /// [`BATCH_MAX_AGE`], longer in tests that hold a batch open on purpose.
    max_age: Duration,
    state: Mutex<BatchState>,
    /// Transactions waiting for the writer: while there are some, a batch stays open.
    waiting: AtomicUsize,
    /// Every shared `COMMIT` that ended a batch (for the tests and the benchmark's counts).
    commits: AtomicUsize,
}

#[derive(Default)]
struct BatchState {
    /// When the open batch began (`BEGIN IMMEDIATE`); `None` when no batch is open.
    open_since: Option<Instant>,
    /// The members that released their savepoint, each waiting for the shared commit.
    members: Vec<oneshot::Sender<Result<(), String>>>,
    /// A transaction was dropped unfinished: it is rolled back before the next use (`true`:
    /// it had opened the batch, so the whole transaction goes).
    dangling: Option<bool>,
}

impl Batching {
    fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            state: Mutex::default(),
            waiting: AtomicUsize::new(0),
            commits: AtomicUsize::new(0),
        }
    }

    /// Whether the open batch should commit even though transactions are waiting.
    fn full(&self, s: &BatchState) -> bool {
        s.members.len() >= BATCH_MAX_MEMBERS
            || s.open_since.is_some_and(|t| t.elapsed() >= self.max_age)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, BatchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts a transaction waiting for the writer while it waits; one that gives up (its request
/// was cancelled) makes sure an open batch still gets committed.
struct Waiting<'a>(&'a Arc<Slots>, bool);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(b) = &self.0.batch {
            b.waiting.fetch_sub(1, Ordering::SeqCst);
            if !self.1 {
                self.0.settle_later();
            }
        }
    }
}

impl Slots {
    pub(super) fn new(options: DirectOptions, max: u32, synchronous: String) -> Arc<Self> {
        Self::build(options, max, synchronous, None)
    }

    /// The one connection for writes, with group commit.
    pub(super) fn writer(options: DirectOptions, synchronous: String) -> Arc<Self> {
        Self::build(options, 1, synchronous, Some(Batching::new(BATCH_MAX_AGE)))
    }

    fn build(
        options: DirectOptions,
        max: u32,
        synchronous: String,
        batch: Option<Batching>,
    ) -> Arc<Self> {
        Arc::new(Self {
            idle: Mutex::default(),
            permits: Arc::new(Semaphore::new(max.max(1) as usize)),
            options,
            synchronous,
            batch,
        })
    }

    /// How many shared commits ended a batch so far (0 for slots without batching).
    #[cfg(test)]
    pub(super) fn batch_commits(&self) -> usize {
        self.batch
            .as_ref()
            .map_or(0, |b| b.commits.load(Ordering::SeqCst))
    }

    /// Waits, in order of arrival, for a free connection (or a free place for a new one), for
    /// statements outside a transaction. On the writer, an open batch is committed first, so
    /// that what the caller writes is durable when its statement returns.
    pub(super) async fn acquire(self: &Arc<Self>) -> Result<Conn, sqlx::Error> {
        let mut conn = self.take().await?;
        if self.batch.is_some() {
            conn.settle(true).await?;
        }
        Ok(conn)
    }

    /// The writer's connection for a new transaction, inside the open batch (opened if
    /// needed) and its own savepoint.
    async fn acquire_for_tx(self: &Arc<Self>) -> Result<Conn, sqlx::Error> {
        let Some(batch) = &self.batch else {
            let mut conn = self.take().await?;
            conn.execute("BEGIN IMMEDIATE").await?;
            conn.in_transaction = true;
            return Ok(conn);
        };
        batch.waiting.fetch_add(1, Ordering::SeqCst);
        let mut waiting = Waiting(self, false);
        let taken = self.take().await;
        waiting.1 = true;
        drop(waiting);
        let mut conn = taken?;
        let full = batch.full(&batch.state());
        conn.settle(full).await?;
        if batch.state().open_since.is_none() {
            // The write lock up front, so that a writer in another process waits on the busy
            // timeout instead of deadlocking when a read lock would have to be upgraded.
            conn.execute("BEGIN IMMEDIATE").await?;
            batch.state().open_since = Some(Instant::now());
            // The batch's first transaction needs no savepoint: nothing precedes it, so
            // rolling the whole transaction back undoes its work alone.
            conn.opened_batch = true;
        } else {
            conn.execute("SAVEPOINT tx").await?;
        }
        conn.in_transaction = true;
        Ok(conn)
    }

    async fn take(self: &Arc<Self>) -> Result<Conn, sqlx::Error> {
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
                let mut conn = Direct::open(&self.options)?;
                prepare_sqlite(&mut conn, &self.synchronous).await?;
                // Locks held elsewhere are waited for by the connection itself, on a timer.
                (&mut conn as &mut dyn SqlConn)
                    .execute("PRAGMA busy_timeout = 0")
                    .await?;
                conn
            }
        };
        Ok(Conn {
            conn: Some(conn),
            in_transaction: false,
            opened_batch: false,
            slots: self.clone(),
            _permit: permit,
        })
    }

    /// When a batch may be left without anyone to commit it (a transaction dropped, a waiter
    /// gone), a task takes the writer and commits it.
    fn settle_later(self: &Arc<Self>) {
        let Some(batch) = &self.batch else { return };
        let pending = {
            let s = batch.state();
            s.open_since.is_some() || s.dangling.is_some()
        };
        if pending && batch.waiting.load(Ordering::SeqCst) == 0 {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let slots = self.clone();
                rt.spawn(async move {
                    if let Err(e) = slots.acquire().await {
                        tracing::warn!(error = %e, "committing a batch of writes failed");
                    }
                });
            }
        }
    }
}

/// The settings every SQLite connection gets before its first statement.
pub(super) async fn prepare_sqlite(
    conn: &mut (dyn SqlConn + 'static),
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
    conn: Option<Direct>,
    /// Set inside a transaction (on the writer: inside its savepoint).
    in_transaction: bool,
    /// On the writer: this transaction opened the batch, without a savepoint of its own.
    opened_batch: bool,
    slots: Arc<Slots>,
    _permit: OwnedSemaphorePermit,
}

impl Conn {
    /// Before the writer's connection is used: rolls back a transaction dropped inside its
    /// savepoint, and commits the open batch if `commit` (or if it cannot be trusted).
    async fn settle(&mut self, commit: bool) -> Result<(), sqlx::Error> {
        let slots = self.slots.clone();
        let Some(batch) = &slots.batch else {
            return Ok(());
        };
        let dangling = batch.state().dangling.take();
        if let Some(whole) = dangling {
            if let Err(e) = self.undo(whole).await {
                let _ = self.end_batch(Err(e.to_string())).await;
                return Err(e);
            }
        }
        if commit && batch.state().open_since.is_some() {
            return self.end_batch(Ok(())).await;
        }
        Ok(())
    }

    /// Rolls back the current transaction: its savepoint, or (`whole`, when it opened the
    /// batch and so is its only work) the whole database transaction.
    async fn undo(&mut self, whole: bool) -> Result<(), sqlx::Error> {
        if whole {
            self.execute("ROLLBACK").await?;
            let slots = self.slots.clone();
            if let Some(batch) = &slots.batch {
                let members = {
                    let mut s = batch.state();
                    s.open_since = None;
                    std::mem::take(&mut s.members)
                };
                for member in members {
                    let _ = member.send(Err("rolled back".into()));
                }
            }
        } else {
            self.execute("ROLLBACK TO SAVEPOINT tx; RELEASE SAVEPOINT tx")
                .await?;
        }
        Ok(())
    }

    /// Ends the open batch: commits it (`Ok`) or rolls it back (`Err`, the reason), and tells
    /// every member the outcome.
    async fn end_batch(&mut self, outcome: Result<(), String>) -> Result<(), sqlx::Error> {
        let slots = self.slots.clone();
        let Some(batch) = &slots.batch else {
            return Ok(());
        };
        let result = match outcome {
            Ok(()) => self.execute("COMMIT").await.map(|_| ()),
            Err(reason) => Err(sqlx::Error::Protocol(reason)),
        };
        if result.is_err() {
            // Whatever is left of the transaction goes; an error here means none was left.
            let _ = self.execute("ROLLBACK").await;
        } else {
            batch.commits.fetch_add(1, Ordering::SeqCst);
        }
        let members = {
            let mut s = batch.state();
            s.open_since = None;
            std::mem::take(&mut s.members)
        };
        let shared = result.as_ref().map(|_| ()).map_err(|e| e.to_string());
        for member in members {
            let _ = member.send(shared.clone());
        }
        result
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            match &self.slots.batch {
                // Closing a connection left inside a transaction rolls it back; the permit
                // then lets a new connection take its place.
                None if self.in_transaction => drop(conn),
                None => self
                    .slots
                    .idle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(conn),
                Some(batch) => {
                    // On the writer, closing would roll back the whole batch: the dropped
                    // transaction's savepoint is rolled back before the next use instead.
                    if self.in_transaction {
                        batch.state().dangling = Some(self.opened_batch);
                    }
                    self.slots
                        .idle
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(conn);
                    self.slots.settle_later();
                }
            }
        }
    }
}

impl Deref for Conn {
    type Target = dyn SqlConn;
    fn deref(&self) -> &(dyn SqlConn + 'static) {
        self.conn.as_ref().expect("a connection until dropped")
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut (dyn SqlConn + 'static) {
        self.conn.as_mut().expect("a connection until dropped")
    }
}

tokio::task_local! {
    /// PostgreSQL: the pooled connection the current request keeps between its statements.
    static KEPT: RefCell<Option<PoolConnection<Any>>>;
}

/// Runs `request` keeping one PostgreSQL connection between its statements. sqlx's pool
/// tests every connection as it goes back (a round trip to the server, in a task of its own),
/// so a request that took a connection for each of its statements paid one test each; kept,
/// the connection goes back, and is tested, once, when the request ends. A transaction starts
/// on the kept connection, so a request never waits for a second connection while holding an
/// idle one. Outside such a scope (background tasks), and on SQLite, nothing changes.
pub async fn keeping_connection<F: Future>(request: F) -> F::Output {
    KEPT.scope(RefCell::new(None), request).await
}

/// A pooled PostgreSQL connection: the request's kept one if there is one, else a new one from
/// the pool. Dropped, it is kept for the request's next statement (inside
/// [`keeping_connection`]), or goes back to the pool.
pub(super) struct Pooled(Option<PoolConnection<Any>>);

impl Pooled {
    pub(super) async fn acquire(pool: &AnyPool) -> Result<Self, sqlx::Error> {
        if let Some(conn) = KEPT.try_with(|k| k.borrow_mut().take()).ok().flatten() {
            return Ok(Self(Some(conn)));
        }
        pool.acquire().await.map(|conn| Self(Some(conn)))
    }

    /// The connection itself, no longer kept when dropped (a transaction's: sqlx rolls it
    /// back if it is dropped unfinished, and its pool tests it on return).
    pub(super) fn into_inner(mut self) -> PoolConnection<Any> {
        self.0.take().expect("a connection until dropped")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let mut conn = self.0.take();
        if conn.is_some() {
            let _ = KEPT.try_with(|k| {
                let mut kept = k.borrow_mut();
                if kept.is_none() {
                    *kept = conn.take();
                }
            });
        }
        // Otherwise `conn` goes back to the pool here.
    }
}

impl Deref for Pooled {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.0.as_ref().expect("a connection until dropped")
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.0.as_mut().expect("a connection until dropped")
    }
}

/// A connection for one statement or one operation: `&mut *handle` is an executor.
pub(super) enum Handle {
    Sqlite(Conn),
    Pool(Pooled),
}

impl Deref for Handle {
    type Target = dyn SqlConn;
    fn deref(&self) -> &(dyn SqlConn + 'static) {
        match self {
            Handle::Sqlite(c) => &**c,
            Handle::Pool(c) => &**c,
        }
    }
}

impl DerefMut for Handle {
    fn deref_mut(&mut self) -> &mut (dyn SqlConn + 'static) {
        match self {
            Handle::Sqlite(c) => &mut **c,
            Handle::Pool(c) => &mut **c,
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
    /// Exactly one statement on PostgreSQL, in autocommit mode: `commit` and `rollback` have
    /// nothing to do (see `Store::begin_single`).
    Single(Pooled),
}

impl Tx {
    /// A write transaction on SQLite's writer: a member of its open batch (see the module's
    /// documentation). SQLite runs one writer at a time: its transactions never interleave.
    pub(super) async fn begin_sqlite(writer: &Arc<Slots>) -> Result<Self, sqlx::Error> {
        let conn = writer.acquire_for_tx().await?;
        Ok(Tx(TxInner::Sqlite(conn), PointsLock::NotNeeded))
    }

    pub(super) fn pool(tx: Transaction<'static, Any>) -> Self {
        Tx(TxInner::Pool(tx), PointsLock::NotTaken)
    }

    /// One statement on PostgreSQL, which commits on its own (see `Store::begin_single`).
    pub(super) fn single(conn: Pooled) -> Self {
        Tx(TxInner::Single(conn), PointsLock::NotNeeded)
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
            TxInner::Sqlite(conn) if conn.slots.batch.is_none() => {
                let mut conn = conn;
                conn.execute(how).await?;
                conn.in_transaction = false;
                Ok(())
            }
            TxInner::Sqlite(conn) if how == "COMMIT" => commit_in_batch(conn).await,
            TxInner::Sqlite(mut conn) => {
                let whole = conn.opened_batch;
                conn.undo(whole).await?;
                conn.in_transaction = false;
                if whole {
                    return Ok(());
                }
                let batch = conn.slots.batch.as_ref().expect("a writer");
                if batch.waiting.load(Ordering::SeqCst) == 0 {
                    conn.end_batch(Ok(())).await?;
                }
                Ok(())
            }
            TxInner::Pool(tx) if how == "COMMIT" => tx.commit().await,
            TxInner::Pool(tx) => tx.rollback().await,
            TxInner::Single(_) => Ok(()),
        }
    }
}

/// Releases the transaction's savepoint into the batch, then waits for the batch's commit:
/// it commits the batch itself when no other transaction waits for the writer (or the batch
/// is full), and otherwise leaves that to the last of them.
async fn commit_in_batch(mut conn: Conn) -> Result<(), sqlx::Error> {
    if !conn.opened_batch {
        conn.execute("RELEASE SAVEPOINT tx").await?;
    }
    conn.in_transaction = false;
    let batch = conn.slots.batch.as_ref().expect("a writer");
    let (member, outcome) = oneshot::channel();
    let commit_now = {
        let mut s = batch.state();
        s.members.push(member);
        batch.waiting.load(Ordering::SeqCst) == 0 || batch.full(&s)
    };
    if commit_now {
        // Its outcome reaches this member through `outcome`, like every other.
        let _ = conn.end_batch(Ok(())).await;
    }
    drop(conn);
    match outcome.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(sqlx::Error::Protocol(format!(
            "the batch of writes did not commit: {reason}"
        ))),
        Err(_) => Err(sqlx::Error::Protocol(
            "the batch of writes ended without an outcome".into(),
        )),
    }
}

impl Deref for Tx {
    type Target = dyn SqlConn;
    fn deref(&self) -> &(dyn SqlConn + 'static) {
        match &self.0 {
            TxInner::Sqlite(c) => &**c,
            TxInner::Pool(t) => &**t,
            TxInner::Single(c) => &**c,
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut (dyn SqlConn + 'static) {
        match &mut self.0 {
            TxInner::Sqlite(c) => &mut **c,
            TxInner::Pool(t) => &mut **t,
            TxInner::Single(c) => &mut **c,
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
        let slots = if max == 1 {
            // Batches close when no writer waits, not by age: the tests hold them open.
            Slots::build(
                url.parse().unwrap(),
                1,
                "FULL".into(),
                Some(Batching::new(Duration::from_secs(60))),
            )
        } else {
            Slots::new(url.parse().unwrap(), max, "FULL".into())
        };
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
        let mut tx = Tx::begin_sqlite(&writer).await.unwrap();
        sqlx::query("INSERT INTO t (n) VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        drop(tx);
        // The next writer gets a working connection, and the dropped insert is gone.
        let mut tx = Tx::begin_sqlite(&writer).await.unwrap();
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
                    let mut tx = Tx::begin_sqlite(&writer).await.unwrap();
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

    /// Waits until `n` transactions queue for the writer.
    async fn until_waiting(writer: &Arc<Slots>, n: usize) {
        let batch = writer.batch.as_ref().unwrap();
        for _ in 0..1000 {
            if batch.waiting.load(Ordering::SeqCst) == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("{n} writers never queued");
    }

    async fn values(slots: &Arc<Slots>) -> Vec<i64> {
        let mut conn = slots.acquire().await.unwrap();
        sqlx::query("SELECT n FROM t ORDER BY n")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<i64, _>("n"))
            .collect()
    }

    async fn insert(tx: &mut Tx, n: Option<i64>) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(n)
            .execute(&mut **tx)
            .await
            .map(|_| ())
    }

    #[tokio::test]
    async fn a_failing_transaction_in_a_batch_rolls_back_alone_and_the_others_commit_together() {
        let dir = tempfile::tempdir().unwrap();
        let writer = slots(&dir, 1).await;
        let commits_before = writer.batch_commits();
        let mut first = Tx::begin_sqlite(&writer).await.unwrap();
        insert(&mut first, Some(1)).await.unwrap();
        // The second writes a row, then fails (NOT NULL) and is dropped, as `?` would.
        let failing = tokio::spawn({
            let writer = writer.clone();
            async move {
                let mut tx = Tx::begin_sqlite(&writer).await.unwrap();
                insert(&mut tx, Some(2)).await.unwrap();
                insert(&mut tx, None).await
            }
        });
        until_waiting(&writer, 1).await;
        let third = tokio::spawn({
            let writer = writer.clone();
            async move {
                let mut tx = Tx::begin_sqlite(&writer).await.unwrap();
                insert(&mut tx, Some(3)).await.unwrap();
                tx.commit().await
            }
        });
        until_waiting(&writer, 2).await;
        // Others wait: the first leaves the batch open for them and waits for its commit.
        first.commit().await.unwrap();
        assert!(failing.await.unwrap().is_err());
        third.await.unwrap().unwrap();
        assert_eq!(values(&writer).await, [1, 3]);
        assert_eq!(
            writer.batch_commits() - commits_before,
            1,
            "the first and the third committed with one COMMIT"
        );
    }

    #[tokio::test]
    async fn a_commit_returns_only_after_the_shared_commit() {
        let dir = tempfile::tempdir().unwrap();
        let writer = slots(&dir, 1).await;
        let readers = Slots::new(
            format!("sqlite://{}/t.db?mode=rwc", dir.path().display())
                .parse()
                .unwrap(),
            2,
            "FULL".into(),
        );
        let mut first = Tx::begin_sqlite(&writer).await.unwrap();
        insert(&mut first, Some(1)).await.unwrap();
        let (go, wait) = oneshot::channel::<()>();
        let second = tokio::spawn({
            let writer = writer.clone();
            async move {
                let mut tx = Tx::begin_sqlite(&writer).await.unwrap();
                // It sees the batch's earlier write.
                let seen: i64 = sqlx::query("SELECT COUNT(*) AS n FROM t WHERE n = 1")
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap()
                    .get("n");
                insert(&mut tx, Some(2)).await.unwrap();
                wait.await.unwrap();
                tx.commit().await.map(|()| seen)
            }
        });
        until_waiting(&writer, 1).await;
        let first = tokio::spawn(async move { first.commit().await });
        // The first released its savepoint, but the batch is still open (the second holds
        // the writer): its commit has not returned, and no reader sees its row.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !first.is_finished(),
            "acknowledged before the batch committed"
        );
        assert_eq!(values(&readers).await, Vec::<i64>::new());
        go.send(()).unwrap();
        assert_eq!(second.await.unwrap().unwrap(), 1);
        first.await.unwrap().unwrap();
        assert_eq!(values(&readers).await, [1, 2]);
    }

    #[tokio::test]
    async fn a_single_statement_write_commits_the_open_batch_first() {
        let dir = tempfile::tempdir().unwrap();
        let writer = slots(&dir, 1).await;
        let mut first = Tx::begin_sqlite(&writer).await.unwrap();
        insert(&mut first, Some(1)).await.unwrap();
        let plain = tokio::spawn({
            let writer = writer.clone();
            async move {
                let mut conn = writer.acquire().await.unwrap();
                sqlx::query("INSERT INTO t (n) VALUES (2)")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
        });
        // A plain write does not count as a waiting transaction: the first commits alone.
        first.commit().await.unwrap();
        plain.await.unwrap();
        assert_eq!(values(&writer).await, [1, 2]);
        let batch = writer.batch.as_ref().unwrap();
        assert!(batch.state().open_since.is_none());
    }

    #[tokio::test]
    async fn a_transaction_cancelled_inside_a_batch_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let writer = slots(&dir, 1).await;
        let mut first = Tx::begin_sqlite(&writer).await.unwrap();
        insert(&mut first, Some(1)).await.unwrap();
        let (started, wait_started) = oneshot::channel::<()>();
        let cancelled = tokio::spawn({
            let writer = writer.clone();
            async move {
                let mut tx = Tx::begin_sqlite(&writer).await.unwrap();
                insert(&mut tx, Some(2)).await.unwrap();
                started.send(()).unwrap();
                std::future::pending::<()>().await;
                drop(tx);
            }
        });
        until_waiting(&writer, 1).await;
        let first = tokio::spawn(async move { first.commit().await });
        wait_started.await.unwrap();
        // The request holding the second transaction goes away: its task is dropped.
        cancelled.abort();
        let _ = cancelled.await;
        // The batch still commits, without the cancelled write.
        tokio::time::timeout(Duration::from_secs(5), first)
            .await
            .expect("the batch was committed")
            .unwrap()
            .unwrap();
        assert_eq!(values(&writer).await, [1]);
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
