//! The simulated processor, Saifu's default and always in test mode. It honours the test-card
//! table (shared/testdata/test-cards.json, embedded here byte for byte), keeps authorizations,
//! captures, refunds and its replies in the database (its own tables, `store/simulator.rs`),
//! so that every node and every restart sees the same card network, and can add latency and
//! inject faults for tests.
//!
//! Rules beyond the table:
//! - Idempotency keys are scoped to the operation: a key used for `authorize` and then for
//!   `capture` names two operations. Within one operation a repeated key replays the first
//!   result as it was, whatever the parameters of the repeat.
//! - A result is saved for replay once the operation ran: approvals, declines and processing
//!   errors. Injected faults (`Unavailable`) and refused requests (`UnknownReference`,
//!   `AmountTooLarge`) are not saved, so the same key can be retried after fixing the cause.
//! - Requests that are well-formed but clash with the state get a `Declined` outcome:
//!   `already_captured`, `already_voided`, `authorization_voided`, `currency_mismatch`, and
//!   `invalid_amount` for an amount of zero or less (verification is the zero-amount call).
//! - Capture takes at most the authorized amount, once; the rest of the authorization lapses.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rand::Rng;
use serde::Deserialize;

use super::{CardDetails, IdempotencyKey, Outcome, Processor, ProcessorError};
use crate::card::Cvc;
use crate::clock::unix_now;
use crate::money::Money;
use crate::store::simulator::{SimCall, SimDecision, SimState, SimTarget, SimWrite};
use crate::store::Store;

/// The test-card table, a byte-for-byte copy of shared/testdata/test-cards.json.
const TEST_CARDS: &str = include_str!("test-cards.json");

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SimulatedOptions {
    /// Added to every call.
    pub latency: Duration,
    /// The share of calls (0.0–1.0) that fail with `Unavailable` before having any effect.
    pub fault_rate: f64,
}

pub struct SimulatedProcessor {
    options: SimulatedOptions,
    /// The fault rate in force: starts as `options.fault_rate`, changeable at run time.
    fault_rate: std::sync::atomic::AtomicU64,
    /// When set, only this operation (`authorize`, `capture`, …) is subject to the fault rate.
    faulty_operation: Mutex<Option<&'static str>>,
    /// When set, this operation (`refund`, …) is declined with this code, as a card network
    /// declines a refund to a closed account.
    declined_operation: Mutex<Option<(&'static str, &'static str)>>,
    /// Test-card number → what verification and authorization answer.
    cards: HashMap<String, CardRule>,
    /// Authorizations, captures and saved replies, in the database.
    store: Store,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    Approve,
    Decline(String),
    Error,
}

#[derive(Clone, Debug)]
struct CardRule {
    verify: Verdict,
    authorize: Verdict,
}

#[derive(Deserialize)]
struct Table {
    cards: Vec<TableCard>,
}

#[derive(Deserialize)]
struct TableCard {
    number: String,
    outcome: String,
    decline_code: Option<String>,
    when: Option<String>,
}

impl TableCard {
    fn rule(&self) -> Result<CardRule, String> {
        let (verify, authorize) = match self.outcome.as_str() {
            "approved" => (Verdict::Approve, Verdict::Approve),
            "error" => (Verdict::Error, Verdict::Error),
            "declined" => {
                let code = self
                    .decline_code
                    .clone()
                    .ok_or_else(|| "a declined card without decline_code".to_string())?;
                let decline = Verdict::Decline(code);
                match self.when.as_deref() {
                    None => (decline.clone(), decline),
                    Some("card verification") => (decline, Verdict::Approve),
                    Some(when) if when.starts_with("authorize only") => (Verdict::Approve, decline),
                    Some(when) => return Err(format!("unknown \"when\": {when}")),
                }
            }
            other => return Err(format!("unknown outcome: {other}")),
        };
        Ok(CardRule { verify, authorize })
    }
}

fn parse_table(json: &str) -> Result<HashMap<String, CardRule>, String> {
    let table: Table = serde_json::from_str(json).map_err(|e| e.to_string())?;
    table
        .cards
        .into_iter()
        .map(|card| Ok((card.number.clone(), card.rule()?)))
        .collect()
}

impl SimulatedProcessor {
    /// A simulated processor whose state lives in `store`'s tables, shared by every node on
    /// that database.
    pub fn new(store: Store, options: SimulatedOptions) -> Self {
        let cards = parse_table(TEST_CARDS)
            .expect("the embedded test-card table is checked by this module's tests");
        Self {
            fault_rate: std::sync::atomic::AtomicU64::new(options.fault_rate.to_bits()),
            faulty_operation: Mutex::new(None),
            declined_operation: Mutex::new(None),
            options,
            cards,
            store,
        }
    }

    /// Changes the share of calls that fail as if the network were down, while running
    /// (reliability tests turn faults on and off around one step).
    pub fn set_fault_rate(&self, rate: f64) {
        self.fault_rate.store(
            rate.clamp(0.0, 1.0).to_bits(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Limits the fault rate to one operation (`Some("capture")`), or applies it to all again.
    pub fn set_faulty_operation(&self, operation: Option<&'static str>) {
        *self
            .faulty_operation
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = operation;
    }

    /// Declines every call of `operation` with `decline_code` (`Some(("refund",
    /// "account_closed"))`), or none again. Declines made this way are not saved for replay.
    pub fn set_declined_operation(&self, declined: Option<(&'static str, &'static str)>) {
        *self
            .declined_operation
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = declined;
    }

    /// Operations that took effect, on every node: first-time calls that were approved.
    /// Replays, declines, errors and injected faults leave it unchanged.
    pub async fn effects(&self) -> anyhow::Result<i64> {
        Ok(self.store.simulator_effects().await?)
    }

    fn fault(&self, operation: &str) -> bool {
        let only = *self
            .faulty_operation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if only.is_some_and(|only| only != operation) {
            return false;
        }
        let rate = f64::from_bits(self.fault_rate.load(std::sync::atomic::Ordering::Relaxed));
        rate > 0.0 && rand::thread_rng().gen::<f64>() < rate
    }

    /// Latency, fault injection and idempotency around one operation. The first call with a
    /// key runs `rules` on the target's state and commits its write with the saved reply; a
    /// repeat (on any node) gets the saved reply. When another node changed the state
    /// meanwhile, the rules run again on the new state.
    async fn call(
        &self,
        operation: &'static str,
        key: &IdempotencyKey,
        target: SimTarget<'_>,
        rules: impl Fn(SimState) -> Decided + Sync,
    ) -> Result<Outcome, ProcessorError> {
        if !self.options.latency.is_zero() {
            tokio::time::sleep(self.options.latency).await;
        }
        if self.fault(operation) {
            return Err(ProcessorError::Unavailable);
        }
        let decline = *self
            .declined_operation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, code)) = decline.filter(|(op, _)| *op == operation) {
            return declined(code);
        }
        let slot = format!("{operation}:{}", key.as_str());
        let decide = |state: SimState| {
            let (result, write) = rules(state);
            let effect = matches!(result, Ok(Outcome::Approved { .. }));
            SimDecision {
                reply: encode(&result),
                // Refused requests are not saved: the same key can be retried once fixed.
                save: matches!(result, Ok(_) | Err(ProcessorError::Processing)),
                effect,
                write: if effect { write } else { None },
            }
        };
        let target = &target;
        for _ in 0..8 {
            let target = match target {
                SimTarget::Nothing => SimTarget::Nothing,
                SimTarget::Authorization(r) => SimTarget::Authorization(r),
                SimTarget::Capture(r) => SimTarget::Capture(r),
            };
            match self
                .store
                .simulator_call(&slot, target, &decide, unix_now())
                .await
            {
                Ok(SimCall::Replayed(reply) | SimCall::Decided(reply)) => return decode(&reply),
                Ok(SimCall::Conflict) => continue,
                Err(err) => {
                    tracing::warn!(error = %err, "the simulated processor's database failed");
                    return Err(ProcessorError::Unavailable);
                }
            }
        }
        Err(ProcessorError::Unavailable)
    }

    fn rule(&self, card: &CardDetails<'_>) -> Option<&CardRule> {
        self.cards.get(card.number.expose())
    }
}

/// A result and the state change that goes with it when it is an approval.
type Decided = (Result<Outcome, ProcessorError>, Option<SimWrite>);

/// A result as saved for replay.
fn encode(result: &Result<Outcome, ProcessorError>) -> String {
    match result {
        Ok(Outcome::Approved { reference }) => format!("approved:{reference}"),
        Ok(Outcome::Declined { decline_code }) => format!("declined:{decline_code}"),
        Err(ProcessorError::Processing) => "error:processing".into(),
        Err(ProcessorError::Unavailable) => "error:unavailable".into(),
        Err(ProcessorError::UnknownReference) => "error:unknown_reference".into(),
        Err(ProcessorError::AmountTooLarge) => "error:amount_too_large".into(),
    }
}

fn decode(reply: &str) -> Result<Outcome, ProcessorError> {
    match reply.split_once(':') {
        Some(("approved", reference)) => Ok(Outcome::Approved {
            reference: reference.to_string(),
        }),
        Some(("declined", code)) => Ok(Outcome::Declined {
            decline_code: code.to_string(),
        }),
        Some(("error", "processing")) => Err(ProcessorError::Processing),
        Some(("error", "unknown_reference")) => Err(ProcessorError::UnknownReference),
        Some(("error", "amount_too_large")) => Err(ProcessorError::AmountTooLarge),
        _ => Err(ProcessorError::Unavailable),
    }
}

impl fmt::Debug for SimulatedProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatedProcessor")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn reference(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4())
}

fn approved(prefix: &str) -> Result<Outcome, ProcessorError> {
    Ok(Outcome::Approved {
        reference: reference(prefix),
    })
}

fn declined(code: &str) -> Result<Outcome, ProcessorError> {
    Ok(Outcome::Declined {
        decline_code: code.to_string(),
    })
}

#[async_trait::async_trait]
impl Processor for SimulatedProcessor {
    fn name(&self) -> &'static str {
        "simulated"
    }

    fn test_mode(&self) -> bool {
        true
    }

    async fn verify_card(
        &self,
        key: &IdempotencyKey,
        card: CardDetails<'_>,
        cvc: &Cvc,
    ) -> Result<Outcome, ProcessorError> {
        // A code parsed for another brand than the card's has the wrong length.
        let cvc_fits = cvc.expose().len() == card.number.brand().cvc_len();
        let verdict = self.rule(&card).map(|rule| rule.verify.clone());
        self.call("verify_card", key, SimTarget::Nothing, move |_| {
            if !cvc_fits {
                return (declined("incorrect_cvc"), None);
            }
            match verdict.clone().unwrap_or(Verdict::Approve) {
                Verdict::Approve => (approved("sim_ver"), None),
                Verdict::Decline(code) => (declined(&code), None),
                Verdict::Error => (Err(ProcessorError::Processing), None),
            }
        })
        .await
    }

    async fn authorize(
        &self,
        key: &IdempotencyKey,
        card: CardDetails<'_>,
        amount: Money,
    ) -> Result<Outcome, ProcessorError> {
        let verdict = self.rule(&card).map(|rule| rule.authorize.clone());
        self.call("authorize", key, SimTarget::Nothing, move |_| {
            if amount.minor <= 0 {
                return (declined("invalid_amount"), None);
            }
            match verdict.clone().unwrap_or(Verdict::Approve) {
                Verdict::Approve => {
                    let reference = reference("sim_auth");
                    let write = SimWrite::NewAuthorization {
                        reference: reference.clone(),
                        currency: amount.currency.code().to_string(),
                        amount_minor: amount.minor,
                    };
                    (Ok(Outcome::Approved { reference }), Some(write))
                }
                Verdict::Decline(code) => (declined(&code), None),
                Verdict::Error => (Err(ProcessorError::Processing), None),
            }
        })
        .await
    }

    async fn capture(
        &self,
        key: &IdempotencyKey,
        authorization: &str,
        amount: Money,
    ) -> Result<Outcome, ProcessorError> {
        let target = SimTarget::Authorization(authorization);
        self.call("capture", key, target, move |state| {
            let SimState::Authorization(Some(auth)) = state else {
                return (Err(ProcessorError::UnknownReference), None);
            };
            match auth.state.as_str() {
                "captured" => return (declined("already_captured"), None),
                "voided" => return (declined("authorization_voided"), None),
                _ => {}
            }
            if amount.currency.code() != auth.currency {
                return (declined("currency_mismatch"), None);
            }
            if amount.minor <= 0 {
                return (declined("invalid_amount"), None);
            }
            if amount.minor > auth.amount_minor {
                return (Err(ProcessorError::AmountTooLarge), None);
            }
            let reference = reference("sim_cap");
            let write = SimWrite::Capture {
                authorization: authorization.to_string(),
                reference: reference.clone(),
                currency: auth.currency.clone(),
                amount_minor: amount.minor,
            };
            (Ok(Outcome::Approved { reference }), Some(write))
        })
        .await
    }

    async fn void(
        &self,
        key: &IdempotencyKey,
        authorization: &str,
    ) -> Result<Outcome, ProcessorError> {
        let target = SimTarget::Authorization(authorization);
        self.call("void", key, target, move |state| {
            let SimState::Authorization(Some(auth)) = state else {
                return (Err(ProcessorError::UnknownReference), None);
            };
            match auth.state.as_str() {
                "captured" => (declined("already_captured"), None),
                "voided" => (declined("already_voided"), None),
                _ => {
                    let write = SimWrite::Void {
                        authorization: authorization.to_string(),
                    };
                    (approved("sim_void"), Some(write))
                }
            }
        })
        .await
    }

    async fn refund(
        &self,
        key: &IdempotencyKey,
        capture: &str,
        amount: Money,
    ) -> Result<Outcome, ProcessorError> {
        let target = SimTarget::Capture(capture);
        self.call("refund", key, target, move |state| {
            let SimState::Capture(Some(captured)) = state else {
                return (Err(ProcessorError::UnknownReference), None);
            };
            if amount.currency.code() != captured.currency {
                return (declined("currency_mismatch"), None);
            }
            if amount.minor <= 0 {
                return (declined("invalid_amount"), None);
            }
            let Some(total) = captured
                .refunded_minor
                .checked_add(amount.minor)
                .filter(|total| *total <= captured.amount_minor)
            else {
                return (Err(ProcessorError::AmountTooLarge), None);
            };
            let write = SimWrite::Refund {
                capture: capture.to_string(),
                refunded_before: captured.refunded_minor,
                refunded_after: total,
            };
            (approved("sim_ref"), Some(write))
        })
        .await
    }
}

#[cfg(test)]
mod money_tests;
#[cfg(test)]
mod tests;
