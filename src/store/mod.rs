//! Every SQL statement of the wallet lives under this folder. One `Store` serves SQLite and
//! PostgreSQL with sqlx's `Any` queries: they are written once in portable SQL (`$N`
//! placeholders, `BIGINT` integers, `RETURNING`, `ON CONFLICT`), run by sqlx on PostgreSQL and
//! on SQLite by the store's own connections on the calling thread (`direct/`), and
//! migrations are kept per backend in `migrations/`. The store has its own error type (`store::Error`): it reports
//! refusals as `Refusal`s and leaves their wording to the services.

mod activity;
pub mod addresses;
pub mod admins;
pub mod audit;
mod cards;
mod ceremonies;
pub mod checkout;
mod conn;
pub(crate) mod direct;
pub mod disputes;
pub mod error;
mod files;
pub mod guarantee;
pub mod idempotency;
pub mod lots_check;
mod merchants;
mod passkeys;
pub mod payments;
pub mod points;
pub mod programme;
mod rate_limits;
pub mod receipts;
pub mod recovery_codes;
mod registration;
pub mod risk;
mod session_user;
mod sessions;
pub mod shops;
mod signin;
pub mod signing_keys;
pub mod simulator;
pub mod standing;
pub mod statements;
pub mod stats;
mod users;
pub mod webhooks;
mod wrapped;

use std::sync::Arc;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Transaction};

pub use self::conn::{keeping_connection, Tx};
use self::conn::{Handle, Pooled, Slots};
use self::direct::DirectOptions;
pub use self::session_user::keeping_session_user;

pub use activity::RefundRow;
pub use cards::{NewCardRow, SealedNumber};
pub use ceremonies::Taken;
pub use error::{Error, Refusal, Result};
pub use merchants::{
    MerchantRowEdit, NewMerchantRow, NewRegistrationRow, StatusChange, StoredMerchant,
    StoredRegistration,
};
pub use passkeys::{CounterUpdate, PasskeyUse, StoredPasskey};
pub use registration::{RegistrationEdit, COUNTER_WINDOW_SECS};
pub use sessions::{NewSession, SessionStore};
pub use signin::{SigninContext, SigninLookup, SigninPasskey, SigninWrite, SigninWritten};
pub use users::{FirstPasskey, NewUser};
pub use wrapped::{RewrapCandidate, WrappedTable};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// SQLite `synchronous` pragma (FULL, EXTRA or NORMAL).
    pub sqlite_synchronous: String,
}

/// The database, on either backend. Reads and writes take separate connections. On SQLite
/// the writes share one connection, so writers queue in the process (in order, without
/// sleeping) instead of on SQLite's busy handler, which sleeps up to 100 ms at a time and left
/// a core idle under load; other processes (the CLI, other nodes) still meet the busy
/// timeout. On PostgreSQL both come from one sqlx pool.
#[derive(Clone)]
pub struct Store {
    db: Db,
    backend: Backend,
}

#[derive(Clone)]
enum Db {
    Sqlite {
        readers: Arc<Slots>,
        writer: Arc<Slots>,
        /// For migrations, which run through sqlx's own SQLite connection.
        url: String,
        synchronous: String,
    },
    Postgres(AnyPool),
}

// Shows the backend only: the pool's options can hold the database password.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens a pool for `url` (`sqlite://PATH` or `postgres://…`). SQLite files are created
    /// if missing, readable by their owner only (`files.rs`), and run in WAL mode with foreign
    /// keys on and a busy timeout.
    pub async fn connect(url: &str, options: &StoreOptions) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            if let Some(path) = sqlite_path(url) {
                files::prepare_sqlite_files(std::path::Path::new(&path))?;
            }
            let url = if url.contains("mode=") {
                url.to_string()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_string())
        } else {
            anyhow::bail!("unsupported database URL scheme: use sqlite://PATH or postgres://…");
        };
        let connect_options: AnyConnectOptions = url.parse().context("invalid database URL")?;
        let synchronous = options.sqlite_synchronous.to_ascii_uppercase();
        let db = match backend {
            Backend::Sqlite => {
                // Migrations run on a connection of their own: the database must be a file.
                if sqlite_path(&url).is_none() {
                    anyhow::bail!("an SQLite database must be a file: use sqlite://PATH");
                }
                let direct: DirectOptions = url.parse().context("invalid database URL")?;
                let writer = Slots::writer(direct.clone(), synchronous.clone());
                let readers = Slots::new(direct, options.max_connections, synchronous.clone());
                // Opened now, so that a bad path or a locked file fails at start-up.
                drop(
                    writer
                        .acquire()
                        .await
                        .context("connecting to the database")?,
                );
                // The -wal and -shm files now exist too.
                if let Some(path) = sqlite_path(&url) {
                    files::narrow_sqlite_files(std::path::Path::new(&path));
                }
                Db::Sqlite {
                    readers,
                    writer,
                    url,
                    synchronous,
                }
            }
            Backend::Postgres => Db::Postgres(
                AnyPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(conn::ACQUIRE_TIMEOUT)
                    // No test query before each use of a pooled connection: it cost a round
                    // trip on every statement. A connection that broke while idle fails its
                    // next statement once (that request answers 500) and is then replaced.
                    .test_before_acquire(false)
                    .connect_with(connect_options)
                    .await
                    .context("connecting to the database")?,
            ),
        };
        Ok(Self { db, backend })
    }

    /// A connection for reading.
    async fn read(&self) -> Result<Handle, sqlx::Error> {
        match &self.db {
            Db::Sqlite { readers, .. } => readers.acquire().await.map(Handle::Sqlite),
            Db::Postgres(pool) => Pooled::acquire(pool).await.map(Handle::Pool),
        }
    }

    /// A connection for a single-statement write.
    async fn write(&self) -> Result<Handle, sqlx::Error> {
        session_user::forget();
        match &self.db {
            Db::Sqlite { writer, .. } => writer.acquire().await.map(Handle::Sqlite),
            Db::Postgres(pool) => Pooled::acquire(pool).await.map(Handle::Pool),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.db {
            Db::Sqlite {
                writer,
                url,
                synchronous,
                ..
            } => {
                // The store's writer first commits any open batch of writes, and is kept
                // meanwhile, so that no write of this process waits on the migration's lock.
                let _writer = writer.acquire().await?;
                let mut conn = AnyConnection::connect(url)
                    .await
                    .context("connecting to the database")?;
                conn::prepare_sqlite(&mut conn, synchronous).await?;
                SQLITE_MIGRATIONS
                    .run(&mut conn)
                    .await
                    .context("running database migrations")?;
                conn.close().await?;
            }
            Db::Postgres(pool) => {
                POSTGRES_MIGRATIONS
                    .run(&mut *Pooled::acquire(pool).await?)
                    .await
                    .context("running database migrations")?;
            }
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.read().await?)
            .await
            .map(|_| ())
    }

    /// Starts a write transaction. On SQLite it joins the writer's open batch, in a savepoint
    /// of its own, and its `commit` returns once the batch is committed (group commit, see
    /// `conn.rs`); a new batch takes the write lock up front (`BEGIN IMMEDIATE`), so a writer
    /// in another process waits on the busy timeout instead of deadlocking when a read lock
    /// would have to be upgraded.
    async fn begin(&self) -> Result<Tx, sqlx::Error> {
        session_user::forget();
        match &self.db {
            Db::Sqlite { writer, .. } => Tx::begin_sqlite(writer).await,
            Db::Postgres(pool) => begin_pooled(pool).await,
        }
    }

    /// A short write transaction, as [`Store::begin`]. It stays a transaction on PostgreSQL
    /// because some callers run several statements in it (`approve_consent` takes the
    /// ceremony, approves the consent, counts the approval, and rolls back when a limit
    /// refuses): run in autocommit mode, as it once was, each of those statements committed on
    /// its own and the rollback undid nothing, so a consent refused by a cap stayed approved
    /// and the other node's approval answered `consent_closed` (the two-node tests in
    /// `connected_shops` and `risk`). A write of exactly one statement uses
    /// [`Store::begin_single`].
    async fn begin_one(&self) -> Result<Tx, sqlx::Error> {
        session_user::forget();
        match &self.db {
            Db::Sqlite { writer, .. } => Tx::begin_sqlite(writer).await,
            Db::Postgres(pool) => begin_pooled(pool).await,
        }
    }

    /// A write of exactly one statement. On SQLite it joins the writer's batch like any
    /// transaction (so its `commit` returns once the batch is durable); on PostgreSQL the
    /// statement commits on its own, without the `BEGIN` and `COMMIT` round trips, so
    /// `rollback` undoes nothing: never run a second statement in it.
    async fn begin_single(&self) -> Result<Tx, sqlx::Error> {
        session_user::forget();
        match &self.db {
            Db::Sqlite { writer, .. } => Tx::begin_sqlite(writer).await,
            Db::Postgres(pool) => Pooled::acquire(pool).await.map(Tx::single),
        }
    }

    /// Removes expired sessions, ceremonies and rate-limit windows. A window is kept at least
    /// as long as the longest counter needs it (`registration::COUNTER_WINDOW_SECS`, an hour):
    /// a row kept longer is harmless, as every counter starts afresh past its own window.
    pub async fn purge_expired(&self, now: i64, rate_window_secs: i64) -> Result<u64, sqlx::Error> {
        let rate_window_secs = rate_window_secs.max(registration::COUNTER_WINDOW_SECS);
        let mut removed = 0;
        for (sql, at) in [
            ("DELETE FROM sessions WHERE expires_at <= $1", now),
            ("DELETE FROM ceremonies WHERE expires_at <= $1", now),
            (
                "DELETE FROM rate_limits WHERE window_start <= $1",
                now - rate_window_secs,
            ),
        ] {
            removed += sqlx::query(sql)
                .bind(at)
                .execute(&mut *self.write().await?)
                .await?
                .rows_affected();
        }
        Ok(removed)
    }
}

/// A PostgreSQL transaction, on the request's kept connection if it has one (see
/// [`keeping_connection`]).
async fn begin_pooled(pool: &AnyPool) -> Result<Tx, sqlx::Error> {
    let conn = Pooled::acquire(pool).await?.into_inner();
    Transaction::begin(conn, None).await.map(Tx::pool)
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// True when the error is a unique-constraint violation, on either backend.
fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
