//! Payments: redeeming a payment grant (exactly once), capture, void and refunds, each with a
//! stable processor idempotency key so that a retry never charges twice. One file per step:
//! `create`, `capture`, `void`, `refund`; `view` is the API's JSON, `status` the typed status.

pub mod activity;
mod capture;
mod create;
mod event;
pub mod recover;
mod refund;
pub use refund::DisputeRefund;
pub mod status;
mod view;
mod void;

use crate::checkout::Checkout;
use crate::error::{Error, Kind, Result};
use crate::merchants::Merchant;
use crate::money::{AmountTooLarge, Currency, Money, ParseAmountError};
use crate::processor::ProcessorError;
use crate::store::payments::StoredPayment;
use crate::store::Store;
use crate::vault::Vault;
use crate::webhooks::Webhooks;
use saifu_sdk::payments::Payment;

pub use status::PaymentStatus;
pub use view::view;

/// A payment made by [`Payments::create`]: `answered` when its request's answer was kept
/// for the key with the capture (see [`crate::idempotency::InlineAnswer`]).
pub struct Created {
    pub payment: Payment,
    pub answered: bool,
}

impl From<Payment> for Created {
    fn from(payment: Payment) -> Self {
        Self {
            payment,
            answered: false,
        }
    }
}

/// The payments service: a shared handle (cloned for every request that takes it), its parts
/// behind one `Arc`.
#[derive(Clone)]
pub struct Payments(std::sync::Arc<PaymentsInner>);

impl std::ops::Deref for Payments {
    type Target = PaymentsInner;

    fn deref(&self) -> &PaymentsInner {
        &self.0
    }
}

/// What a [`Payments`] holds.
pub struct PaymentsInner {
    store: Store,
    vault: Vault,
    checkout: Checkout,
    webhooks: Webhooks,
    /// How long a node holds a card-network step it started (see `recover`).
    lease_secs: i64,
}

/// The processor reference of what points paid entirely: no card-network call was made.
const POINTS_ONLY: &str = "points-only";

fn not_found() -> Error {
    Error::new(Kind::NotFound, "payment_not_found", "No such payment.")
}

fn declined(decline_code: &str) -> Error {
    Error::new(
        Kind::PaymentRequired,
        "card_declined",
        "The card was declined.",
    )
    .with_decline_code(decline_code.to_string())
}

/// A step of this payment is being carried out by another request or node right now.
fn in_progress() -> Error {
    Error::conflict(
        "payment_in_progress",
        "This payment is being processed by another request. Retry shortly with the same Idempotency-Key.",
    )
}

fn processor_failed(err: ProcessorError) -> Error {
    tracing::warn!(error = %err, "processor call failed");
    Error::new(
        Kind::Upstream,
        "processor_error",
        "The card network did not complete the request. Retrying (with the same Idempotency-Key) is safe: it never charges twice.",
    )
}

/// Refuses a step (`code`, a conflict) on a payment whose status is not `wanted`; `rule` says
/// which payments the step takes.
fn require_status(
    payment: &StoredPayment,
    wanted: PaymentStatus,
    code: &'static str,
    rule: &str,
) -> Result<()> {
    if payment.status != wanted {
        return Err(Error::conflict(
            code,
            format!("The payment is {}; {rule}.", payment.status),
        ));
    }
    Ok(())
}

fn amount_in(currency: Currency, raw: &str) -> Result<Money> {
    match Money::parse_major_exact(currency, raw) {
        Ok(m) if m.minor > 0 => Ok(m),
        Err(ParseAmountError::TooLarge) => Err(AmountTooLarge::overflow(currency).into()),
        _ => Err(Error::invalid(
            "invalid_amount",
            format!(
                "The amount must be a positive {} amount with {} decimal places.",
                currency.code(),
                currency.minor_digits()
            ),
        )),
    }
}

impl Payments {
    pub fn new(
        store: Store,
        vault: Vault,
        checkout: Checkout,
        webhooks: Webhooks,
        lease_secs: i64,
    ) -> Self {
        Self(std::sync::Arc::new(PaymentsInner {
            store,
            vault,
            checkout,
            webhooks,
            lease_secs,
        }))
    }

    pub async fn get(&self, merchant: &Merchant, id: &str) -> Result<Payment> {
        view(&self.stored(merchant, id).await?)
    }

    /// Payment `id` as it now stands.
    async fn current(&self, id: &str) -> Result<Payment> {
        view(&self.store.payment(id).await?.ok_or_else(not_found)?)
    }

    /// What `points` are worth in `currency` under programme `version` (the one the payment
    /// records), refused when out of range.
    async fn points_value(
        &self,
        version: Option<i64>,
        points: i64,
        currency: Currency,
    ) -> Result<i64> {
        if points == 0 {
            return Ok(0);
        }
        let programme = self.checkout.programmes.version(version).await?;
        Ok(programme.rules.rates.points_money(points, currency)?.minor)
    }

    /// The merchant's payment `id` as stored (another merchant's payment is not found).
    async fn stored(&self, merchant: &Merchant, id: &str) -> Result<StoredPayment> {
        self.store
            .find_payment(&merchant.client_id, id)
            .await?
            .ok_or_else(not_found)
    }

    pub async fn by_order_reference(
        &self,
        merchant: &Merchant,
        order_reference: &str,
    ) -> Result<Payment> {
        let payment = self
            .store
            .find_payment_by_order(&merchant.client_id, order_reference)
            .await?
            .ok_or_else(not_found)?;
        view(&payment)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_answer_that_a_payment_is_in_progress_is_never_kept_for_its_key() {
        assert_eq!(super::in_progress().code(), crate::idempotency::IN_PROGRESS);
    }
}
