//! A dispute in plain words, as the shopper's pages and the console show it: where it stands,
//! the shop's answer, the decision and where the money went (and any part over the guarantee's
//! cap, which is stated rather than paid).

use crate::disputes::{Dispute, Reason, Status};
use crate::http::pages::format_time;
use crate::i18n::Tr;
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
    pub reason: String,
    pub description: String,
    pub status: String,
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

/// A reason in the shopper's language (the console keeps [`reason_label`]).
pub fn reason_shown(reason: Reason) -> String {
    Tr::current().t_or(
        &format!("dispute-reason-{}", reason.as_str()),
        reason_label(reason),
    )
}

/// A status in the shopper's language (the console keeps [`status_label`]).
pub fn status_shown(status: Status) -> String {
    Tr::current().t_or(
        &format!("dispute-status-{}", status.as_str()),
        status_label(status),
    )
}

/// Money in the shopper's language, as the wallet's pages show it.
fn money_shown(tr: &Tr, minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Some(currency) => tr.money(Money::new(currency, minor)),
        None => money(minor, currency),
    }
}

impl DisputeView {
    pub fn of(d: Dispute) -> Self {
        let tr = Tr::current();
        let (minor, currency) = amount_of(&d);
        let amount = money_shown(&tr, minor, &currency);
        let shop = d.merchant_name.as_str();
        let status_explained = match d.status {
            Status::Open => tr.args(
                "dispute-next-open",
                [("shop", shop), ("when", format_time(d.respond_by).as_str())],
            ),
            other => tr.t(&format!("dispute-next-{}", other.as_str())),
        };
        let answer = match (&d.evidence, d.decision.as_deref()) {
            (Some(e), _) => Some(AnswerView {
                summary: tr.args("dispute-shop-disagrees", [("shop", shop)]),
                text: Some(e.text.clone()),
                shipping: shipping(&tr, e.carrier.as_deref(), e.tracking_number.as_deref()),
            }),
            (None, Some("merchant_accepted")) => Some(AnswerView {
                summary: tr.args("dispute-shop-accepted", [("shop", shop)]),
                text: None,
                shipping: None,
            }),
            _ => None,
        };
        let decision = d
            .decision
            .as_deref()
            .map(|decision| tr.t_or(&format!("dispute-decided-{decision}"), decision));
        let mut lines = Vec::new();
        match d.outcome.as_deref() {
            Some("refunded") => {
                lines.push(tr.args("dispute-money-refunded", [("amount", amount.as_str())]))
            }
            Some("guarantee_paid") => {
                let paid = money_shown(&tr, d.guarantee_paid_minor.unwrap_or(0), &currency);
                lines.push(tr.args("dispute-money-guarantee", [("amount", paid.as_str())]));
            }
            Some("rejected") => lines.push(tr.t("dispute-money-rejected")),
            _ => {}
        }
        if let Some(unpaid) = d.unpaid_minor.filter(|u| *u > 0) {
            let unpaid = money_shown(&tr, unpaid, &currency);
            lines.push(tr.args("dispute-money-unpaid", [("amount", unpaid.as_str())]));
        }
        DisputeView {
            id: d.id,
            payment_id: d.payment_id,
            amount,
            reason: reason_shown(d.reason),
            description: d.description,
            status: status_shown(d.status),
            status_explained,
            opened: format_time(d.opened_at),
            respond_by: format_time(d.respond_by),
            answer,
            decision,
            decision_reason: d.decision_reason,
            money: lines,
            merchant: d.merchant_name,
        }
    }
}

fn shipping(tr: &Tr, carrier: Option<&str>, tracking: Option<&str>) -> Option<String> {
    match (carrier, tracking) {
        (Some(c), Some(t)) => {
            Some(tr.args("dispute-shipped-tracked", [("carrier", c), ("tracking", t)]))
        }
        (Some(c), None) => Some(tr.args("dispute-shipped", [("carrier", c)])),
        (None, Some(t)) => Some(tr.args("dispute-tracking", [("tracking", t)])),
        (None, None) => None,
    }
}
