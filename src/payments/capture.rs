//! Capturing a payment, once, for at most the authorized amount; in the same transaction the
//! held points are spent and the earned points credited. Also records a bare authorization.

use saifu_sdk::checkout::Amount;
use saifu_sdk::payments::Payment;
use saifu_sdk::webhooks::EventType;

use super::status::PaymentStatus;
use super::view::{stored_currency, view};
use super::Created;
use super::{
    amount_in, declined, in_progress, processor_failed, require_status, Payments, POINTS_ONLY,
};
use crate::error::{Error, Kind, Result};
use crate::idempotency::InlineAnswer;
use crate::merchants::Merchant;
use crate::money::{AmountTooLarge, Currency, Money};
use crate::points::lots;
use crate::points::rules::{self, Rules};
use crate::processor::{IdempotencyKey, Outcome};
use crate::store::payments::{
    Advance, CapturePoints, Operation, PaymentEvent, RequestAnswer, StartOperation, StoredPayment,
};

/// An authorization the card network approved, not yet recorded, and its event.
pub(super) struct Authorized {
    pub reference: String,
    pub event: PaymentEvent,
}

impl Authorized {
    fn advance(&self) -> Advance<'_> {
        Advance {
            authorization_ref: Some(&self.reference),
            ..Advance::to(PaymentStatus::Authorized)
        }
    }
}

/// The amount a request asks of `payment`, in the payment's currency.
pub(super) fn amount_of(payment: &StoredPayment, asked: &Amount) -> Result<Money> {
    let currency = stored_currency(payment)?;
    if Currency::parse(&asked.currency) != Some(currency) {
        return Err(Error::new(
            Kind::Unprocessable,
            "currency_mismatch",
            format!("The payment is in {}.", currency.code()),
        ));
    }
    amount_in(currency, &asked.amount)
}

impl Payments {
    pub(super) async fn record_authorized(
        &self,
        id: &str,
        authorized: &Authorized,
        now: i64,
    ) -> Result<()> {
        self.store
            .advance_payment(
                id,
                PaymentStatus::Pending,
                authorized.advance(),
                &authorized.event,
                now,
            )
            .await?;
        self.webhooks.wake();
        tracing::info!(payment_id = %id, "payment authorized");
        Ok(())
    }

    /// Captures an authorization, once, for at most the authorized amount; in the same
    /// transaction the held points are spent and the earned points credited. The capture is
    /// recorded as in flight before the processor is called; a retry with the same
    /// Idempotency-Key finishes a capture cut off by a crash, or answers the capture it made.
    pub async fn capture(
        &self,
        merchant: &Merchant,
        id: &str,
        amount: Option<&Amount>,
        request_key: Option<&str>,
        now: i64,
    ) -> Result<Payment> {
        let payment = self.stored(merchant, id).await?;
        if finished_by(&payment, Operation::Capture, request_key) {
            return view(&payment);
        }
        require_status(
            &payment,
            PaymentStatus::Authorized,
            "payment_not_capturable",
            "only an authorized payment can be captured",
        )?;
        let (amount, _) = self.capture_amounts(&payment, amount).await?;
        match self
            .start_operation(
                &payment,
                Operation::Capture,
                Some(amount.minor),
                request_key,
                now,
            )
            .await?
        {
            Start::Begun(payment) => self.finish_capture(payment, now).await,
            Start::Finished(payment) => view(&payment),
        }
    }

    /// Records `operation` as in flight on an authorized payment, held by this node for the
    /// lease; refused while another step is in flight. When the same request's step was
    /// finished meanwhile (a retry racing the reconciler that completed it), gives the payment
    /// as that step left it.
    pub(super) async fn start_operation(
        &self,
        payment: &StoredPayment,
        operation: Operation,
        amount: Option<i64>,
        request_key: Option<&str>,
        now: i64,
    ) -> Result<Start> {
        let start = StartOperation {
            operation,
            amount,
            request_key,
            lease_until: now + self.lease_secs,
        };
        let authorized = PaymentStatus::Authorized;
        match self
            .store
            .start_operation(&payment.id, authorized, start, now)
            .await?
        {
            Some(started) => Ok(Start::Begun(started)),
            None => {
                let now_stored = self.store.payment(&payment.id).await?;
                match now_stored {
                    Some(p) if p.status == authorized => Err(in_progress()),
                    Some(p) if finished_by(&p, operation, request_key) => Ok(Start::Finished(p)),
                    _ => Err(Error::conflict(
                        match operation {
                            Operation::Void => "payment_not_voidable",
                            _ => "payment_not_capturable",
                        },
                        "The payment was captured or voided meanwhile.",
                    )),
                }
            }
        }
    }

    /// Carries out the capture in flight on `payment` (its amount as recorded) with the
    /// processor key `capture:<id>`, and records the outcome: captured, or the capture ended
    /// without effect.
    pub(super) async fn finish_capture(&self, payment: StoredPayment, now: i64) -> Result<Payment> {
        let amount_minor = payment.operation_amount.unwrap_or(payment.amount_minor);
        let (amount, card_amount) = self.amounts_of(&payment, amount_minor).await?;
        let authorization = payment.authorization_ref.clone().unwrap_or_default();
        match self
            .capture_at_card(&payment.id, &authorization, card_amount)
            .await
        {
            Ok(Outcome::Approved { reference }) => {
                self.commit_capture(&payment, None, amount, card_amount, &reference, None, now)
                    .await
            }
            Ok(Outcome::Declined { decline_code }) => {
                self.store
                    .end_operation(&payment.id, Operation::Capture)
                    .await?;
                Err(declined(&decline_code))
            }
            Err(err) => {
                self.store
                    .end_operation(&payment.id, Operation::Capture)
                    .await?;
                Err(processor_failed(err))
            }
        }
    }

    /// Captures a pending payment whose authorization was just approved: captured at the card
    /// network first, so that the authorization and the capture commit together (one
    /// transaction, two events). If the capture fails, the authorization stands on its own;
    /// but one the shopper's approval made (`adopted`) goes back to the grant, and the grant to
    /// the shop, when the card network does not answer, so that a retry does it all again.
    pub(super) async fn capture_at_once(
        &self,
        pending: StoredPayment,
        authorized: &Authorized,
        adopted: bool,
        answer: Option<&InlineAnswer>,
        now: i64,
    ) -> Result<Created> {
        let id = pending.id.clone();
        let (amount, card_amount) = self.amounts_of(&pending, pending.amount_minor).await?;
        let captured = match self
            .capture_at_card(&id, &authorized.reference, card_amount)
            .await
        {
            Ok(Outcome::Approved { reference }) => self
                .commit_capture(
                    &pending,
                    Some(authorized),
                    amount,
                    card_amount,
                    &reference,
                    answer,
                    now,
                )
                .await
                .map(|payment| Created {
                    payment,
                    answered: answer.is_some(),
                }),
            Ok(Outcome::Declined { decline_code }) => Err(declined(&decline_code)),
            Err(err) => Err(processor_failed(err)),
        };
        match captured {
            Ok(payment) => Ok(payment),
            Err(err) if adopted && err.kind() == Kind::Upstream => {
                self.store
                    .abandon_redemption(&id, &pending.grant_jti, rules::PAYMENT_ABANDONED)
                    .await?;
                Err(err)
            }
            Err(err) => {
                self.record_authorized(&id, authorized, now).await?;
                Err(match err.kind() {
                    Kind::Upstream => Error::new(
                        Kind::Upstream,
                        "processor_error",
                        format!("Payment {id} was authorized but the capture failed at the card network. Capture it with POST /v1/payments/{id}/capture (safe to retry)."),
                    ),
                    _ => err,
                })
            }
        }
    }

    /// The amount to capture (all of it unless given), checked against the authorization and
    /// the redeemed points; and the card's part of it.
    async fn capture_amounts(
        &self,
        payment: &StoredPayment,
        amount: Option<&Amount>,
    ) -> Result<(Money, Money)> {
        let currency = stored_currency(payment)?;
        let amount = match amount {
            Some(asked) => amount_of(payment, asked)?,
            None => Money {
                currency,
                minor: payment.amount_minor,
            },
        };
        if amount.minor > payment.amount_minor {
            return Err(Error::new(
                Kind::Unprocessable,
                "amount_exceeds_authorization",
                "The capture exceeds the authorized amount.",
            ));
        }
        self.amounts_of(payment, amount.minor).await
    }

    /// `amount_minor` of the payment and the card's part of it (what the redeemed points
    /// don't pay).
    async fn amounts_of(
        &self,
        payment: &StoredPayment,
        amount_minor: i64,
    ) -> Result<(Money, Money)> {
        let currency = stored_currency(payment)?;
        let points_value = self
            .points_value(
                payment.points_programme_version,
                payment.points_redeemed,
                currency,
            )
            .await?;
        if amount_minor < points_value {
            return Err(Error::new(
                Kind::Unprocessable,
                "amount_below_points",
                "The capture cannot be less than the points redeemed.",
            ));
        }
        let amount = Money {
            currency,
            minor: amount_minor,
        };
        let card_amount = Money {
            currency,
            minor: amount_minor - points_value,
        };
        Ok((amount, card_amount))
    }

    /// Captures the card's part at the card network, keyed by the payment so that a retry
    /// never captures twice; points that pay it all need no call.
    async fn capture_at_card(
        &self,
        id: &str,
        authorization: &str,
        card_amount: Money,
    ) -> std::result::Result<Outcome, crate::processor::ProcessorError> {
        if card_amount.minor == 0 {
            return Ok(Outcome::Approved {
                reference: POINTS_ONLY.into(),
            });
        }
        let key = IdempotencyKey::new(format!("capture:{id}"));
        self.vault
            .processor()
            .capture(&key, authorization, card_amount)
            .await
    }

    /// Records an approved capture with its points and event; with `authorized`, a pending
    /// payment's authorization commits in the same transaction, and with `answer` the
    /// request's answer (the captured payment) is kept for its key in it too.
    #[allow(clippy::too_many_arguments)]
    async fn commit_capture(
        &self,
        payment: &StoredPayment,
        authorized: Option<&Authorized>,
        amount: Money,
        card_amount: Money,
        reference: &str,
        answer: Option<&InlineAnswer>,
        now: i64,
    ) -> Result<Payment> {
        let id = payment.id.as_str();
        let change = Advance {
            captured_minor: Some(amount.minor),
            capture_ref: Some(reference),
            ..Advance::to(PaymentStatus::Captured)
        };
        let authorize_first = authorized.map(|a| (a.advance(), &a.event));
        let points = self.capture_points(payment, card_amount, now).await?;
        let event = super::event::payment_event(EventType::PaymentCaptured)?;
        let answer = answer.map(|a| RequestAnswer {
            scope: a.scope.stored(),
            status: a.status,
            content_type: a.content_type,
            render: render_answer,
        });
        let Some(captured) = self
            .store
            .capture_payment(
                payment,
                authorize_first,
                change,
                &points,
                &event,
                answer.as_ref(),
                now,
            )
            .await
            .map_err(crate::points::refused)?
        else {
            return Err(Error::conflict(
                "payment_not_capturable",
                "The payment was captured or voided meanwhile.",
            ));
        };
        self.webhooks.wake();
        tracing::info!(payment_id = %id, points_earned = points.earn.points(), "payment captured");
        view(&captured)
    }

    /// The points moves of a capture: the held points spent, and what the card's part earns
    /// at the merchant's campaign rate.
    async fn capture_points(
        &self,
        payment: &StoredPayment,
        card_amount: Money,
        now: i64,
    ) -> Result<CapturePoints<'static>> {
        // The programme version and campaign the shopper approved under, whatever changed since.
        let programme = self
            .checkout
            .programmes
            .version(payment.points_programme_version)
            .await?;
        let rules = programme.rules;
        let earned = rules
            .rates
            .checked_earned(card_amount, payment.points_multiplier_percent)
            .ok_or(AmountTooLarge::overflow(card_amount.currency))?;
        Ok(CapturePoints {
            ledger: &Rules,
            redeem: rules::payment_captured(payment.points_redeemed),
            earn: lots::earn(
                &payment.user_id,
                &payment.client_id,
                &payment.id,
                earned,
                rules.expires_at(now),
                rules.expiry.rolling,
            ),
        })
    }
}

/// The body of a request's answer that is the payment: the payment as JSON, as the handler
/// sends it.
fn render_answer(payment: &StoredPayment) -> anyhow::Result<Vec<u8>> {
    Ok(serde_json::to_vec(&view(payment)?)?)
}

/// A capture or void begun for a request: in flight now, or already finished by the same
/// request (its Idempotency-Key) on this or another node.
pub(super) enum Start {
    Begun(StoredPayment),
    Finished(StoredPayment),
}

/// Whether `payment` was already captured (or voided) by the request with `request_key`: a
/// retry of that request answers the payment as it is.
pub(super) fn finished_by(
    payment: &StoredPayment,
    operation: Operation,
    request_key: Option<&str>,
) -> bool {
    let done = match operation {
        Operation::Void => PaymentStatus::Voided,
        _ => PaymentStatus::Captured,
    };
    payment.status == done
        && request_key.is_some()
        && payment.operation_key.as_deref() == request_key
}
