//! The merchant's answer, by `respond_by` and once: accepting refunds the disputed amount at
//! once (no issuer step); evidence hands the dispute to the issuer.

use super::types::{Answer, Dispute, Status};
use super::{not_found, view, Disputes};
use crate::error::{Error, Result};
use crate::store::disputes::Answer as StoredAnswer;

pub(super) fn dispute_closed(status: &str) -> Error {
    let now = match Status::parse(status) {
        Some(Status::EvidenceReceived) => "has been answered and waits for the issuer's decision",
        Some(Status::Resolving) => "has been decided and is being settled",
        Some(Status::Resolved) => "is resolved",
        _ => "has changed",
    };
    Error::conflict("dispute_closed", format!("This dispute {now}."))
}

impl Disputes {
    /// Records the merchant's answer to its open dispute: `Accept` refunds the disputed amount
    /// through the processor now; evidence waits for the issuer. Refused after `respond_by`
    /// (`response_window_closed`) or once the dispute is no longer open (`dispute_closed`).
    pub async fn respond(
        &self,
        client_id: &str,
        id: &str,
        answer: Answer,
        now: i64,
    ) -> Result<Dispute> {
        let json = match &answer {
            Answer::Accept => None,
            Answer::Evidence(evidence) => Some(serde_json::to_string(evidence)?),
        };
        let stored_answer = match &json {
            None => StoredAnswer::Accept {
                lease_until: now + self.settings.lease_secs,
            },
            Some(json) => StoredAnswer::Evidence { json },
        };
        if let Some(dispute) = self
            .store
            .answer_dispute(client_id, id, &stored_answer, now)
            .await?
        {
            tracing::info!(dispute_id = %id, accepted = json.is_none(), "merchant answered a dispute");
            return match answer {
                Answer::Accept => self.settle(dispute, now).await,
                Answer::Evidence(_) => view::dispute(&dispute),
            };
        }
        let current = self
            .store
            .dispute(id)
            .await?
            .filter(|d| d.client_id == client_id)
            .ok_or_else(not_found)?;
        if current.status == Status::Open.as_str() && current.respond_by < now {
            return Err(Error::conflict(
                "response_window_closed",
                "The time to answer this dispute has passed; the issuer decides it.",
            ));
        }
        Err(dispute_closed(&current.status))
    }
}
