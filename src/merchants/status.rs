//! A merchant's vetting status: pending, verified (the trust mark) or suspended (no new
//! checkouts, no outstanding grant redeemed). A change keeps the issuer's reason, is audited
//! and is announced to the merchant as `merchant.trust_mark_changed`, all in one transaction.

use saifu_sdk::webhooks::EventType;
use serde_json::json;

use super::fields::{unknown_merchant, StatusReason};
use super::{MerchantStatus, Merchants};
use crate::audit::{Action, Actor, Entry};
use crate::error::{Error, Result};
use crate::store::{self, StatusChange};
use crate::webhooks::{new_event_id, render_event};

/// The event a status change announces.
const TRUST_MARK_CHANGED: EventType = EventType::MerchantTrustMarkChanged;

impl Merchants {
    /// Sets the merchant's vetting status, with a reason (required to suspend). When the status
    /// changes, the change, the `merchant.trust_mark_changed` event and the audit entry are
    /// written together, and `true` is given. Setting the status it already has changes,
    /// emits and records nothing, and gives `false`.
    pub async fn set_status(
        &self,
        client_id: &str,
        status: MerchantStatus,
        reason: Option<StatusReason>,
        by: &Actor,
        now: i64,
    ) -> Result<bool> {
        if status == MerchantStatus::Suspended && reason.is_none() {
            return Err(Error::invalid(
                "status_reason_required",
                "Say why the merchant is suspended: the reason is kept and sent to the merchant.",
            ));
        }
        let event_id = new_event_id()?;
        let reason_text = reason.as_ref().map(StatusReason::as_str);
        let announce = |previous: &str| -> anyhow::Result<(String, store::audit::AuditRecord)> {
            let data = json!({
                "client_id": client_id,
                "status": status.as_str(),
                "previous_status": previous,
                "verified": status == MerchantStatus::Verified,
                "reason": reason_text,
                "changed_at": now,
            });
            let body = render_event(&event_id, TRUST_MARK_CHANGED.as_str(), now, data)
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
            let audit = Entry::new(by, Action::MerchantStatusChanged, client_id)
                .with("status", status.as_str())
                .with("previous_status", previous)
                .with("reason", reason_text)
                .record(now);
            Ok((body, audit))
        };
        let changed = self
            .store
            .change_merchant_status(&StatusChange {
                client_id,
                status: status.as_str(),
                reason: reason_text,
                at: now,
                event_id: &event_id,
                event_type: TRUST_MARK_CHANGED.as_str(),
                announce: &announce,
            })
            .await
            .map_err(|e| match e {
                store::Error::NotFound => unknown_merchant(),
                other => other.into(),
            })?;
        match changed {
            Some(previous) => {
                tracing::info!(client_id = %client_id, status = status.as_str(), previous = %previous, "merchant status changed");
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
