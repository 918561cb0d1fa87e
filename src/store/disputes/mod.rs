//! Disputes and the guarantee fund's ledger. Every step of a dispute is a conditional write
//! (`UPDATE … WHERE status IN (…)`), so that of racing requests on any number of nodes one
//! moves it and the others find it moved; its webhook event and audit entry are written in the
//! same transaction. What the statuses mean is the disputes room's rule: here they are words.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::{append, AuditRecord};
use super::error::Result;
use super::guarantee::{post, GuaranteePosting};
use super::{is_unique_violation, Store, Tx};

mod reads;

/// A dispute as stored, with its merchant's name.
#[derive(Clone, Debug)]
pub struct StoredDispute {
    pub id: String,
    pub payment_id: String,
    pub client_id: String,
    pub merchant_name: String,
    pub user_id: String,
    pub reason: String,
    pub description: String,
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
    pub opened_at: i64,
    pub respond_by: i64,
    /// JSON text, as the disputes room wrote it.
    pub evidence: Option<String>,
    pub responded_at: Option<i64>,
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub outcome: Option<String>,
    pub refund_id: Option<String>,
    pub guarantee_paid_minor: Option<i64>,
    pub unpaid_minor: Option<i64>,
    pub resolved_at: Option<i64>,
    pub lease_until: Option<i64>,
}

const COLUMNS: &str =
    "d.id, d.payment_id, d.client_id, m.name AS merchant_name, d.user_id, d.reason, \
     d.description, d.amount_minor, d.currency, d.status, d.opened_at, d.respond_by, d.evidence, \
     d.responded_at, d.decision, d.decision_reason, d.decided_by, d.decided_at, d.outcome, \
     d.refund_id, d.guarantee_paid_minor, d.unpaid_minor, d.resolved_at, d.lease_until";

const FROM: &str = "FROM disputes d JOIN merchants m ON m.client_id = d.client_id";

fn dispute_row(r: &AnyRow) -> Result<StoredDispute> {
    Ok(StoredDispute {
        id: r.try_get("id")?,
        payment_id: r.try_get("payment_id")?,
        client_id: r.try_get("client_id")?,
        merchant_name: r.try_get("merchant_name")?,
        user_id: r.try_get("user_id")?,
        reason: r.try_get("reason")?,
        description: r.try_get("description")?,
        amount_minor: r.try_get("amount_minor")?,
        currency: r.try_get("currency")?,
        status: r.try_get("status")?,
        opened_at: r.try_get("opened_at")?,
        respond_by: r.try_get("respond_by")?,
        evidence: r.try_get("evidence")?,
        responded_at: r.try_get("responded_at")?,
        decision: r.try_get("decision")?,
        decision_reason: r.try_get("decision_reason")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        outcome: r.try_get("outcome")?,
        refund_id: r.try_get("refund_id")?,
        guarantee_paid_minor: r.try_get("guarantee_paid_minor")?,
        unpaid_minor: r.try_get("unpaid_minor")?,
        resolved_at: r.try_get("resolved_at")?,
        lease_until: r.try_get("lease_until")?,
    })
}

/// A shopper's payment as a dispute needs it.
#[derive(Clone, Debug)]
pub struct DisputedPayment {
    pub id: String,
    pub client_id: String,
    pub merchant_name: String,
    pub merchant_status: String,
    pub currency: String,
    pub status: String,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    pub refunding_minor: i64,
    pub captured_at: Option<i64>,
    pub order_reference: String,
}

/// An event for the outbox, written with the dispute change that causes it.
pub struct DisputeEvent {
    pub id: String,
    pub event_type: &'static str,
    /// Renders the body from the dispute as the transaction left it: (dispute, event id,
    /// event type, unix time) to JSON text.
    pub render: fn(&StoredDispute, &str, &str, i64) -> anyhow::Result<String>,
}

pub struct NewDispute<'a> {
    pub id: &'a str,
    pub payment_id: &'a str,
    pub user_id: &'a str,
    pub reason: &'a str,
    pub description: &'a str,
    pub amount_minor: i64,
    pub opened_at: i64,
    pub respond_by: i64,
}

/// Why a dispute was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenRefusal {
    /// The payment is not the shopper's captured payment with that much left to refund.
    NotRefundable,
    /// The payment has a dispute that is not resolved.
    Exists,
}

/// A merchant's answer, as written.
pub enum Answer<'a> {
    /// The merchant accepts: the dispute resolves by a refund, held by this node until then.
    Accept {
        lease_until: i64,
    },
    Evidence {
        json: &'a str,
    },
}

/// An issuer's decision, as written.
pub struct Decided<'a> {
    pub id: &'a str,
    /// From these statuses only.
    pub from: &'a [&'a str],
    pub decision: &'a str,
    pub reason: Option<&'a str>,
    pub by: &'a str,
    pub at: i64,
    pub audit: &'a AuditRecord,
}

/// The dispute `id` as it stands in `tx`, with its merchant's webhook URL.
async fn dispute_in(tx: &mut Tx, id: &str) -> Result<(StoredDispute, Option<String>)> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, m.webhook_url {FROM} WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((dispute_row(&row)?, row.try_get("webhook_url")?))
}

/// Reads the dispute back in `tx` and puts `event` in the outbox when its merchant has a
/// webhook URL.
async fn announce(
    tx: &mut Tx,
    id: &str,
    event: Option<&DisputeEvent>,
    now: i64,
) -> Result<StoredDispute> {
    let (dispute, webhook_url) = dispute_in(tx, id).await?;
    if let (Some(event), Some(_)) = (event, webhook_url) {
        let payload = (event.render)(&dispute, &event.id, event.event_type, now)
            .map_err(super::Error::Render)?;
        super::webhooks::enqueue(
            tx,
            &super::webhooks::NewEvent {
                id: &event.id,
                client_id: &dispute.client_id,
                event_type: event.event_type,
                subject_id: &dispute.id,
                payload: &payload,
                created_at: now,
                next_attempt_ms: now * 1000,
            },
        )
        .await?;
    }
    Ok(dispute)
}

impl Store {
    /// The shopper's payment `payment_id`, or `None` when it is not theirs.
    pub async fn disputed_payment(
        &self,
        user_id: &str,
        payment_id: &str,
    ) -> Result<Option<DisputedPayment>> {
        let row = sqlx::query(
            "SELECT p.id, p.client_id, m.name AS merchant_name, m.status AS merchant_status, p.currency,
                    p.status, p.captured_minor, p.refunded_minor, p.refunding_minor, p.captured_at,
                    p.order_reference
             FROM payments p JOIN merchants m ON m.client_id = p.client_id
             WHERE p.id = $1 AND p.user_id = $2",
        )
        .bind(payment_id)
        .bind(user_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.map(|r| {
            Ok(DisputedPayment {
                id: r.try_get("id")?,
                client_id: r.try_get("client_id")?,
                merchant_name: r.try_get("merchant_name")?,
                merchant_status: r.try_get("merchant_status")?,
                currency: r.try_get("currency")?,
                status: r.try_get("status")?,
                captured_minor: r.try_get("captured_minor")?,
                refunded_minor: r.try_get("refunded_minor")?,
                refunding_minor: r.try_get("refunding_minor")?,
                captured_at: r.try_get("captured_at")?,
                order_reference: r.try_get("order_reference")?,
            })
        })
        .transpose()
    }

    /// Opens a dispute on the shopper's captured payment, for at most what is left to refund
    /// (refunds in flight count), with its event, in one transaction. The unique index keeps
    /// one unresolved dispute per payment, even between racing requests.
    pub async fn open_dispute(
        &self,
        d: &NewDispute<'_>,
        event: &DisputeEvent,
    ) -> Result<std::result::Result<StoredDispute, OpenRefusal>> {
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO disputes (id, payment_id, client_id, user_id, reason, description, amount_minor,
                                   currency, status, opened_at, respond_by)
             SELECT $1, p.id, p.client_id, p.user_id, $2, $3, $4, p.currency, 'open', $5, $6
             FROM payments p
             WHERE p.id = $7 AND p.user_id = $8 AND p.status = 'captured'
               AND p.captured_minor - p.refunded_minor - p.refunding_minor >= $4",
        )
        .bind(d.id)
        .bind(d.reason)
        .bind(d.description)
        .bind(d.amount_minor)
        .bind(d.opened_at)
        .bind(d.respond_by)
        .bind(d.payment_id)
        .bind(d.user_id)
        .execute(&mut *tx)
        .await;
        let refusal = match inserted {
            Ok(done) if done.rows_affected() == 1 => None,
            Ok(_) => Some(OpenRefusal::NotRefundable),
            Err(err) if is_unique_violation(&err) => Some(OpenRefusal::Exists),
            Err(err) => return Err(err.into()),
        };
        if let Some(refusal) = refusal {
            tx.rollback().await?;
            return Ok(Err(refusal));
        }
        let dispute = announce(&mut tx, d.id, Some(event), d.opened_at).await?;
        tx.commit().await?;
        Ok(Ok(dispute))
    }

    /// Records the merchant's answer to its open dispute, answered by `respond_by`; `None`
    /// when the dispute is not its own, not open, or past its window (the caller reads why).
    pub async fn answer_dispute(
        &self,
        client_id: &str,
        id: &str,
        answer: &Answer<'_>,
        now: i64,
    ) -> Result<Option<StoredDispute>> {
        let mut tx = self.begin().await?;
        let (status, evidence, decision, lease_until) = match answer {
            Answer::Accept { lease_until } => (
                "resolving",
                None,
                Some("merchant_accepted"),
                Some(*lease_until),
            ),
            Answer::Evidence { json } => ("evidence_received", Some(*json), None, None),
        };
        let decided_by = decision.map(|_| format!("merchant:{client_id}"));
        let moved = sqlx::query(
            "UPDATE disputes SET status = $1, evidence = $2, decision = $3, decided_by = $4,
                    decided_at = $5, responded_at = $6, lease_until = $7
             WHERE id = $8 AND client_id = $9 AND status = 'open' AND respond_by >= $6",
        )
        .bind(status)
        .bind(evidence)
        .bind(decision)
        .bind(decided_by)
        .bind(decision.map(|_| now))
        .bind(now)
        .bind(lease_until)
        .bind(id)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let (dispute, _) = dispute_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Some(dispute))
    }

    /// Records an issuer's decision from one of `d.from`, with its audit entry; a decision
    /// that resolves the dispute at once (`resolve`: the outcome) writes `event` too. `None`
    /// when the dispute was not in one of `d.from`.
    pub async fn decide_dispute(
        &self,
        d: &Decided<'_>,
        resolve: Option<(&str, &DisputeEvent)>,
        lease_until: Option<i64>,
    ) -> Result<Option<StoredDispute>> {
        let mut tx = self.begin().await?;
        let (status, outcome) = match resolve {
            Some((outcome, _)) => ("resolved", Some(outcome)),
            None => ("resolving", None),
        };
        let resolved_at = resolve.map(|_| d.at);
        let from = d.from.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>();
        let moved = sqlx::query(&format!(
            "UPDATE disputes SET status = $1, decision = $2, decision_reason = $3, decided_by = $4,
                    decided_at = $5, outcome = $6, resolved_at = $7, lease_until = $8
             WHERE id = $9 AND status IN ({})",
            from.join(", ")
        ))
        .bind(status)
        .bind(d.decision)
        .bind(d.reason)
        .bind(d.by)
        .bind(d.at)
        .bind(outcome)
        .bind(resolved_at)
        .bind(lease_until)
        .bind(d.id)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let dispute = announce(&mut tx, d.id, resolve.map(|(_, e)| e), d.at).await?;
        append(&mut tx, d.audit).await?;
        tx.commit().await?;
        Ok(Some(dispute))
    }

    /// Resolves a dispute being resolved: refunded (`refund_id`, if a refund was made), or
    /// paid by the guarantee (`payout`: the posting, the part left unpaid, its audit entry),
    /// with `event`, in one transaction. `None` when it was resolved already.
    pub async fn resolve_dispute(
        &self,
        id: &str,
        refund_id: Option<&str>,
        payout: Option<(&GuaranteePosting<'_>, i64, &AuditRecord)>,
        event: &DisputeEvent,
        now: i64,
    ) -> Result<Option<StoredDispute>> {
        let mut tx = self.begin().await?;
        let (outcome, paid, unpaid) = match &payout {
            Some((posting, unpaid, _)) => (
                "guarantee_paid",
                Some(posting.lines[1].amount_minor),
                Some(*unpaid),
            ),
            None => ("refunded", None, None),
        };
        let moved = sqlx::query(
            "UPDATE disputes SET status = 'resolved', outcome = $1, refund_id = $2,
                    guarantee_paid_minor = $3, unpaid_minor = $4, resolved_at = $5, lease_until = NULL
             WHERE id = $6 AND status = 'resolving'",
        )
        .bind(outcome)
        .bind(refund_id)
        .bind(paid)
        .bind(unpaid)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        if let Some((posting, _, audit)) = &payout {
            post(&mut tx, posting).await?;
            let dispute = announce(&mut tx, id, Some(event), now).await?;
            append(&mut tx, audit).await?;
            tx.commit().await?;
            return Ok(Some(dispute));
        }
        let dispute = announce(&mut tx, id, Some(event), now).await?;
        tx.commit().await?;
        Ok(Some(dispute))
    }

    /// Takes over a dispute being resolved whose node's lease lapsed (or, with `now` past
    /// it, holds it again); one taker wins.
    pub async fn take_over_dispute(&self, id: &str, now: i64, lease_until: i64) -> Result<bool> {
        let taken = sqlx::query(
            "UPDATE disputes SET lease_until = $1
             WHERE id = $2 AND status = 'resolving' AND (lease_until IS NULL OR lease_until <= $3)",
        )
        .bind(lease_until)
        .bind(id)
        .bind(now)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(taken.rows_affected() == 1)
    }
}
