//! What a statement on a direct connection reports: its line in the statement log, as sqlx
//! writes it, and its errors, as sqlx's SQLite driver classifies them.

use std::borrow::Cow;
use std::time::Duration;

use rusqlite::ffi;
use sqlx::Error;
use sqlx_core::error::{DatabaseError, ErrorKind};

use super::SLOW_STATEMENT;

/// Whether SQLite refused a statement because another connection holds a lock it needs.
pub(super) fn is_busy(e: &Error) -> bool {
    matches!(e, Error::Database(db) if db.code().and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == ffi::SQLITE_BUSY))
}

/// Logs a statement as sqlx's query logger does, so that what reads sqlx's statement log (the
/// benchmark's and the tests' statement counts) reads these too.
pub(super) fn log(sql: &str, rows_returned: u64, rows_affected: u64, elapsed: Duration) {
    let slow = elapsed >= SLOW_STATEMENT;
    let enabled = if slow {
        tracing::enabled!(target: "sqlx::query", tracing::Level::WARN)
    } else {
        tracing::enabled!(target: "sqlx::query", tracing::Level::DEBUG)
    };
    if !enabled {
        return;
    }
    let mut summary = sql.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
    let statement = if summary != sql {
        summary.push_str(" …");
        format!("\n\n{sql}\n")
    } else {
        String::new()
    };
    let elapsed_secs = elapsed.as_secs_f64();
    // The same fields at either level (a level must be known where the event is written).
    macro_rules! statement {
        ($level:ident $(, $message:literal)?) => {
            tracing::$level!(
                target: "sqlx::query",
                summary,
                db.statement = statement,
                rows_affected,
                rows_returned,
                ?elapsed,
                elapsed_secs,
                $($message)?
            )
        };
    }
    if slow {
        statement!(
            warn,
            "slow statement: execution time exceeded alert threshold"
        );
    } else {
        statement!(debug);
    }
}

/// An SQLite error, as sqlx's own SQLite errors classify it (a unique, foreign-key, not-null
/// or check constraint).
#[derive(Debug)]
struct DirectError {
    /// The extended result code.
    code: i32,
    message: String,
}

impl std::fmt::Display for DirectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for DirectError {}

impl DatabaseError for DirectError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

pub(super) fn database_error(e: rusqlite::Error) -> Error {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            Error::Database(Box::new(DirectError {
                code: failure.extended_code,
                message: message.unwrap_or_else(|| failure.to_string()),
            }))
        }
        other => Error::Protocol(other.to_string()),
    }
}
