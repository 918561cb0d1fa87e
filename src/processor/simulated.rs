//! The simulated processor, Saifu's default and always in test mode. It honours the test-card
//! table (shared/testdata/test-cards.json, embedded here byte for byte), keeps authorizations,
//! captures and refunds in memory, and can add latency and inject faults for tests.
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
use crate::money::Money;

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
    /// Test-card number → what verification and authorization answer.
    cards: HashMap<String, CardRule>,
    ledger: Mutex<Ledger>,
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

#[derive(Default)]
struct Ledger {
    /// "operation:key" → the saved result.
    replies: HashMap<String, Result<Outcome, ProcessorError>>,
    authorizations: HashMap<String, Authorization>,
    captures: HashMap<String, Capture>,
    effects: usize,
}

struct Authorization {
    amount: Money,
    state: AuthorizationState,
}

#[derive(PartialEq, Eq)]
enum AuthorizationState {
    Open,
    Captured,
    Voided,
}

struct Capture {
    amount: Money,
    refunded: i64,
}

impl SimulatedProcessor {
    pub fn new(options: SimulatedOptions) -> Self {
        let cards = parse_table(TEST_CARDS)
            .expect("the embedded test-card table is checked by this module's tests");
        Self {
            fault_rate: std::sync::atomic::AtomicU64::new(options.fault_rate.to_bits()),
            faulty_operation: Mutex::new(None),
            options,
            cards,
            ledger: Mutex::new(Ledger::default()),
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

    /// Operations that took effect: first-time calls that were approved. Replays, declines,
    /// errors and injected faults leave it unchanged.
    pub fn effects(&self) -> usize {
        self.ledger().effects
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // No code path panics while holding the lock, but a poisoned ledger is still consistent.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
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

    /// Latency, fault injection and idempotency around one operation. `run` is called at most
    /// once per operation and key, under the ledger lock, so concurrent retries can't both act.
    async fn call(
        &self,
        operation: &'static str,
        key: &IdempotencyKey,
        run: impl FnOnce(&mut Ledger) -> Result<Outcome, ProcessorError> + Send,
    ) -> Result<Outcome, ProcessorError> {
        if !self.options.latency.is_zero() {
            tokio::time::sleep(self.options.latency).await;
        }
        if self.fault(operation) {
            return Err(ProcessorError::Unavailable);
        }
        let slot = format!("{operation}:{}", key.as_str());
        let mut ledger = self.ledger();
        if let Some(saved) = ledger.replies.get(&slot) {
            return saved.clone();
        }
        let result = run(&mut ledger);
        match &result {
            Ok(outcome) => {
                if matches!(outcome, Outcome::Approved { .. }) {
                    ledger.effects += 1;
                }
                ledger.replies.insert(slot, result.clone());
            }
            Err(ProcessorError::Processing) => {
                ledger.replies.insert(slot, result.clone());
            }
            Err(_) => {}
        }
        result
    }

    fn rule(&self, card: &CardDetails<'_>) -> Option<&CardRule> {
        self.cards.get(card.number.expose())
    }
}

impl Default for SimulatedProcessor {
    fn default() -> Self {
        Self::new(SimulatedOptions::default())
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
        self.call("verify_card", key, move |_| {
            if !cvc_fits {
                return declined("incorrect_cvc");
            }
            match verdict.unwrap_or(Verdict::Approve) {
                Verdict::Approve => approved("sim_ver"),
                Verdict::Decline(code) => declined(&code),
                Verdict::Error => Err(ProcessorError::Processing),
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
        self.call("authorize", key, move |ledger| {
            if amount.minor <= 0 {
                return declined("invalid_amount");
            }
            match verdict.unwrap_or(Verdict::Approve) {
                Verdict::Approve => {
                    let outcome = approved("sim_auth");
                    if let Ok(Outcome::Approved { reference }) = &outcome {
                        ledger.authorizations.insert(
                            reference.clone(),
                            Authorization {
                                amount,
                                state: AuthorizationState::Open,
                            },
                        );
                    }
                    outcome
                }
                Verdict::Decline(code) => declined(&code),
                Verdict::Error => Err(ProcessorError::Processing),
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
        self.call("capture", key, move |ledger| {
            let auth = ledger
                .authorizations
                .get_mut(authorization)
                .ok_or(ProcessorError::UnknownReference)?;
            match auth.state {
                AuthorizationState::Captured => return declined("already_captured"),
                AuthorizationState::Voided => return declined("authorization_voided"),
                AuthorizationState::Open => {}
            }
            if amount.currency != auth.amount.currency {
                return declined("currency_mismatch");
            }
            if amount.minor <= 0 {
                return declined("invalid_amount");
            }
            if amount.minor > auth.amount.minor {
                return Err(ProcessorError::AmountTooLarge);
            }
            auth.state = AuthorizationState::Captured;
            let reference = reference("sim_cap");
            ledger.captures.insert(
                reference.clone(),
                Capture {
                    amount,
                    refunded: 0,
                },
            );
            Ok(Outcome::Approved { reference })
        })
        .await
    }

    async fn void(
        &self,
        key: &IdempotencyKey,
        authorization: &str,
    ) -> Result<Outcome, ProcessorError> {
        self.call("void", key, move |ledger| {
            let auth = ledger
                .authorizations
                .get_mut(authorization)
                .ok_or(ProcessorError::UnknownReference)?;
            match auth.state {
                AuthorizationState::Captured => declined("already_captured"),
                AuthorizationState::Voided => declined("already_voided"),
                AuthorizationState::Open => {
                    auth.state = AuthorizationState::Voided;
                    approved("sim_void")
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
        self.call("refund", key, move |ledger| {
            let captured = ledger
                .captures
                .get_mut(capture)
                .ok_or(ProcessorError::UnknownReference)?;
            if amount.currency != captured.amount.currency {
                return declined("currency_mismatch");
            }
            if amount.minor <= 0 {
                return declined("invalid_amount");
            }
            let total = captured
                .refunded
                .checked_add(amount.minor)
                .filter(|total| *total <= captured.amount.minor)
                .ok_or(ProcessorError::AmountTooLarge)?;
            captured.refunded = total;
            approved("sim_ref")
        })
        .await
    }
}

#[cfg(test)]
mod tests;
