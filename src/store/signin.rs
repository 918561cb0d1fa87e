//! The passkey sign-in's finish step in two statements' worth of round trips: one read of all
//! it checks (the ceremony, the failure counters, the passkey with its account), and one
//! transaction that takes the ceremony, records the counter, clears the account's failures,
//! ends the browser session the sign-in replaces and inserts the signed-in one.

use crate::store::direct::SqlConn;
use sqlx::any::AnyRow;
use sqlx::Row;
use tower_sessions::session::Id;
use uuid::Uuid;

use super::ceremonies::Taken;
use super::error::Result;
use super::passkeys::{record_passkey_use_in, CounterUpdate, PasskeyUse};
use super::sessions::{id_hash, NewSession};
use super::users::{parse_uuid, user_row};
use super::Store;
use crate::accounts::user::User;

/// What the finish step looks up, by keys the caller names.
pub struct SigninLookup<'a> {
    pub ceremony_id: &'a str,
    /// Failure counters of the address and, when the passkey names one, the account.
    pub address_key: &'a str,
    pub account_key: Option<&'a str>,
    /// Counters whose window started at or before this instant are over.
    pub window_over_at: i64,
    /// The account and credential id the assertion names (its user handle and raw id).
    pub passkey: Option<(Uuid, &'a str)>,
}

/// What [`Store::sign_in_context`] found.
#[derive(Debug)]
pub struct SigninContext {
    pub ceremony: Option<Taken>,
    pub address_failures: i64,
    pub account_failures: i64,
    pub passkey: Option<SigninPasskey>,
}

/// The passkey an assertion names, with its account.
#[derive(Debug)]
pub struct SigninPasskey {
    pub id: Uuid,
    /// webauthn-rs `Passkey` JSON: public key material only.
    pub credential_json: String,
    pub user: User,
    /// Whether the account has a recovery waiting (which a sign-in may cancel).
    pub recovery_pending: bool,
}

/// The writes of a verified sign-in.
pub struct SigninWrite<'a> {
    pub ceremony_id: &'a str,
    pub used: &'a PasskeyUse,
    /// The account's failure counter, cleared when it holds failures.
    pub clear_failures: Option<&'a str>,
    /// The browser session the sign-in replaces.
    pub ended_session: Option<Id>,
    /// The signed-in browser session, inserted when the sign-in is written.
    pub new_session: Option<&'a NewSession>,
}

/// What [`Store::complete_sign_in`] wrote.
#[derive(Debug, PartialEq, Eq)]
pub struct SigninWritten {
    pub update: CounterUpdate,
    /// The new session's row was inserted (not when the counter was refused, nor in the
    /// practically impossible case of its id being taken).
    pub session_written: bool,
}

fn context(r: &AnyRow) -> Result<SigninContext> {
    let kind: Option<String> = r.try_get("kind")?;
    let ceremony = match kind {
        Some(kind) => Some(Taken {
            kind,
            state: r.try_get("state")?,
            expires_at: r.try_get("expires_at")?,
        }),
        None => None,
    };
    let passkey_id: Option<String> = r.try_get("passkey_id")?;
    let passkey = match passkey_id {
        Some(id) => Some(SigninPasskey {
            id: parse_uuid(&id)?,
            credential_json: r.try_get("credential")?,
            user: user_row(r)?,
            recovery_pending: r.try_get::<i64, _>("recovery_pending")? != 0,
        }),
        None => None,
    };
    Ok(SigninContext {
        ceremony,
        address_failures: r
            .try_get::<Option<i64>, _>("address_failures")?
            .unwrap_or(0),
        account_failures: r
            .try_get::<Option<i64>, _>("account_failures")?
            .unwrap_or(0),
        passkey,
    })
}

/// Ends the session a sign-in replaces and writes the signed-in one, on the sign-in's
/// transaction: with both, one statement moves the old row to the new id with the new data
/// (so that nothing of the old session is left under its id). Whether the new row was written.
async fn replace_session(
    conn: &mut (dyn SqlConn + 'static),
    ended: Option<&Id>,
    new: Option<&NewSession>,
) -> Result<bool> {
    if let (Some(old), Some(new)) = (ended, new) {
        // A new random 128-bit id does not collide with a live one in practice; if it did,
        // the statement fails and the sign-in with it, leaving the old session as it was.
        let moved = sqlx::query(
            "UPDATE sessions SET id_hash = $1, data = $2, expires_at = $3, user_id = $5
             WHERE id_hash = $4",
        )
        .bind(id_hash(&new.id))
        .bind(&new.data)
        .bind(new.expires_at)
        .bind(id_hash(old))
        .bind(new.user_id.as_deref())
        .execute(&mut *conn)
        .await?;
        if moved.rows_affected() == 1 {
            return Ok(true);
        }
    } else if let Some(old) = ended {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash(old))
            .execute(&mut *conn)
            .await?;
    }
    let Some(new) = new else { return Ok(false) };
    let inserted = sqlx::query(
        "INSERT INTO sessions (id_hash, data, expires_at, user_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id_hash) DO NOTHING",
    )
    .bind(id_hash(&new.id))
    .bind(&new.data)
    .bind(new.expires_at)
    .bind(new.user_id.as_deref())
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

impl Store {
    /// Everything the finish step checks, in one statement on a read connection.
    pub async fn sign_in_context(&self, lookup: &SigninLookup<'_>) -> Result<SigninContext> {
        let (user_id, credential_id) = match lookup.passkey {
            Some((user, credential)) => (user.to_string(), credential),
            None => (String::new(), ""),
        };
        let row = sqlx::query(
            "SELECT c.kind, c.state, c.expires_at,
               (SELECT count FROM rate_limits WHERE key = $2 AND window_start > $3)
                 AS address_failures,
               (SELECT count FROM rate_limits WHERE key = $4 AND window_start > $3)
                 AS account_failures,
               p.id AS passkey_id, p.credential,
               u.id, u.email, u.display_name, u.created_at, u.frozen_at, u.frozen_reason,
               u.session_epoch,
               CAST(CASE WHEN EXISTS (SELECT 1 FROM recovery_requests r
                                      WHERE r.user_id = u.id AND r.state = 'pending')
                    THEN 1 ELSE 0 END AS BIGINT) AS recovery_pending
             FROM (SELECT 1 AS one) AS o
             LEFT JOIN ceremonies c ON c.id = $1
             LEFT JOIN passkeys p ON p.user_id = $5 AND p.credential_id = $6
             LEFT JOIN users u ON u.id = p.user_id",
        )
        .bind(lookup.ceremony_id)
        .bind(lookup.address_key)
        .bind(lookup.window_over_at)
        .bind(lookup.account_key.unwrap_or(""))
        .bind(user_id)
        .bind(credential_id)
        .fetch_one(&mut *self.read().await?)
        .await?;
        context(&row)
    }

    /// Takes the ceremony and records the passkey's use in one transaction; when the counter
    /// moved forward, also clears the account's failures, ends the replaced session and
    /// inserts the new one there.
    /// `None` (and nothing written) when the ceremony was already taken: of two concurrent
    /// finishes of one ceremony, one wins. A counter that did not move forward still takes
    /// the ceremony.
    pub async fn complete_sign_in(&self, write: &SigninWrite<'_>) -> Result<Option<SigninWritten>> {
        let mut tx = self.begin().await?;
        let taken = sqlx::query("DELETE FROM ceremonies WHERE id = $1")
            .bind(write.ceremony_id)
            .execute(&mut *tx)
            .await?;
        if taken.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let update = record_passkey_use_in(&mut *tx, write.used).await?;
        let mut session_written = false;
        if update == CounterUpdate::Recorded {
            if let Some(key) = write.clear_failures {
                sqlx::query("DELETE FROM rate_limits WHERE key = $1")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
            }
            session_written =
                replace_session(&mut *tx, write.ended_session.as_ref(), write.new_session).await?;
        }
        tx.commit().await?;
        Ok(Some(SigninWritten {
            update,
            session_written,
        }))
    }
}
