//! The tower-sessions store over our database, so every node sees the same sessions. Rows are
//! keyed by a SHA-256 of the session id: a copy of the table does not yield usable cookies.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde_json::Value;
use sqlx::Row;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error as StoreError, Result as StoreResult};

use super::session_user;
use super::users::{user_row, USER_COLUMNS_OF_U};
use super::Store;
use crate::accounts::user::SESSION_USER_KEY;

#[derive(Clone)]
pub struct SessionStore {
    store: Store,
    /// What this node last read of each session (the stored text and expiry), taken back by
    /// the save that ends the same request: a request that changed nothing then writes nothing
    /// and runs no statement. Bounded: it is cleared when it holds too many entries (a request
    /// that loads an empty session does not save it), which only costs those saves a query.
    loaded: Arc<Mutex<HashMap<String, Loaded>>>,
    /// Sessions a sign-in has already deleted in its own transaction (see
    /// [`SessionStore::ended_by_sign_in`]): the delete that ends the same request, when the
    /// session id is cycled, then runs no statement. Bounded like `loaded`; a marker lost to
    /// the bound only costs that delete a statement.
    ended: Arc<Mutex<HashSet<String>>>,
    /// Sessions a sign-in has already inserted in its own transaction (see
    /// [`SessionStore::written_by_sign_in`]), by their stored text: the `create` that ends the
    /// same request, finding the same text, takes the row's id and runs no statement. Bounded
    /// like `loaded`; a row lost to the bound only costs that `create` its own `INSERT` (the
    /// unused row then expires unseen).
    written: Arc<Mutex<HashMap<String, Id>>>,
}

/// What `load` read of a session, for the save that ends the same request.
struct Loaded {
    text: String,
    expires_at: i64,
    /// The row's `user_id` column names the shopper of its data (false for a row written
    /// before the column, which the next save then writes).
    user_column_right: bool,
}

/// A session row a sign-in writes in its own transaction.
pub struct NewSession {
    pub id: Id,
    /// The session's data as the store keeps it (JSON, its keys in order).
    pub data: String,
    pub expires_at: i64,
    /// The signed-in shopper of `data`, for the row's `user_id` column.
    pub user_id: Option<String>,
}

// Deliberately shows nothing of the row: its data holds the session's CSRF token.
impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewSession")
    }
}

/// Sessions remembered between load and save; far above the requests in flight on one node.
const LOADED_CAPACITY: usize = 4096;

// Deliberately shows nothing: the store must never print session contents.
impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionStore")
    }
}

impl SessionStore {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            loaded: Arc::default(),
            ended: Arc::default(),
            written: Arc::default(),
        }
    }

    /// The row of the session that replaces `current` under the id `new`: the data this node
    /// loaded for `current` (and has not saved since), less the keys in `remove`, with the
    /// values in `set`. `None` when this node holds no copy of that data.
    pub fn replacement(
        &self,
        current: &Id,
        new: Id,
        expires_at: i64,
        remove: &[&str],
        set: Vec<(&str, Value)>,
    ) -> Option<NewSession> {
        let text = {
            let loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
            loaded.get(&id_hash(current))?.text.clone()
        };
        let mut data: BTreeMap<String, Value> = serde_json::from_str(&text).ok()?;
        for key in remove {
            data.remove(*key);
        }
        for (key, value) in set {
            data.insert(key.to_string(), value);
        }
        Some(NewSession {
            id: new,
            user_id: session_user_id(data.get(SESSION_USER_KEY)),
            // Encoded as `encode` encodes a record's data: equal data, equal text.
            data: serde_json::to_string(&data).ok()?,
            expires_at,
        })
    }

    /// Notes that a sign-in's transaction inserted this session's row, so that saving the
    /// same data as a new session takes the row's id instead of inserting another.
    pub fn written_by_sign_in(&self, session: &NewSession) {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if written.len() >= LOADED_CAPACITY {
            written.clear();
        }
        written.insert(session.data.clone(), session.id);
    }

    /// Notes that a sign-in's transaction deleted this session's row, so that cycling the
    /// session's id (which deletes the old row) needs no statement.
    pub fn ended_by_sign_in(&self, id: &Id) {
        let mut ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
        if ended.len() >= LOADED_CAPACITY {
            ended.clear();
        }
        ended.insert(id_hash(id));
    }
}

impl SessionStore {
    fn forget(&self, key: &str) -> Option<Loaded> {
        self.loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key)
    }
}

pub(super) fn id_hash(id: &Id) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = ring::digest::digest(&ring::digest::SHA256, id.0.to_le_bytes().as_slice());
    let mut hex = String::with_capacity(64);
    for b in digest.as_ref() {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    hex
}

/// The session data as JSON with its keys in order, so that unchanged data encodes to the same
/// text and `save` can tell that nothing changed.
fn encode(record: &Record) -> StoreResult<String> {
    let sorted: std::collections::BTreeMap<_, _> = record.data.iter().collect();
    serde_json::to_string(&sorted).map_err(|e| StoreError::Encode(e.to_string()))
}

/// The shopper a session's data is signed in as (its [`SESSION_USER_KEY`]).
fn session_user(value: Option<&Value>) -> Option<uuid::Uuid> {
    value?.as_str()?.parse().ok()
}

/// The same, as the `user_id` column holds it: the UUID as `users.id` spells it.
fn session_user_id(value: Option<&Value>) -> Option<String> {
    session_user(value).map(|id| id.to_string())
}

fn backend(err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(err.to_string())
}

#[async_trait]
impl tower_sessions::SessionStore for SessionStore {
    async fn create(&self, record: &mut Record) -> StoreResult<()> {
        let data = encode(record)?;
        let user_id = session_user_id(record.data.get(SESSION_USER_KEY));
        let written = self
            .written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&data);
        if let Some(id) = written {
            record.id = id;
            return Ok(());
        }
        // A fresh random 128-bit id practically never collides; if it does, draw again.
        loop {
            let mut tx = self.store.begin_single().await.map_err(backend)?;
            let inserted = sqlx::query(
                "INSERT INTO sessions (id_hash, data, expires_at, user_id) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id_hash) DO NOTHING",
            )
            .bind(id_hash(&record.id))
            .bind(&data)
            .bind(record.expiry_date.unix_timestamp())
            .bind(user_id.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    /// Writes the session only when it changed, or when its idle expiry has moved by more
    /// than a twentieth of the idle window (90 s of the default 30 min). A request that only
    /// reads its session then costs no write transaction (and, on SQLite at full durability,
    /// no fsync); when this node loaded it, no statement at all.
    async fn save(&self, record: &Record) -> StoreResult<()> {
        let data = encode(record)?;
        let user_id = session_user_id(record.data.get(SESSION_USER_KEY));
        let expires_at = record.expiry_date.unix_timestamp();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let refresh_before = expires_at - (expires_at - now).max(0) / 20;
        let key = id_hash(&record.id);
        let as_loaded = self.forget(&key);
        if as_loaded.is_some_and(|l| {
            l.text == data && l.expires_at >= refresh_before && l.user_column_right
        }) {
            return Ok(());
        }
        let mut tx = self.store.begin_single().await.map_err(backend)?;
        let updated = sqlx::query(
            "UPDATE sessions SET data = $1, expires_at = $2, user_id = $5
             WHERE id_hash = $3
               AND (data <> $1 OR expires_at < $4 OR COALESCE(user_id, '') <> $6)",
        )
        .bind(&data)
        .bind(expires_at)
        .bind(&key)
        .bind(refresh_before)
        .bind(user_id.as_deref())
        .bind(user_id.as_deref().unwrap_or(""))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        if updated.rows_affected() == 1 {
            return Ok(());
        }
        let unchanged = sqlx::query("SELECT 1 AS found FROM sessions WHERE id_hash = $1")
            .bind(&key)
            .fetch_optional(&mut *self.store.read().await.map_err(backend)?)
            .await
            .map_err(backend)?;
        if unchanged.is_some() {
            return Ok(());
        }
        let mut tx = self.store.begin_single().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, data, expires_at, user_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data,
               expires_at = excluded.expires_at, user_id = excluded.user_id",
        )
        .bind(&key)
        .bind(data)
        .bind(expires_at)
        .bind(user_id.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    /// Reads the session with its signed-in shopper's account, which it leaves for the
    /// request's read of that shopper (`session_user.rs`). Only when the row's `user_id` column
    /// names the shopper of the session's data: a row written before the column, or one whose
    /// column disagrees, leaves nothing, and the shopper is read on its own.
    async fn load(&self, id: &Id) -> StoreResult<Option<Record>> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let row = sqlx::query(&format!(
            "SELECT s.data, s.expires_at, s.user_id AS session_user, {USER_COLUMNS_OF_U}
             FROM sessions s LEFT JOIN users u ON u.id = s.user_id
             WHERE s.id_hash = $1 AND s.expires_at > $2"
        ))
        .bind(id_hash(id))
        .bind(now)
        .fetch_optional(&mut *self.store.read().await.map_err(backend)?)
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let data: String = row.try_get("data").map_err(backend)?;
        let expires_at: i64 = row.try_get("expires_at").map_err(backend)?;
        let record = Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(|e| StoreError::Decode(e.to_string()))?,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at).map_err(backend)?,
        };
        let user_id = session_user(record.data.get(SESSION_USER_KEY));
        let column: Option<String> = row.try_get("session_user").map_err(backend)?;
        let user_column_right = column == user_id.map(|id| id.to_string());
        if let (Some(user_id), true) = (user_id, user_column_right) {
            let account: Option<String> = row.try_get("id").map_err(backend)?;
            let user = match account {
                Some(_) => Some(user_row(&row).map_err(backend)?),
                None => None,
            };
            session_user::leave(user_id, user);
        }
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if loaded.len() >= LOADED_CAPACITY {
            loaded.clear();
        }
        loaded.insert(
            id_hash(id),
            Loaded {
                text: data,
                expires_at,
                user_column_right,
            },
        );
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> StoreResult<()> {
        self.forget(&id_hash(id));
        let ended = self
            .ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id_hash(id));
        if ended {
            return Ok(());
        }
        let mut tx = self.store.begin_single().await.map_err(backend)?;
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash(id))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_does_not_contain_the_id() {
        let id = Id(0x1234_5678_9abc_def0_1122_3344_5566_7788);
        assert_eq!(id_hash(&id), id_hash(&id));
        assert_eq!(id_hash(&id).len(), 64);
        let digest = ring::digest::digest(&ring::digest::SHA256, id.0.to_le_bytes().as_slice());
        let expected: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(id_hash(&id), expected);
        assert!(!id_hash(&id).contains(&id.to_string()));
    }
}
