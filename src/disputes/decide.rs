//! The issuer's decision, and settling a dispute decided for the shopper. A decision is a
//! conditional write from `open` or `evidence_received`, audited in the same transaction, so
//! that of racing decisions and answers exactly one wins. For the shopper, the disputed amount
//! is refunded through the payments' own refund path; where that fails for good (the merchant
//! is suspended, the refund is declined) the guarantee pays; where it fails for now, the
//! dispute stays `resolving` and `resume` (the reconciler) finishes it.

use saifu_sdk::webhooks::EventType;

use super::answer::dispute_closed;
use super::types::{shown, why_refused, Decision, Dispute, MAX_TEXT};
use super::{not_found, view, Disputes};
use crate::audit::{Action, Actor, Entry};
use crate::error::{Error, Result};
use crate::merchants::MerchantStatus;
use crate::money::Money;
use crate::payments::DisputeRefund;
use crate::store::disputes::{Decided, StoredDispute};

/// The statuses a decision is taken from.
const DECIDABLE: &[&str] = &["open", "evidence_received"];

/// How many stalled disputes one pass of `resume` takes on.
const BATCH: i64 = 100;

impl Disputes {
    /// Decides an open dispute, or one with evidence, once. For the merchant, with a reason
    /// shown to the shopper: resolved, `rejected`. For the shopper: the disputed amount is
    /// refunded (or paid by the guarantee). A dispute decided or answered meanwhile is
    /// `dispute_closed`.
    pub async fn decide(
        &self,
        id: &str,
        decision: Decision,
        by: &Actor,
        now: i64,
    ) -> Result<Dispute> {
        let current = self.store.dispute(id).await?.ok_or_else(not_found)?;
        let amount = Money::new(view::currency_of(&current)?, current.amount_minor);
        let audit = Entry::new(by, Action::DisputeDecided, id)
            .with("payment_id", current.payment_id.as_str())
            .with("amount", amount.to_major_string())
            .with("currency", amount.currency.code());
        let by_text = by.to_string();
        let decided = match &decision {
            Decision::ForMerchant { reason } => {
                let reason = shown(reason, MAX_TEXT).ok_or_else(|| {
                    Error::invalid(
                        "invalid_decision_reason",
                        format!(
                            "Say why the dispute is decided for the merchant; the shopper reads it. {}",
                            why_refused(reason, MAX_TEXT)
                        ),
                    )
                    .on_field("reason")
                })?;
                let audit = audit
                    .with("decision", "for_merchant")
                    .with("reason", reason.as_str())
                    .record(now);
                let event = view::event(EventType::DisputeResolved)?;
                let change = Decided {
                    id,
                    from: DECIDABLE,
                    decision: "for_merchant",
                    reason: Some(&reason),
                    by: &by_text,
                    at: now,
                    audit: &audit,
                };
                self.store
                    .decide_dispute(&change, Some(("rejected", &event)), None)
                    .await?
            }
            Decision::ForShopper => {
                let audit = audit.with("decision", "for_shopper").record(now);
                let change = Decided {
                    id,
                    from: DECIDABLE,
                    decision: "for_shopper",
                    reason: None,
                    by: &by_text,
                    at: now,
                    audit: &audit,
                };
                let lease_until = now + self.settings.lease_secs;
                self.store
                    .decide_dispute(&change, None, Some(lease_until))
                    .await?
            }
        };
        let Some(dispute) = decided else {
            let current = self.store.dispute(id).await?.ok_or_else(not_found)?;
            return Err(dispute_closed(&current.status));
        };
        tracing::info!(dispute_id = %id, decision = ?decision_name(&decision), "dispute decided");
        match decision {
            Decision::ForShopper => self.settle(dispute, now).await,
            Decision::ForMerchant { .. } => {
                self.webhooks.wake();
                view::dispute(&dispute)
            }
        }
    }

    /// Settles a dispute this node holds in `resolving`: a refund, or a guarantee payout where
    /// the refund fails for good; left `resolving` where it fails for now.
    pub(super) async fn settle(&self, dispute: StoredDispute, now: i64) -> Result<Dispute> {
        let suspended = self
            .store
            .find_merchant(&dispute.client_id)
            .await?
            .is_none_or(|m| m.status == MerchantStatus::Suspended.as_str());
        let refund = if suspended {
            // A suspended merchant's processor account is not charged back through us.
            DisputeRefund::Refused
        } else {
            let key = format!("dispute:{}", dispute.id);
            self.payments
                .refund_for_dispute(&dispute.payment_id, dispute.amount_minor, &key, now)
                .await?
        };
        let event = view::event(EventType::DisputeResolved)?;
        let resolved = match refund {
            DisputeRefund::Refunded(refund_id) => {
                self.store
                    .resolve_dispute(&dispute.id, refund_id.as_deref(), None, &event, now)
                    .await?
            }
            DisputeRefund::Refused => self.pay_from_guarantee(&dispute, &event, now).await?,
            DisputeRefund::Retry => {
                tracing::info!(dispute_id = %dispute.id, "the dispute's refund failed for now; the reconciler retries it");
                return view::dispute(&dispute);
            }
        };
        match resolved {
            Some(done) => {
                self.webhooks.wake();
                tracing::info!(dispute_id = %done.id, outcome = ?done.outcome, "dispute resolved");
                view::dispute(&done)
            }
            // Another node finished it meanwhile.
            None => view::dispute(
                &self
                    .store
                    .dispute(&dispute.id)
                    .await?
                    .ok_or_else(not_found)?,
            ),
        }
    }

    /// Finishes disputes that a crash or a failing processor left `resolving` past their
    /// lease. Safe to run on every node at once.
    pub async fn resume(&self, now: i64) -> Result<usize> {
        let mut done = 0;
        let lease_until = now + self.settings.lease_secs;
        for dispute in self.store.stalled_disputes(now, BATCH).await? {
            if !self
                .store
                .take_over_dispute(&dispute.id, now, lease_until)
                .await?
            {
                continue;
            }
            let id = dispute.id.clone();
            match self.settle(dispute, now).await {
                Ok(d) => {
                    tracing::info!(dispute_id = %id, status = d.status.as_str(), "resumed a dispute left resolving")
                }
                Err(err) => {
                    tracing::warn!(dispute_id = %id, code = err.code(), "resuming a dispute failed")
                }
            }
            done += 1;
        }
        Ok(done)
    }
}

fn decision_name(decision: &Decision) -> &'static str {
    match decision {
        Decision::ForShopper => "for_shopper",
        Decision::ForMerchant { .. } => "for_merchant",
    }
}
