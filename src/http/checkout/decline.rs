//! A card declined at the approval, told on the consent page the shopper is sent back to.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::error::{Error, Result};
use crate::http::pages::{CardView, DeclinedView};
use crate::i18n::Tr;

/// A card declined (or a card network that did not answer) at the approval, kept in the
/// session for the consent page the shopper is sent back to, shown once.
#[derive(Serialize, Deserialize)]
pub(super) struct DeclineNotice {
    /// The card declined; none for a one-touch payment (the default card).
    pub(super) card_id: Option<String>,
    /// The card network's decline code, or `processor_error` when it did not answer.
    code: String,
}

fn decline_slot(consent_id: &str) -> String {
    format!("checkout.declined.{consent_id}")
}

/// Whether `e` is the card network's answer at the approval: told on the consent page.
pub(super) fn is_card_refusal(e: &Error) -> bool {
    matches!(e.code(), "card_declined" | "processor_error")
}

pub(super) async fn remember_decline(
    session: &Session,
    consent_id: &str,
    card_id: Option<&str>,
    e: &Error,
) -> Result<()> {
    let notice = DeclineNotice {
        card_id: card_id.map(str::to_string),
        code: e.decline_code().unwrap_or(e.code()).to_string(),
    };
    session.insert(&decline_slot(consent_id), notice).await?;
    Ok(())
}

pub(super) async fn take_decline(
    session: &Session,
    consent_id: &str,
) -> Result<Option<DeclineNotice>> {
    Ok(session.remove(&decline_slot(consent_id)).await?)
}

impl DeclineNotice {
    pub(super) fn view(&self, tr: &Tr, card: Option<&CardView>) -> DeclinedView {
        if self.code == "processor_error" {
            return DeclinedView {
                title: tr.t("consent-network-title"),
                reason: tr.t("consent-network-reason"),
                next: tr.t("consent-network-next"),
            };
        }
        let reason = tr.t_or(
            &format!("activity-decline-{}", self.code),
            &tr.t("activity-decline-other"),
        );
        let reason = match card {
            Some(card) => {
                let label = format!("{} •••• {}", card.brand, card.last4);
                tr.args(
                    "consent-declined-card",
                    [("card", label.as_str()), ("reason", reason.as_str())],
                )
            }
            None => tr.args("consent-declined-reason", [("reason", reason.as_str())]),
        };
        DeclinedView {
            title: tr.t("consent-declined-title"),
            reason,
            next: tr.t("consent-declined-next"),
        }
    }
}
