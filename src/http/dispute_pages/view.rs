//! A dispute in plain words, as the shopper's pages and the console show it: where it stands,
//! the shop's answer, the decision and where the money went (and any part over the guarantee's
//! cap, which is stated rather than paid).

use crate::disputes::{Dispute, Reason, Status};
use crate::http::pages::format_time;
use crate::money::{Currency, Money};

/// `minor` units of `currency` as pages show money ("¥12,800", "$12.50").
pub fn money(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Some(currency) => Money::new(currency, minor).format_display(),
        None => format!("{minor} {currency}"),
    }
}

/// A dispute's amount: minor units and currency code.
pub fn amount_of(d: &Dispute) -> (i64, String) {
    (d.amount_minor, d.currency.clone())
}

/// The reasons a shopper can choose, in the order the form offers them.
pub const REASONS: [Reason; 4] = [
    Reason::NotReceived,
    Reason::NotAsDescribed,
    Reason::Unauthorized,
    Reason::Duplicate,
];

/// A reason as the shopper's form words it.
pub fn reason_label(reason: Reason) -> &'static str {
    match reason {
        Reason::NotReceived => "I didn't receive it",
        Reason::NotAsDescribed => "It isn't as described",
        Reason::Unauthorized => "I didn't authorise this payment",
        Reason::Duplicate => "I was charged twice",
    }
}

/// The status in a word or two.
pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::Open => "Waiting for the shop",
        Status::EvidenceReceived => "Under review",
        Status::Resolving => "Being paid out",
        Status::Resolved => "Resolved",
    }
}

/// The shop's answer: accepted, or its evidence.
pub struct AnswerView {
    pub summary: String,
    pub text: Option<String>,
    /// "Sent with Yamato, tracking number 1234-5678."
    pub shipping: Option<String>,
}

pub struct DisputeView {
    pub id: String,
    pub payment_id: String,
    pub merchant: String,
    pub amount: String,
    pub reason: &'static str,
    pub description: String,
    pub status: &'static str,
    /// A sentence on what happens next.
    pub status_explained: String,
    pub opened: String,
    pub respond_by: String,
    pub answer: Option<AnswerView>,
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
    /// Where the money went: the refund, the guarantee's payout, the part over the cap.
    pub money: Vec<String>,
}

impl DisputeView {
    pub fn of(d: Dispute) -> Self {
        let (minor, currency) = amount_of(&d);
        let amount = money(minor, &currency);
        let status_explained = match d.status {
            Status::Open => format!(
                "We told {} about it. They have until {} to answer.",
                d.merchant_name,
                format_time(d.respond_by)
            ),
            Status::EvidenceReceived => {
                "The shop answered. Saifu is looking at both sides and will decide.".to_string()
            }
            Status::Resolving => "Decided. The money is on its way to you.".to_string(),
            Status::Resolved => "This dispute is closed.".to_string(),
        };
        let answer = match (&d.evidence, d.decision.as_deref()) {
            (Some(e), _) => Some(AnswerView {
                summary: format!("{} disagrees and sent this:", d.merchant_name),
                text: Some(e.text.clone()),
                shipping: shipping(e.carrier.as_deref(), e.tracking_number.as_deref()),
            }),
            (None, Some("merchant_accepted")) => Some(AnswerView {
                summary: format!("{} accepted your claim.", d.merchant_name),
                text: None,
                shipping: None,
            }),
            _ => None,
        };
        let decision = d.decision.as_deref().map(|decision| match decision {
            "merchant_accepted" => "The shop accepted, so you get your money back.".to_string(),
            "for_shopper" => "Saifu decided in your favour.".to_string(),
            "for_merchant" => "Saifu decided in the shop's favour.".to_string(),
            other => other.to_string(),
        });
        let mut lines = Vec::new();
        match d.outcome.as_deref() {
            Some("refunded") => lines.push(format!("{amount} was refunded to your card.")),
            Some("guarantee_paid") => {
                let paid = money(d.guarantee_paid_minor.unwrap_or(0), &currency);
                lines.push(format!(
                    "The shop could not refund you, so the Saifu guarantee paid you {paid}."
                ));
            }
            Some("rejected") => lines.push("No money is refunded.".to_string()),
            _ => {}
        }
        if let Some(unpaid) = d.unpaid_minor.filter(|u| *u > 0) {
            lines.push(format!(
                "{} is over the guarantee's limit for one dispute and was not paid.",
                money(unpaid, &currency)
            ));
        }
        DisputeView {
            id: d.id,
            payment_id: d.payment_id,
            merchant: d.merchant_name,
            amount,
            reason: reason_label(d.reason),
            description: d.description,
            status: status_label(d.status),
            status_explained,
            opened: format_time(d.opened_at),
            respond_by: format_time(d.respond_by),
            answer,
            decision,
            decision_reason: d.decision_reason,
            money: lines,
        }
    }
}

fn shipping(carrier: Option<&str>, tracking: Option<&str>) -> Option<String> {
    match (carrier, tracking) {
        (Some(c), Some(t)) => Some(format!("Sent with {c}, tracking number {t}.")),
        (Some(c), None) => Some(format!("Sent with {c}.")),
        (None, Some(t)) => Some(format!("Tracking number {t}.")),
        (None, None) => None,
    }
}
