//! The card network boundary: the `Processor` trait (verify card, authorize, capture, void,
//! refund), each call carrying an idempotency key, and the built-in simulated processor that
//! runs in test mode.

pub mod simulated;

use crate::card::{CardNumber, Cvc, Expiry};
use crate::money::Money;

/// Unique per logical operation; retrying with the same key never repeats its effect.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh key (a UUID v4).
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// A key derived from our own records, so a retry after a crash reuses it.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The card as the processor sees it. `Debug` shows the number masked.
#[derive(Clone, Copy, Debug)]
pub struct CardDetails<'a> {
    pub number: &'a CardNumber,
    pub expiry: Expiry,
    pub holder: &'a str,
}

/// What the processor decided about an operation it carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `reference` names the verification, authorization, capture, void or refund.
    Approved {
        reference: String,
    },
    Declined {
        decline_code: String,
    },
}

/// The processor could not decide. None of these took effect.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProcessorError {
    /// For example the processing_error test card; safe to retry with the same key.
    #[error("the processor reported a processing error")]
    Processing,
    /// An outage or injected fault.
    #[error("the processor is unavailable")]
    Unavailable,
    #[error("unknown processor reference")]
    UnknownReference,
    #[error("amount exceeds what the operation allows")]
    AmountTooLarge,
}

#[async_trait::async_trait]
pub trait Processor: Send + Sync {
    fn name(&self) -> &'static str;

    /// True for the simulated processor: pages and logs say "test mode".
    fn test_mode(&self) -> bool;

    /// Zero-amount card verification, the only call that ever sees the CVC.
    async fn verify_card(
        &self,
        key: &IdempotencyKey,
        card: CardDetails<'_>,
        cvc: &Cvc,
    ) -> Result<Outcome, ProcessorError>;

    async fn authorize(
        &self,
        key: &IdempotencyKey,
        card: CardDetails<'_>,
        amount: Money,
    ) -> Result<Outcome, ProcessorError>;

    /// Captures up to the authorized amount of `authorization`, once.
    async fn capture(
        &self,
        key: &IdempotencyKey,
        authorization: &str,
        amount: Money,
    ) -> Result<Outcome, ProcessorError>;

    /// Releases an authorization that has not been captured.
    async fn void(
        &self,
        key: &IdempotencyKey,
        authorization: &str,
    ) -> Result<Outcome, ProcessorError>;

    /// Refunds part or all of `capture`; refunds together never exceed the captured amount.
    async fn refund(
        &self,
        key: &IdempotencyKey,
        capture: &str,
        amount: Money,
    ) -> Result<Outcome, ProcessorError>;
}
