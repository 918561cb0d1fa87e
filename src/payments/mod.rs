//! Payments: redeeming a payment grant (exactly once), capture, void and refunds, each with a
//! stable processor idempotency key so that a retry never charges twice.

pub mod activity;

use saifu_sdk::payments::{CardSummary, CreatePayment, Payment};
use uuid::Uuid;

use crate::checkout::details::PaymentRequest;
use crate::checkout::merchants::{Merchant, MerchantStatus};
use crate::checkout::Checkout;
use crate::domain::accounts::random_token;
use crate::domain::money::{Currency, Money};
use crate::domain::points::PointsPolicy;
use crate::error::{Error, Kind, Result};
use crate::processor::{CardDetails, IdempotencyKey, Outcome, ProcessorError};
use crate::store::payments::{
    Advance, Earn, GrantRefusal, NewPayment, RefundPoints, StoredPayment,
};
use crate::store::Store;
use crate::vault::card::Expiry;
use crate::vault::Vault;
use crate::webhooks::Webhooks;
use saifu_sdk::webhooks::EventType;

#[derive(Clone)]
pub struct Payments {
    store: Store,
    vault: Vault,
    checkout: Checkout,
    points: PointsPolicy,
    webhooks: Webhooks,
}

/// An authorization the card network approved, not yet recorded, and its event.
struct Authorized {
    reference: String,
    event: crate::store::payments::PaymentEvent,
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

fn processor_failed(err: ProcessorError) -> Error {
    tracing::warn!(error = %err, "processor call failed");
    Error::new(
        Kind::Upstream,
        "processor_error",
        "The card network did not complete the request. Retrying (with the same Idempotency-Key) is safe: it never charges twice.",
    )
}

fn amount_in(currency: Currency, raw: &str) -> Result<Money> {
    match Money::parse_major(currency, raw) {
        Some(m) if m.minor > 0 => Ok(m),
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
        points: PointsPolicy,
        webhooks: Webhooks,
    ) -> Self {
        Self {
            store,
            vault,
            checkout,
            points,
            webhooks,
        }
    }

    /// Redeems a grant: verifies it, consumes it once, authorizes the card for what the
    /// redeemed points don't cover (and captures when asked). A decline is recorded and
    /// answered `402`; a processor failure gives the grant back.
    pub async fn create(
        &self,
        merchant: &Merchant,
        request: CreatePayment,
        now: i64,
    ) -> Result<Payment> {
        if merchant.status == MerchantStatus::Suspended {
            return Err(Error::forbidden(
                "merchant_suspended",
                "This merchant is suspended and cannot take payments.",
            ));
        }
        let claims = self
            .checkout
            .verify_grant(&request.grant, &merchant.client_id, now)
            .await?;
        let granted = claims
            .authorization_details
            .first()
            .cloned()
            .map(PaymentRequest::from_granted)
            .transpose()
            .map_err(|e| Error::internal(anyhow::anyhow!("a signed grant no longer parses: {e}")))?
            .ok_or_else(|| Error::internal(anyhow::anyhow!("a signed grant without details")))?;
        let currency = granted.amount.currency;
        if Currency::parse(&request.amount.currency) != Some(currency) {
            return Err(Error::new(
                Kind::Unprocessable,
                "currency_mismatch",
                format!("The grant is in {}.", currency.code()),
            ));
        }
        let amount = amount_in(currency, &request.amount.amount)?;
        if amount.minor > granted.amount.minor {
            return Err(Error::new(
                Kind::Unprocessable,
                "amount_exceeds_grant",
                format!(
                    "The grant allows at most {}.",
                    granted.amount.to_major_string()
                ),
            ));
        }
        let points_redeemed = granted.details.points_redeemed.unwrap_or(0);
        let points_value = points_redeemed * self.points.point_value(currency);
        if amount.minor < points_value {
            return Err(Error::new(
                Kind::Unprocessable,
                "amount_below_points",
                format!(
                    "The shopper redeemed points worth {}; the amount cannot be less.",
                    Money {
                        currency,
                        minor: points_value
                    }
                    .to_major_string()
                ),
            ));
        }
        // The card pays what the points don't.
        let card_amount = Money {
            currency,
            minor: amount.minor - points_value,
        };
        let grant = self
            .store
            .find_grant(&claims.jti)
            .await?
            .ok_or_else(|| Error::invalid("invalid_grant", "Unknown grant."))?;
        let user_id = Uuid::parse_str(&grant.user_id).map_err(Error::internal)?;
        let card_id = Uuid::parse_str(&grant.card_id).map_err(Error::internal)?;
        let (card, number) = self
            .vault
            .card_number(user_id, card_id)
            .await
            .map_err(|e| match e.kind() {
                Kind::NotFound => Error::conflict(
                    "card_unavailable",
                    "The shopper removed the card this grant was for.",
                ),
                _ => e,
            })?;
        let id = format!("pay_{}", &random_token()?[..22]);
        let redeemed = self
            .store
            .redeem_grant(
                NewPayment {
                    id: &id,
                    client_id: &merchant.client_id,
                    user_id: &grant.user_id,
                    card_id: &grant.card_id,
                    card_brand: &card.brand,
                    card_last4: &card.last4,
                    grant_jti: &claims.jti,
                    currency: currency.code(),
                    amount_minor: amount.minor,
                    order_reference: &granted.order_reference,
                    points_redeemed,
                },
                now,
            )
            .await?;
        let pending = match redeemed {
            Ok(pending) => pending,
            Err(why) => {
                return Err(match why {
                    GrantRefusal::AlreadyUsed => Error::conflict(
                        "grant_already_used",
                        "This grant was already used for a payment.",
                    ),
                    GrantRefusal::Revoked => {
                        Error::conflict("grant_revoked", "This grant was revoked.")
                    }
                    GrantRefusal::Expired => Error::invalid(
                        "grant_expired",
                        "The grant has expired: start a new checkout.",
                    ),
                    GrantRefusal::Unknown => Error::invalid("invalid_grant", "Unknown grant."),
                })
            }
        };
        let expiry = Expiry::new(card.exp_month as u8, card.exp_year as u16)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("stored expiry is invalid")))?;
        let details = CardDetails {
            number: &number,
            expiry,
            holder: &card.holder,
        };
        // Keyed by the grant: a retry after a lost answer can never authorize twice.
        let key = IdempotencyKey::new(format!("authorize:{}", claims.jti));
        let outcome = if card_amount.minor == 0 {
            // Points pay it all: nothing for the card network to do.
            Ok(Outcome::Approved {
                reference: POINTS_ONLY.into(),
            })
        } else {
            self.vault
                .processor()
                .authorize(&key, details, card_amount)
                .await
        };
        drop(number);
        match outcome {
            Err(err) => {
                self.store.abandon_redemption(&id, &claims.jti).await?;
                Err(processor_failed(err))
            }
            Ok(Outcome::Declined { decline_code }) => {
                self.store
                    .decline_payment(&pending, &decline_code, now)
                    .await
                    .map_err(crate::domain::points::refused)?;
                tracing::info!(payment_id = %id, decline_code = %decline_code, "payment declined");
                Err(declined(&decline_code))
            }
            Ok(Outcome::Approved { reference }) => {
                let authorized = Authorized {
                    reference,
                    event: Webhooks::payment_event(EventType::PaymentAuthorized)?,
                };
                if request.capture {
                    // Captured at the card network first, so that the authorization and the
                    // capture commit together (one transaction, two events).
                    return match self
                        .capture_stored(pending, None, Some(&authorized), now)
                        .await
                    {
                        Ok(payment) => Ok(payment),
                        Err(err) => {
                            // Not captured: the authorization stands on its own.
                            self.record_authorized(&id, &authorized, now).await?;
                            Err(match err.kind() {
                                Kind::Upstream => Error::new(
                                    Kind::Upstream,
                                    "processor_error",
                                    format!("Payment {id} was authorized but the capture failed at the card network. Capture it with POST /v1/payments/{id}/capture (safe to retry)."),
                                ),
                                _ => err,
                            })
                        }
                    };
                }
                self.record_authorized(&id, &authorized, now).await?;
                self.get(merchant, &id).await
            }
        }
    }

    async fn record_authorized(&self, id: &str, authorized: &Authorized, now: i64) -> Result<()> {
        let change = Advance {
            to: "authorized",
            authorization_ref: Some(&authorized.reference),
            ..Advance::default()
        };
        self.store
            .advance_payment(id, "pending", change, &authorized.event, now)
            .await?;
        self.webhooks.wake();
        tracing::info!(payment_id = %id, "payment authorized");
        Ok(())
    }

    /// Captures an authorization, once, for at most the authorized amount; in the same
    /// transaction the held points are spent and the earned points credited.
    pub async fn capture(
        &self,
        merchant: &Merchant,
        id: &str,
        amount: Option<&str>,
        now: i64,
    ) -> Result<Payment> {
        let payment = self
            .store
            .find_payment(&merchant.client_id, id)
            .await?
            .ok_or_else(not_found)?;
        if payment.status != "authorized" {
            return Err(Error::conflict(
                "payment_not_capturable",
                format!(
                    "The payment is {}; only an authorized payment can be captured.",
                    payment.status
                ),
            ));
        }
        self.capture_stored(payment, amount, None, now).await
    }

    /// Captures `payment`: an authorized one, or (with `authorized`) a pending one whose
    /// authorization was just approved and commits together with the capture.
    async fn capture_stored(
        &self,
        payment: StoredPayment,
        amount: Option<&str>,
        authorized: Option<&Authorized>,
        now: i64,
    ) -> Result<Payment> {
        let id = payment.id.as_str();
        let currency = stored_currency(&payment)?;
        let amount = match amount {
            Some(raw) => amount_in(currency, raw)?,
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
        let points_value = payment.points_redeemed * self.points.point_value(currency);
        if amount.minor < points_value {
            return Err(Error::new(
                Kind::Unprocessable,
                "amount_below_points",
                "The capture cannot be less than the points redeemed.",
            ));
        }
        let card_amount = Money {
            currency,
            minor: amount.minor - points_value,
        };
        let authorization = match authorized {
            Some(a) => a.reference.clone(),
            None => payment.authorization_ref.clone().unwrap_or_default(),
        };
        let outcome = if card_amount.minor == 0 {
            Outcome::Approved {
                reference: POINTS_ONLY.into(),
            }
        } else {
            let key = IdempotencyKey::new(format!("capture:{id}"));
            self.vault
                .processor()
                .capture(&key, &authorization, card_amount)
                .await
                .map_err(processor_failed)?
        };
        match outcome {
            Outcome::Declined { decline_code } => Err(declined(&decline_code)),
            Outcome::Approved { reference } => {
                let change = Advance {
                    to: "captured",
                    captured_minor: Some(amount.minor),
                    capture_ref: Some(&reference),
                    ..Advance::default()
                };
                let authorize_first = authorized.map(|a| {
                    (
                        Advance {
                            to: "authorized",
                            authorization_ref: Some(&a.reference),
                            ..Advance::default()
                        },
                        &a.event,
                    )
                });
                let multiplier = self
                    .store
                    .merchant_points_multiplier(&payment.client_id)
                    .await?;
                let (base, extra) = self.points.earned(card_amount, multiplier);
                let earn = Earn {
                    base,
                    extra,
                    expires_at: now + self.points.expiry_secs,
                };
                let event = Webhooks::payment_event(EventType::PaymentCaptured)?;
                let Some(captured) = self
                    .store
                    .capture_payment(&payment, authorize_first, change, &earn, &event, now)
                    .await
                    .map_err(crate::domain::points::refused)?
                else {
                    return Err(Error::conflict(
                        "payment_not_capturable",
                        "The payment was captured or voided meanwhile.",
                    ));
                };
                self.webhooks.wake();
                tracing::info!(payment_id = %id, points_earned = base + extra, "payment captured");
                view(&captured)
            }
        }
    }

    /// Releases an uncaptured authorization, and the points it held.
    pub async fn void(&self, merchant: &Merchant, id: &str, now: i64) -> Result<Payment> {
        let payment = self
            .store
            .find_payment(&merchant.client_id, id)
            .await?
            .ok_or_else(not_found)?;
        if payment.status != "authorized" {
            return Err(Error::conflict(
                "payment_not_voidable",
                format!(
                    "The payment is {}; only an authorized payment can be voided.",
                    payment.status
                ),
            ));
        }
        let authorization = payment.authorization_ref.clone().unwrap_or_default();
        let outcome = if authorization == POINTS_ONLY {
            Outcome::Approved {
                reference: POINTS_ONLY.into(),
            }
        } else {
            let key = IdempotencyKey::new(format!("void:{id}"));
            self.vault
                .processor()
                .void(&key, &authorization)
                .await
                .map_err(processor_failed)?
        };
        if let Outcome::Declined { decline_code } = outcome {
            return Err(declined(&decline_code));
        }
        let event = Webhooks::payment_event(EventType::PaymentVoided)?;
        if !self
            .store
            .void_payment(&payment, &event, now)
            .await
            .map_err(crate::domain::points::refused)?
        {
            return Err(Error::conflict(
                "payment_not_voidable",
                "The payment was captured or voided meanwhile.",
            ));
        }
        self.webhooks.wake();
        tracing::info!(payment_id = %id, "payment voided");
        self.get(merchant, id).await
    }

    /// Refunds part or all of a captured payment; refunds never exceed what was captured.
    /// Earned points are reversed and redeemed points given back, pro rata.
    pub async fn refund(
        &self,
        merchant: &Merchant,
        id: &str,
        amount: &str,
        now: i64,
    ) -> Result<Payment> {
        let payment = self
            .store
            .find_payment(&merchant.client_id, id)
            .await?
            .ok_or_else(not_found)?;
        let currency = stored_currency(&payment)?;
        let amount = amount_in(currency, amount)?;
        if payment.status != "captured" {
            return Err(Error::conflict(
                "payment_not_refundable",
                format!(
                    "The payment is {}; only a captured payment can be refunded.",
                    payment.status
                ),
            ));
        }
        let refund_id = format!("re_{}", &random_token()?[..22]);
        if !self
            .store
            .reserve_refund(id, &merchant.client_id, &refund_id, amount.minor, now)
            .await?
        {
            return Err(Error::new(
                Kind::Unprocessable,
                "refund_exceeds_captured",
                "Refunds would exceed the captured amount.",
            ));
        }
        // The card gets its share back first; redeemed points cover the rest.
        let points_value = payment.points_redeemed * self.points.point_value(currency);
        let card_captured = payment.captured_minor - points_value;
        let card_left = (card_captured - payment.refunded_minor.min(card_captured)).max(0);
        let card_part = amount.minor.min(card_left);
        let refunded_total = payment.refunded_minor + amount.minor;
        let (reversed, restored) = self.store.points_refunded(id).await?;
        let points = RefundPoints {
            reverse: PointsPolicy::pro_rata(
                payment.points_earned,
                refunded_total,
                payment.captured_minor,
            ) - reversed,
            restore: PointsPolicy::pro_rata(
                payment.points_redeemed,
                refunded_total,
                payment.captured_minor,
            ) - restored,
            expires_at: now + self.points.expiry_secs,
        };
        let processed = if card_part > 0 {
            let capture = self.store.capture_ref(id).await?.unwrap_or_default();
            let key = IdempotencyKey::new(format!("refund:{refund_id}"));
            self.vault
                .processor()
                .refund(
                    &key,
                    &capture,
                    Money {
                        currency,
                        minor: card_part,
                    },
                )
                .await
        } else {
            Ok(Outcome::Approved {
                reference: POINTS_ONLY.into(),
            })
        };
        match processed {
            Ok(Outcome::Approved { reference }) => {
                let event = Webhooks::payment_event(EventType::PaymentRefunded)?;
                self.store
                    .complete_refund(&payment, &refund_id, &reference, &points, &event, now)
                    .await
                    .map_err(crate::domain::points::refused)?;
                self.webhooks.wake();
                tracing::info!(payment_id = %id, refund_id = %refund_id, "payment refunded");
                self.get(merchant, id).await
            }
            Ok(Outcome::Declined { decline_code }) => {
                self.store.cancel_refund(id, &refund_id).await?;
                Err(declined(&decline_code))
            }
            Err(err) => {
                self.store.cancel_refund(id, &refund_id).await?;
                Err(processor_failed(err))
            }
        }
    }

    pub async fn get(&self, merchant: &Merchant, id: &str) -> Result<Payment> {
        let payment = self
            .store
            .find_payment(&merchant.client_id, id)
            .await?
            .ok_or_else(not_found)?;
        view(&payment)
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

fn stored_currency(p: &StoredPayment) -> Result<Currency> {
    Currency::parse(&p.currency)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("stored currency {:?}", p.currency)))
}

/// The API's view of a payment.
pub fn view(p: &StoredPayment) -> Result<Payment> {
    let currency = Currency::parse(&p.currency)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("stored currency")))?;
    let major = |minor: i64| Money { currency, minor }.to_major_string();
    let created = time::OffsetDateTime::from_unix_timestamp(p.created_at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    Ok(Payment {
        id: p.id.clone(),
        status: p.status.clone(),
        amount: major(p.amount_minor),
        captured_amount: major(p.captured_minor),
        refunded_amount: major(p.refunded_minor),
        currency: p.currency.clone(),
        order_reference: p.order_reference.clone(),
        card: CardSummary {
            brand: p.card_brand.clone(),
            last4: p.card_last4.clone(),
        },
        points_earned: p.points_earned,
        points_redeemed: p.points_redeemed,
        created_at: created,
    })
}
