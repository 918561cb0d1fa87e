//! Disputes as stored, read into the service's `Dispute`, and the API's JSON of one (also the
//! `data` of the `dispute.opened` and `dispute.resolved` events).

use saifu_sdk::checkout::Amount;
use saifu_sdk::disputes::{Dispute as ApiDispute, DisputeEvidence};
use saifu_sdk::webhooks::EventType;
use uuid::Uuid;

use super::types::{Dispute, Evidence, Reason, Status};
use crate::clock::unix_now;
use crate::error::{Error, Result};
use crate::money::{Currency, Money};
use crate::store::disputes::{DisputeEvent, StoredDispute};
use crate::webhooks::{new_event_id, render_event};

fn corrupt(what: &str, value: &str) -> Error {
    Error::internal(anyhow::anyhow!("stored dispute {what} {value:?}"))
}

pub(super) fn currency_of(d: &StoredDispute) -> Result<Currency> {
    Currency::parse(&d.currency).ok_or_else(|| corrupt("currency", &d.currency))
}

pub(super) fn dispute(d: &StoredDispute) -> Result<Dispute> {
    dispute_at(d, unix_now())
}

pub(super) fn all(rows: &[StoredDispute]) -> Result<Vec<Dispute>> {
    let now = unix_now();
    rows.iter().map(|d| dispute_at(d, now)).collect()
}

fn dispute_at(d: &StoredDispute, now: i64) -> Result<Dispute> {
    let currency = currency_of(d)?;
    let status = Status::parse(&d.status).ok_or_else(|| corrupt("status", &d.status))?;
    let reason = Reason::parse(&d.reason).map_err(|_| corrupt("reason", &d.reason))?;
    let evidence = d
        .evidence
        .as_deref()
        .map(serde_json::from_str::<Evidence>)
        .transpose()
        .map_err(Error::internal)?;
    Ok(Dispute {
        id: d.id.clone(),
        payment_id: d.payment_id.clone(),
        client_id: d.client_id.clone(),
        merchant_name: d.merchant_name.clone(),
        user_id: Uuid::parse_str(&d.user_id).map_err(|_| corrupt("user", &d.user_id))?,
        reason,
        description: d.description.clone(),
        amount: amount(currency, d.amount_minor),
        amount_minor: d.amount_minor,
        currency: d.currency.clone(),
        status,
        opened_at: d.opened_at,
        respond_by: d.respond_by,
        evidence,
        responded_at: d.responded_at,
        decision: d.decision.clone(),
        decision_reason: d.decision_reason.clone(),
        decided_by: d.decided_by.clone(),
        decided_at: d.decided_at,
        outcome: d.outcome.clone(),
        refund_id: d.refund_id.clone(),
        guarantee_paid_minor: d.guarantee_paid_minor,
        unpaid_minor: d.unpaid_minor,
        resolved_at: d.resolved_at,
        needs_decision: status == Status::EvidenceReceived
            || (status == Status::Open && d.respond_by < now),
    })
}

fn amount(currency: Currency, minor: i64) -> Amount {
    Amount::new(
        currency.code(),
        &Money::new(currency, minor).to_major_string(),
    )
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl Dispute {
    /// The merchant's view: the API's JSON.
    pub fn to_api(&self) -> ApiDispute {
        let currency = Currency::parse(&self.currency).unwrap_or(Currency::Jpy);
        ApiDispute {
            id: self.id.clone(),
            payment_id: self.payment_id.clone(),
            status: self.status.as_str().to_string(),
            reason: self.reason.as_str().to_string(),
            description: self.description.clone(),
            amount: self.amount.clone(),
            opened_at: rfc3339(self.opened_at),
            respond_by: rfc3339(self.respond_by),
            evidence: self.evidence.as_ref().map(|e| DisputeEvidence {
                text: e.text.clone(),
                carrier: e.carrier.clone(),
                tracking_number: e.tracking_number.clone(),
            }),
            responded_at: self.responded_at.map(rfc3339),
            decision: self.decision.clone(),
            decision_reason: self.decision_reason.clone(),
            outcome: self.outcome.clone(),
            refund_id: self.refund_id.clone(),
            guarantee_paid: self.guarantee_paid_minor.map(|m| amount(currency, m)),
            unpaid: self.unpaid_minor.map(|m| amount(currency, m)),
            resolved_at: self.resolved_at.map(rfc3339),
        }
    }
}

/// An event of `kind` about a dispute, for the store to write with the change.
pub(super) fn event(kind: EventType) -> Result<DisputeEvent> {
    Ok(DisputeEvent {
        id: new_event_id()?,
        event_type: kind.as_str(),
        render: |d, id, kind, now| {
            let data = serde_json::to_value(dispute_at(d, now)?.to_api())?;
            Ok(render_event(id, kind, now, data)?)
        },
    })
}
