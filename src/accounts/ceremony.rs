//! Server-side state of WebAuthn ceremonies: stored under a random id (which only the owner's
//! session holds), taken out exactly once, refused once expired.

use serde::{de::DeserializeOwned, Serialize};

use crate::clock::random_token;
use crate::error::{Error, Result};
use crate::store::{Store, Taken};

/// Stores `state` for `ttl_secs` and returns the ceremony's id.
pub async fn put<T: Serialize>(
    store: &Store,
    kind: &str,
    state: &T,
    ttl_secs: i64,
    now: i64,
) -> Result<String> {
    let id = random_token()?;
    store
        .put_ceremony(&id, kind, &serde_json::to_string(state)?, now + ttl_secs)
        .await?;
    Ok(id)
}

/// Stores `state` for `ttl_secs` under `id`, which the caller's session derives, replacing
/// what an earlier start left there.
pub async fn replace<T: Serialize>(
    store: &Store,
    id: &str,
    kind: &str,
    state: &T,
    ttl_secs: i64,
    now: i64,
) -> Result<()> {
    store
        .replace_ceremony(id, kind, &serde_json::to_string(state)?, now + ttl_secs)
        .await?;
    Ok(())
}

/// Takes the ceremony out of the store. A second attempt, a ceremony of another kind, or an
/// expired one is refused.
pub async fn take<T: DeserializeOwned>(store: &Store, id: &str, kind: &str, now: i64) -> Result<T> {
    open(store.take_ceremony(id).await?, kind, now)
}

/// Reads the ceremony, leaving it in the store, for a step that takes it in its own
/// transaction when it succeeds. A step that fails must take it (see [`take`]), so that
/// each ceremony gets one attempt.
pub async fn read<T: DeserializeOwned>(store: &Store, id: &str, kind: &str, now: i64) -> Result<T> {
    open(store.find_ceremony(id).await?, kind, now)
}

/// Opens a ceremony read with other look-ups: refused when missing, of another kind, or
/// expired.
pub fn open<T: DeserializeOwned>(taken: Option<Taken>, kind: &str, now: i64) -> Result<T> {
    let taken = taken.ok_or_else(ceremony_not_found)?;
    if taken.kind != kind {
        return Err(ceremony_not_found());
    }
    if taken.expires_at <= now {
        return Err(Error::invalid(
            "ceremony_expired",
            "The passkey request timed out. Please try again.",
        ));
    }
    Ok(serde_json::from_str(&taken.state)?)
}

/// The ceremony id names no live ceremony of this kind.
pub fn ceremony_not_found() -> Error {
    Error::invalid(
        "ceremony_not_found",
        "This passkey request is no longer valid (it was already used, or never started). Please try again.",
    )
}
