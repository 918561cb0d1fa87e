//! The simulated processor's own tables: authorizations, captures and the replies it saved
//! for replay. One call is one transaction: a saved reply is replayed; otherwise the
//! processor's rules decide from the state read here, and the decision's write and reply
//! commit together. Every write is conditional on the state the rules saw, so two nodes
//! acting on one authorization at once cannot both succeed: the loser gets `Conflict` and
//! calls again.

use sqlx::Row;

use super::error::Result;
use super::Store;

/// An authorization as the simulated card network keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimAuthorization {
    pub currency: String,
    pub amount_minor: i64,
    /// `open`, `captured` or `voided`.
    pub state: String,
}

/// A capture and how much of it was refunded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimCapture {
    pub currency: String,
    pub amount_minor: i64,
    pub refunded_minor: i64,
}

/// What a call acts on, read for the rules.
pub enum SimTarget<'a> {
    Nothing,
    Authorization(&'a str),
    Capture(&'a str),
}

/// The state of the target, `None` when the reference is unknown.
pub enum SimState {
    Nothing,
    Authorization(Option<SimAuthorization>),
    Capture(Option<SimCapture>),
}

/// A state change the rules decided.
pub enum SimWrite {
    NewAuthorization {
        reference: String,
        currency: String,
        amount_minor: i64,
    },
    Void {
        authorization: String,
    },
    Capture {
        authorization: String,
        reference: String,
        currency: String,
        amount_minor: i64,
    },
    Refund {
        capture: String,
        /// The refunded total the rules saw, and the new one.
        refunded_before: i64,
        refunded_after: i64,
    },
}

/// The rules' answer: the reply text, whether it is saved for replay, whether it took
/// effect, and the write that goes with it.
pub struct SimDecision {
    pub reply: String,
    pub save: bool,
    pub effect: bool,
    pub write: Option<SimWrite>,
}

/// How a call ended.
pub enum SimCall {
    /// The saved reply of an earlier call with the same slot.
    Replayed(String),
    /// The rules' reply, committed.
    Decided(String),
    /// The state changed under the rules (another node acted): call again.
    Conflict,
}

impl Store {
    /// Runs one simulated-processor call in a transaction (see the module comment).
    pub async fn simulator_call(
        &self,
        slot: &str,
        target: SimTarget<'_>,
        decide: &(dyn Fn(SimState) -> SimDecision + Sync),
        now: i64,
    ) -> Result<SimCall> {
        let mut tx = self.begin().await?;
        // The saved reply and the target's state in one read: the reply, when there is one,
        // is all that is used.
        let (table, columns) = match target {
            SimTarget::Nothing => ("", ""),
            SimTarget::Authorization(_) => (
                "LEFT JOIN sim_authorizations t ON t.reference = $2",
                ", t.currency, t.amount_minor, t.state",
            ),
            SimTarget::Capture(_) => (
                "LEFT JOIN sim_captures t ON t.reference = $2",
                ", t.currency, t.amount_minor, t.refunded_minor",
            ),
        };
        let query = format!(
            "SELECT r.reply{columns} FROM (SELECT 1 AS one) k
             LEFT JOIN sim_replies r ON r.slot = $1 {table}"
        );
        let query = sqlx::query(&query).bind(slot);
        let row = match target {
            SimTarget::Nothing => query,
            SimTarget::Authorization(reference) | SimTarget::Capture(reference) => {
                query.bind(reference)
            }
        }
        .fetch_one(&mut *tx)
        .await?;
        if let Some(reply) = row.try_get::<Option<String>, _>("reply")? {
            tx.rollback().await?;
            return Ok(SimCall::Replayed(reply));
        }
        let state = match target {
            SimTarget::Nothing => SimState::Nothing,
            // The target's currency is `NULL` when its reference is unknown.
            SimTarget::Authorization(_) => SimState::Authorization(
                row.try_get::<Option<String>, _>("currency")?
                    .map(|currency| -> Result<SimAuthorization> {
                        Ok(SimAuthorization {
                            currency,
                            amount_minor: row.try_get("amount_minor")?,
                            state: row.try_get("state")?,
                        })
                    })
                    .transpose()?,
            ),
            SimTarget::Capture(_) => SimState::Capture(
                row.try_get::<Option<String>, _>("currency")?
                    .map(|currency| -> Result<SimCapture> {
                        Ok(SimCapture {
                            currency,
                            amount_minor: row.try_get("amount_minor")?,
                            refunded_minor: row.try_get("refunded_minor")?,
                        })
                    })
                    .transpose()?,
            ),
        };
        let decision = decide(state);
        if let Some(write) = &decision.write {
            if !apply(&mut tx, write).await? {
                tx.rollback().await?;
                return Ok(SimCall::Conflict);
            }
        }
        if decision.save {
            let saved = sqlx::query(
                "INSERT INTO sim_replies (slot, reply, effect, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (slot) DO NOTHING",
            )
            .bind(slot)
            .bind(&decision.reply)
            .bind(i64::from(decision.effect))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if saved.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(SimCall::Conflict);
            }
        }
        tx.commit().await?;
        Ok(SimCall::Decided(decision.reply))
    }

    /// Calls of the simulated processor that took effect.
    pub async fn simulator_effects(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM sim_replies WHERE effect = 1")
            .fetch_one(&mut *self.read().await?)
            .await?;
        Ok(row.try_get("n")?)
    }
}

/// Applies `write` if the state is still what the rules saw; `false` if it changed.
async fn apply(tx: &mut super::Tx, write: &SimWrite) -> Result<bool> {
    let affected = match write {
        SimWrite::NewAuthorization {
            reference,
            currency,
            amount_minor,
        } => sqlx::query(
            "INSERT INTO sim_authorizations (reference, currency, amount_minor, state)
             VALUES ($1, $2, $3, 'open')",
        )
        .bind(reference)
        .bind(currency)
        .bind(amount_minor)
        .execute(&mut **tx)
        .await?
        .rows_affected(),
        SimWrite::Void { authorization } => sqlx::query(
            "UPDATE sim_authorizations SET state = 'voided' WHERE reference = $1 AND state = 'open'",
        )
        .bind(authorization)
        .execute(&mut **tx)
        .await?
        .rows_affected(),
        SimWrite::Capture {
            authorization,
            reference,
            currency,
            amount_minor,
        } => {
            let taken = sqlx::query(
                "UPDATE sim_authorizations SET state = 'captured' WHERE reference = $1 AND state = 'open'",
            )
            .bind(authorization)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if taken != 1 {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO sim_captures (reference, authorization_ref, currency, amount_minor)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(reference)
            .bind(authorization)
            .bind(currency)
            .bind(amount_minor)
            .execute(&mut **tx)
            .await?
            .rows_affected()
        }
        SimWrite::Refund {
            capture,
            refunded_before,
            refunded_after,
        } => sqlx::query(
            "UPDATE sim_captures SET refunded_minor = $1 WHERE reference = $2 AND refunded_minor = $3",
        )
        .bind(refunded_after)
        .bind(capture)
        .bind(refunded_before)
        .execute(&mut **tx)
        .await?
        .rows_affected(),
    };
    Ok(affected == 1)
}
