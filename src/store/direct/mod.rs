//! SQLite statements on the calling thread.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every statement to it
//! and its rows back: two thread switches per statement, which on two cores were the largest
//! part of a checkout's CPU (BENCHMARKS.md). The store's SQLite connections are therefore
//! opened through the C API (`rusqlite`, on the same `libsqlite3-sys` as sqlx's driver) and
//! run each statement where the store's code calls it. Statements are short (the store's
//! transactions await nothing but their own statements), so they do not hold up the async
//! workers; the commits that wait for the disk are few, one per batch of writes (`conn.rs`).
//!
//! The store's queries are unchanged: they are sqlx queries over the `Any` driver, bound and
//! read as on PostgreSQL. Every connection is a [`SqlConn`], and `&mut (dyn SqlConn + 'static)` is an sqlx
//! executor: PostgreSQL's connections pass their statements to sqlx, SQLite's [`Direct`]
//! connections bind the same arguments and give the same `Any` rows that sqlx's SQLite driver
//! gives (an integer is a `BIGINT`, a real a `DOUBLE`, text and blobs as stored). Each
//! statement is logged as sqlx logs it (target `sqlx::query`, its summary and timing).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use futures_util::StreamExt;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::OpenFlags;
use sqlx::{Any, AnyConnection, Describe, Either, Error, Execute, Executor};
use sqlx_core::any::{
    AnyArguments, AnyColumn, AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo, AnyTypeInfoKind,
    AnyValue, AnyValueKind,
};
use sqlx_core::ext::ustr::UStr;

use report::{database_error, is_busy, log};

mod report;

/// Statements kept prepared per connection: more than the store's distinct statements.
const STATEMENT_CACHE: usize = 512;
/// How long a statement waits for a lock another connection holds before it fails (SQLite's
/// own busy handler is off on these connections: see [`Direct::run_waiting`]).
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// A statement that took this long is logged as slow (as sqlx does).
const SLOW_STATEMENT: Duration = Duration::from_secs(1);

/// A database connection the store's statements run on (see the module's documentation).
pub trait SqlConn: Send + std::fmt::Debug {
    /// Runs `sql` with `arguments`: its rows, then its result.
    fn run_many<'q>(
        &'q mut self,
        sql: &'q str,
        arguments: Option<AnyArguments<'q>>,
    ) -> BoxStream<'q, Result<Either<AnyQueryResult, AnyRow>, Error>>;

    /// Runs `sql` with `arguments`: its first row, if any.
    fn run_optional<'q>(
        &'q mut self,
        sql: &'q str,
        arguments: Option<AnyArguments<'q>>,
    ) -> BoxFuture<'q, Result<Option<AnyRow>, Error>>;
}

impl SqlConn for AnyConnection {
    fn run_many<'q>(
        &'q mut self,
        sql: &'q str,
        arguments: Option<AnyArguments<'q>>,
    ) -> BoxStream<'q, Result<Either<AnyQueryResult, AnyRow>, Error>> {
        Executor::fetch_many(self, (sql, arguments))
    }

    fn run_optional<'q>(
        &'q mut self,
        sql: &'q str,
        arguments: Option<AnyArguments<'q>>,
    ) -> BoxFuture<'q, Result<Option<AnyRow>, Error>> {
        Executor::fetch_optional(self, (sql, arguments))
    }
}

impl<'c> Executor<'c> for &'c mut (dyn SqlConn + 'static) {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        mut query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match query.take_arguments() {
            Ok(arguments) => self.run_many(query.sql(), arguments),
            Err(e) => Box::pin(futures_util::stream::once(std::future::ready(Err(
                Error::Encode(e),
            )))),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        mut query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match query.take_arguments() {
            Ok(arguments) => self.run_optional(query.sql(), arguments),
            Err(e) => Box::pin(std::future::ready(Err(Error::Encode(e)))),
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        _sql: &'q str,
        _parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement<'q>, Error>>
    where
        'c: 'e,
    {
        Box::pin(std::future::ready(Err(unsupported("prepare"))))
    }

    fn describe<'e, 'q: 'e>(self, _sql: &'q str) -> BoxFuture<'e, Result<Describe<Any>, Error>>
    where
        'c: 'e,
    {
        Box::pin(std::future::ready(Err(unsupported("describe"))))
    }
}

fn unsupported(what: &str) -> Error {
    Error::Protocol(format!("the store's connections do not {what} statements"))
}

/// Where and how a [`Direct`] connection opens its database, from an `sqlite:` URL.
#[derive(Clone, Debug)]
pub(crate) struct DirectOptions {
    /// The file, or `None` for a database in memory.
    path: Option<String>,
    flags: OpenFlags,
}

impl DirectOptions {
    /// `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:`, with an optional `mode=` of `ro`,
    /// `rw`, `rwc` (the default) or `memory`.
    fn from_url(url: &str) -> Result<Self, Error> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| Error::Configuration("not an sqlite: URL".into()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut memory = path.is_empty() || path == ":memory:";
        for (key, value) in query.split('&').filter_map(|p| p.split_once('=')) {
            if key == "mode" {
                flags.remove(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE);
                match value {
                    "ro" => flags.insert(OpenFlags::SQLITE_OPEN_READ_ONLY),
                    "rw" => flags.insert(OpenFlags::SQLITE_OPEN_READ_WRITE),
                    "rwc" => flags
                        .insert(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE),
                    "memory" => {
                        memory = true;
                        flags.insert(
                            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
                        );
                    }
                    other => {
                        return Err(Error::Configuration(
                            format!("unknown SQLite mode {other:?}").into(),
                        ))
                    }
                }
            }
        }
        Ok(Self {
            path: (!memory).then(|| path.to_string()),
            flags,
        })
    }
}

impl std::str::FromStr for DirectOptions {
    type Err = Error;

    fn from_str(url: &str) -> Result<Self, Error> {
        Self::from_url(url)
    }
}

/// An SQLite connection whose statements run on the calling thread.
pub(crate) struct Direct {
    conn: rusqlite::Connection,
    /// The column names and columns of each statement's rows, shared by all its rows.
    columns: HashMap<String, Columns>,
}

#[derive(Clone)]
struct Columns {
    names: Arc<sqlx_core::HashMap<UStr, usize>>,
    columns: Arc<[AnyColumn]>,
}

// Deliberately shows nothing: a connection holds no secret, but its statements' data might.
impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Direct")
    }
}

impl Direct {
    pub(crate) fn open(options: &DirectOptions) -> Result<Self, Error> {
        let conn = match &options.path {
            Some(path) => rusqlite::Connection::open_with_flags(path, options.flags),
            None => rusqlite::Connection::open_in_memory_with_flags(options.flags),
        }
        .map_err(database_error)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self {
            conn,
            columns: HashMap::new(),
        })
    }

    /// Runs `sql`: its rows (at most `limit`), then its result, logged as sqlx logs it.
    fn run(
        &mut self,
        sql: &str,
        values: &[AnyValueKind<'_>],
        limit: Option<usize>,
    ) -> Result<Vec<Either<AnyQueryResult, AnyRow>>, Error> {
        let started = Instant::now();
        let mut out = Vec::new();
        let (returned, affected) = if several_statements(sql) {
            if !values.is_empty() {
                return Err(Error::Protocol(
                    "several statements in one query take no arguments".into(),
                ));
            }
            self.conn.execute_batch(sql).map_err(database_error)?;
            (0, self.conn.changes())
        } else {
            let mut stmt = self.conn.prepare_cached(sql).map_err(database_error)?;
            for index in 1..=stmt.parameter_count() {
                let position = stmt
                    .parameter_name(index)
                    .and_then(|name| name.get(1..))
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(index);
                // An argument not given is NULL, as with sqlx.
                let value = values.get(position - 1).map_or(ValueRef::Null, value_ref);
                stmt.raw_bind_parameter(index, ToSqlOutput::Borrowed(value))
                    .map_err(database_error)?;
            }
            let columns = match stmt.column_count() {
                0 => None,
                _ => Some(columns_of(&mut self.columns, sql, &stmt)),
            };
            let readonly = stmt.readonly();
            let mut rows = stmt.raw_query();
            let mut returned = 0;
            while let Some(row) = rows.next().map_err(database_error)? {
                let columns = columns.as_ref().expect("a row has columns");
                out.push(Either::Right(any_row(row, columns)?));
                returned += 1;
                if limit.is_some_and(|limit| returned >= limit) {
                    break;
                }
            }
            drop(rows);
            let affected = if readonly { 0 } else { self.conn.changes() };
            (returned as u64, affected)
        };
        out.push(Either::Left(AnyQueryResult {
            rows_affected: affected,
            last_insert_id: Some(self.conn.last_insert_rowid()),
        }));
        log(sql, returned, affected, started.elapsed());
        Ok(out)
    }

    /// [`Direct::run`], run again while the database is locked by another connection (another
    /// node, the CLI, a transaction of this process on another connection), for up to
    /// [`BUSY_TIMEOUT`]. The wait is a timer, not SQLite's busy handler, which would sleep the
    /// async worker thread that the lock's holder may need to finish. A statement refused
    /// as busy has done nothing, and no row of a refused attempt is given.
    async fn run_waiting(
        &mut self,
        sql: &str,
        arguments: Option<AnyArguments<'_>>,
        limit: Option<usize>,
    ) -> Result<Vec<Either<AnyQueryResult, AnyRow>>, Error> {
        let values = arguments.map(|a| a.values.0).unwrap_or_default();
        let mut waited = Duration::ZERO;
        let mut pause = Duration::from_micros(500);
        loop {
            match self.run(sql, &values, limit) {
                Err(e) if is_busy(&e) && waited < BUSY_TIMEOUT => {
                    tokio::time::sleep(pause).await;
                    waited += pause;
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                done => return done,
            }
        }
    }
}

impl SqlConn for Direct {
    fn run_many<'q>(
        &'q mut self,
        sql: &'q str,
        arguments: Option<AnyArguments<'q>>,
    ) -> BoxStream<'q, Result<Either<AnyQueryResult, AnyRow>, Error>> {
        Box::pin(
            futures_util::stream::once(self.run_waiting(sql, arguments, None)).flat_map(|done| {
                let items: Vec<_> = match done {
                    Ok(items) => items.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(e)],
                };
                futures_util::stream::iter(items)
            }),
        )
    }

    fn run_optional<'q>(
        &'q mut self,
        sql: &'q str,
        arguments: Option<AnyArguments<'q>>,
    ) -> BoxFuture<'q, Result<Option<AnyRow>, Error>> {
        Box::pin(async move {
            let items = self.run_waiting(sql, arguments, Some(1)).await?;
            Ok(items.into_iter().find_map(|item| match item {
                Either::Right(row) => Some(row),
                Either::Left(_) => None,
            }))
        })
    }
}

/// Whether `sql` holds more than one statement (a `;` followed by more than blanks).
fn several_statements(sql: &str) -> bool {
    sql.trim_end().trim_end_matches(';').contains(';')
}

fn value_ref<'a>(value: &'a AnyValueKind<'_>) -> ValueRef<'a> {
    match value {
        AnyValueKind::Null(_) => ValueRef::Null,
        AnyValueKind::Bool(b) => ValueRef::Integer(i64::from(*b)),
        AnyValueKind::SmallInt(i) => ValueRef::Integer(i64::from(*i)),
        AnyValueKind::Integer(i) => ValueRef::Integer(i64::from(*i)),
        AnyValueKind::BigInt(i) => ValueRef::Integer(*i),
        AnyValueKind::Real(r) => ValueRef::Real(f64::from(*r)),
        AnyValueKind::Double(d) => ValueRef::Real(*d),
        AnyValueKind::Text(t) => ValueRef::Text(t.as_bytes()),
        AnyValueKind::Blob(b) => ValueRef::Blob(b),
        // `AnyValueKind` is non-exhaustive; the store binds none of the kinds it may add.
        _ => ValueRef::Null,
    }
}

/// The columns of `sql`'s rows, named as SQLite names them (a later column of the same name
/// wins, as with sqlx).
fn columns_of(
    cache: &mut HashMap<String, Columns>,
    sql: &str,
    stmt: &rusqlite::Statement<'_>,
) -> Columns {
    if let Some(known) = cache.get(sql) {
        return known.clone();
    }
    let mut names = sqlx_core::HashMap::default();
    let mut columns = Vec::with_capacity(stmt.column_count());
    for ordinal in 0..stmt.column_count() {
        let name = UStr::new(stmt.column_name(ordinal).unwrap_or_default());
        names.insert(name.clone(), ordinal);
        columns.push(AnyColumn {
            ordinal,
            name,
            type_info: AnyTypeInfo {
                kind: AnyTypeInfoKind::Null,
            },
        });
    }
    let known = Columns {
        names: Arc::new(names),
        columns: columns.into(),
    };
    cache.insert(sql.to_string(), known.clone());
    known
}

/// A row as sqlx's SQLite driver gives it to the `Any` driver: by each value's stored type.
fn any_row(row: &rusqlite::Row<'_>, columns: &Columns) -> Result<AnyRow, Error> {
    let mut values = Vec::with_capacity(columns.columns.len());
    for ordinal in 0..columns.columns.len() {
        let kind = match row.get_ref(ordinal).map_err(database_error)? {
            ValueRef::Null => AnyValueKind::Null(AnyTypeInfoKind::Null),
            ValueRef::Integer(i) => AnyValueKind::BigInt(i),
            ValueRef::Real(r) => AnyValueKind::Double(r),
            ValueRef::Text(t) => AnyValueKind::Text(Cow::Owned(
                std::str::from_utf8(t)
                    .map_err(|e| Error::ColumnDecode {
                        index: ordinal.to_string(),
                        source: e.into(),
                    })?
                    .to_string(),
            )),
            ValueRef::Blob(b) => AnyValueKind::Blob(Cow::Owned(b.to_vec())),
        };
        values.push(AnyValue { kind });
    }
    Ok(AnyRow {
        column_names: columns.names.clone(),
        columns: columns.columns.to_vec(),
        values,
    })
}

#[cfg(test)]
mod tests;
