//! The audit log's rows: appending an entry inside the transaction of the change it records
//! (appends serialized, so sequence numbers run 1, 2, 3… in one chain), and reading the chain
//! back. How an entry is hashed is the audit room's rule: the entry brings its own `seal`.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::error::Result;
use super::{Store, Tx};

/// The previous hash of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry to append, as the audit room built it: everything but its place in the chain.
#[derive(Clone, Debug)]
pub struct AuditRecord {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// A JSON object in its canonical form.
    pub details: String,
    /// Computes the entry's hash once its sequence number and previous hash are known.
    pub seal: fn(&AuditLink<'_>) -> String,
}

/// One entry in its place in the chain: what its hash covers.
#[derive(Clone, Copy, Debug)]
pub struct AuditLink<'a> {
    pub sequence: i64,
    pub at: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub details: &'a str,
    pub prev_hash: &'a str,
}

/// An entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAuditEntry {
    pub sequence: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl StoredAuditEntry {
    pub fn link(&self) -> AuditLink<'_> {
        AuditLink {
            sequence: self.sequence,
            at: self.at,
            actor: &self.actor,
            action: &self.action,
            target: &self.target,
            details: &self.details,
            prev_hash: &self.prev_hash,
        }
    }
}

/// Which entries `audit_entries` lists; `None` matches any.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<i64>,
    /// Entries made before this time (Unix seconds).
    pub until: Option<i64>,
}

const COLUMNS: &str = "sequence, at, actor, action, target, details, prev_hash, hash";

fn entry_row(r: &AnyRow) -> Result<StoredAuditEntry> {
    Ok(StoredAuditEntry {
        sequence: r.try_get("sequence")?,
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        details: r.try_get("details")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// Appends `record` as the next entry, in `tx`. Call it last in the transaction: on
/// PostgreSQL it takes the chain's lock, held until the commit, so appends (and the reads
/// of the head they start from) happen one at a time; on SQLite the transaction already holds
/// the one write lock. The sequence number's primary key refuses a second entry at one place
/// should anything else slip.
pub(super) async fn append(tx: &mut Tx, record: &AuditRecord) -> Result<i64> {
    tx.lock_audit_chain().await?;
    let head = sqlx::query("SELECT sequence, hash FROM audit_log ORDER BY sequence DESC LIMIT 1")
        .fetch_optional(&mut **tx)
        .await?;
    let (sequence, prev_hash) = match head {
        Some(r) => (r.try_get::<i64, _>("sequence")? + 1, r.try_get("hash")?),
        None => (1, GENESIS_HASH.to_string()),
    };
    let hash = (record.seal)(&AuditLink {
        sequence,
        at: record.at,
        actor: &record.actor,
        action: &record.action,
        target: &record.target,
        details: &record.details,
        prev_hash: &prev_hash,
    });
    sqlx::query(&format!(
        "INSERT INTO audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(sequence)
    .bind(record.at)
    .bind(&record.actor)
    .bind(&record.action)
    .bind(&record.target)
    .bind(&record.details)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    Ok(sequence)
}

impl Store {
    /// Appends an entry on its own, for a change made outside the database (a keyring file).
    pub async fn append_audit(&self, record: &AuditRecord) -> Result<i64> {
        let mut tx = self.begin().await?;
        let sequence = append(&mut tx, record).await?;
        tx.commit().await?;
        Ok(sequence)
    }

    /// Up to `limit` entries after sequence number `after`, in order: the chain, page by page.
    pub async fn audit_chain_page(&self, after: i64, limit: i64) -> Result<Vec<StoredAuditEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE sequence > $1 ORDER BY sequence LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(entry_row).collect()
    }

    /// The latest entry, if any.
    pub async fn audit_head(&self) -> Result<Option<StoredAuditEntry>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_log ORDER BY sequence DESC LIMIT 1"
        ))
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(entry_row).transpose()
    }

    /// The latest `limit` entries matching `filter`, oldest first.
    pub async fn audit_entries(
        &self,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<StoredAuditEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_log
             WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2)
               AND ($3 IS NULL OR target = $3) AND ($4 IS NULL OR at >= $4)
               AND ($5 IS NULL OR at < $5)
             ORDER BY sequence DESC LIMIT $6"
        ))
        .bind(filter.actor.as_deref())
        .bind(filter.action.as_deref())
        .bind(filter.target.as_deref())
        .bind(filter.since)
        .bind(filter.until)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        let mut entries = rows.iter().map(entry_row).collect::<Result<Vec<_>>>()?;
        entries.reverse();
        Ok(entries)
    }
}
