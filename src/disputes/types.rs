//! The words of a dispute, parsed once: its reason, status, the merchant's answer and
//! evidence, the issuer's decision, and the dispute as the services hand it out.

use saifu_sdk::checkout::Amount;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::text::{code_point, hidden_character};

/// Why the shopper disputes the payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    NotReceived,
    NotAsDescribed,
    Unauthorized,
    Duplicate,
}

pub const REASONS: [Reason; 4] = [
    Reason::NotReceived,
    Reason::NotAsDescribed,
    Reason::Unauthorized,
    Reason::Duplicate,
];

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotReceived => "not_received",
            Reason::NotAsDescribed => "not_as_described",
            Reason::Unauthorized => "unauthorized",
            Reason::Duplicate => "duplicate",
        }
    }

    /// A reason as sent (`not_received`, …); anything else is refused.
    pub fn parse(text: &str) -> Result<Self> {
        REASONS
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| {
                Error::invalid(
                    "invalid_dispute_reason",
                    "Choose a reason: not received, not as described, not authorised by me, or charged twice.",
                )
                .on_field("reason")
            })
    }

    /// In plain English, as the shopper chose it.
    pub fn label(self) -> &'static str {
        match self {
            Reason::NotReceived => "Not received",
            Reason::NotAsDescribed => "Not as described",
            Reason::Unauthorized => "Not authorised by me",
            Reason::Duplicate => "Charged twice",
        }
    }
}

/// Where a dispute stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Waiting for the merchant's answer.
    Open,
    /// The merchant sent evidence; the issuer decides.
    EvidenceReceived,
    /// Decided for the shopper (or accepted): the refund or payout is being made.
    Resolving,
    Resolved,
}

pub const STATUSES: [Status; 4] = [
    Status::Open,
    Status::EvidenceReceived,
    Status::Resolving,
    Status::Resolved,
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::EvidenceReceived => "evidence_received",
            Status::Resolving => "resolving",
            Status::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        STATUSES.into_iter().find(|s| s.as_str() == text)
    }
}

/// What the merchant sends to contest a dispute.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    pub text: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

/// The longest description, evidence text or decision reason.
pub const MAX_TEXT: usize = 2000;
/// The longest carrier name or tracking number.
const MAX_SHORT: usize = 100;

/// Text a person wrote for others to read: 1 to `max` characters once trimmed, none hidden.
pub(super) fn shown(text: &str, max: usize) -> Option<String> {
    let text = text.trim();
    let len = text.chars().count();
    (len >= 1 && len <= max && hidden_character(text).is_none()).then(|| text.to_string())
}

/// What is wrong with `text`, for a message.
pub(super) fn why_refused(text: &str, max: usize) -> String {
    match hidden_character(text.trim()) {
        Some(c) => format!("It may not hold the character {}.", code_point(c)),
        None => format!("Write 1 to {max} characters."),
    }
}

impl Evidence {
    /// Evidence as sent: a text of 1 to 2000 characters, and a carrier and tracking number of
    /// at most 100 (empty ones are left out), none with hidden characters.
    pub fn parse(text: &str, carrier: Option<&str>, tracking_number: Option<&str>) -> Result<Self> {
        let refused = |field: &'static str, why: String| {
            Error::invalid(
                "invalid_evidence",
                format!("The evidence's {field} is not valid. {why}"),
            )
            .on_field(field)
        };
        let text =
            shown(text, MAX_TEXT).ok_or_else(|| refused("text", why_refused(text, MAX_TEXT)))?;
        let short = |field: &'static str, value: Option<&str>| -> Result<Option<String>> {
            match value.map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => shown(v, MAX_SHORT)
                    .map(Some)
                    .ok_or_else(|| refused(field, why_refused(v, MAX_SHORT))),
            }
        };
        Ok(Self {
            text,
            carrier: short("carrier", carrier)?,
            tracking_number: short("tracking_number", tracking_number)?,
        })
    }
}

/// The merchant's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Refund the disputed amount now.
    Accept,
    Evidence(Evidence),
}

/// The issuer's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Refund the disputed amount (or pay it from the guarantee).
    ForShopper,
    /// Reject the dispute; the reason is shown to the shopper.
    ForMerchant { reason: String },
}

/// A dispute as the services hand it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispute {
    pub id: String,
    pub payment_id: String,
    pub client_id: String,
    pub merchant_name: String,
    pub user_id: Uuid,
    pub reason: Reason,
    pub description: String,
    pub amount: Amount,
    pub amount_minor: i64,
    pub currency: String,
    pub status: Status,
    pub opened_at: i64,
    pub respond_by: i64,
    pub evidence: Option<Evidence>,
    pub responded_at: Option<i64>,
    /// `merchant_accepted`, `for_shopper` or `for_merchant`.
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
    /// `admin:<id>` or `merchant:<client id>`.
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    /// `refunded`, `guarantee_paid` or `rejected`.
    pub outcome: Option<String>,
    pub refund_id: Option<String>,
    pub guarantee_paid_minor: Option<i64>,
    pub unpaid_minor: Option<i64>,
    pub resolved_at: Option<i64>,
    /// Evidence received, or open with `respond_by` passed.
    pub needs_decision: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_and_statuses_read_back_and_others_are_refused() {
        for r in REASONS {
            assert_eq!(Reason::parse(r.as_str()).unwrap(), r);
        }
        assert_eq!(
            Reason::parse("changed_my_mind").unwrap_err().code(),
            "invalid_dispute_reason"
        );
        for s in STATUSES {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("closed"), None);
    }

    #[test]
    fn evidence_needs_a_text_without_hidden_characters() {
        let e = Evidence::parse(" Delivered ", Some(""), Some("123")).unwrap();
        assert_eq!(
            (e.text.as_str(), e.carrier, e.tracking_number.as_deref()),
            ("Delivered", None, Some("123"))
        );
        for (text, carrier) in [("", None), ("a\u{202E}b", None), ("ok", Some("x\ny"))] {
            let err = Evidence::parse(text, carrier, None).unwrap_err();
            assert_eq!(err.code(), "invalid_evidence");
        }
        assert!(Evidence::parse(&"x".repeat(2001), None, None).is_err());
        assert!(Evidence::parse(&"x".repeat(2000), None, None).is_ok());
    }
}
