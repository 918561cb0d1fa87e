//! The disputes API (`/v1/disputes`) wire types, shared by the wallet and merchants' code: a
//! shopper's dispute as the merchant sees it, and the merchant's answer (accept, or evidence).

use serde::{Deserialize, Serialize};

use crate::checkout::Amount;

/// A dispute as the API (and the `dispute.opened` / `dispute.resolved` events) show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dispute {
    /// `dsp_…`
    pub id: String,
    pub payment_id: String,
    /// `open`, `evidence_received`, `resolving` or `resolved`.
    #[cfg_attr(feature = "openapi", schema(example = "open"))]
    pub status: String,
    /// `not_received`, `not_as_described`, `unauthorized` or `duplicate`.
    #[cfg_attr(feature = "openapi", schema(example = "not_received"))]
    pub reason: String,
    /// The shopper's own words.
    pub description: String,
    /// The amount in dispute, in the payment's currency.
    pub amount: Amount,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub opened_at: String,
    /// The merchant answers by then (RFC 3339).
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub respond_by: String,
    pub evidence: Option<DisputeEvidence>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub responded_at: Option<String>,
    /// `merchant_accepted`, `for_shopper` or `for_merchant`.
    pub decision: Option<String>,
    /// Why the issuer decided for the merchant (shown to the shopper).
    pub decision_reason: Option<String>,
    /// `refunded`, `guarantee_paid` or `rejected`.
    pub outcome: Option<String>,
    /// The refund that settled the dispute, if one did.
    pub refund_id: Option<String>,
    /// What the issuer's guarantee fund paid the shopper, when the refund could not be made.
    pub guarantee_paid: Option<Amount>,
    /// The part of the disputed amount over the guarantee's cap: stated, not paid.
    pub unpaid: Option<Amount>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub resolved_at: Option<String>,
}

/// `GET /v1/disputes`: the merchant's disputes, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisputeList {
    pub disputes: Vec<Dispute>,
}

/// What the merchant sends to contest a dispute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisputeEvidence {
    /// What happened, for the issuer (1 to 2000 characters).
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
}

/// `POST /v1/disputes/{id}/respond`, as sent: `{"accept": true}` or `{"evidence": {…}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RespondToDispute {
    /// `true` accepts the dispute: the disputed amount is refunded at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<bool>,
    /// Contests the dispute; the issuer decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<DisputeEvidence>,
}

/// The merchant's answer to a dispute, typed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RespondToDispute", try_from = "RespondToDispute")]
pub enum DisputeAnswer {
    /// Refund the disputed amount now.
    Accept,
    /// Contest it with evidence.
    Evidence(DisputeEvidence),
}

impl From<DisputeAnswer> for RespondToDispute {
    fn from(answer: DisputeAnswer) -> Self {
        match answer {
            DisputeAnswer::Accept => RespondToDispute {
                accept: Some(true),
                evidence: None,
            },
            DisputeAnswer::Evidence(evidence) => RespondToDispute {
                accept: None,
                evidence: Some(evidence),
            },
        }
    }
}

impl TryFrom<RespondToDispute> for DisputeAnswer {
    type Error = &'static str;
    fn try_from(body: RespondToDispute) -> Result<Self, Self::Error> {
        match (body.accept, body.evidence) {
            (Some(true), None) => Ok(DisputeAnswer::Accept),
            (None | Some(false), Some(evidence)) => Ok(DisputeAnswer::Evidence(evidence)),
            _ => Err("send either {\"accept\": true} or {\"evidence\": {\"text\": …}}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_accept_true_or_evidence() {
        assert_eq!(
            serde_json::to_value(DisputeAnswer::Accept).unwrap(),
            serde_json::json!({"accept": true})
        );
        let evidence = DisputeAnswer::Evidence(DisputeEvidence {
            text: "Delivered".into(),
            carrier: Some("Yamato".into()),
            tracking_number: None,
        });
        assert_eq!(
            serde_json::to_value(&evidence).unwrap(),
            serde_json::json!({"evidence": {"text": "Delivered", "carrier": "Yamato"}})
        );
        let back: DisputeAnswer =
            serde_json::from_value(serde_json::to_value(&evidence).unwrap()).unwrap();
        assert_eq!(back, evidence);
        assert!(serde_json::from_str::<DisputeAnswer>(r#"{"accept": false}"#).is_err());
        assert!(serde_json::from_str::<DisputeAnswer>(r#"{}"#).is_err());
    }
}
