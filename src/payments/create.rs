//! Redeeming a payment grant, step by step: check the grant against the request, redeem it
//! (exactly once, with a pending payment), authorize the card for what the points don't cover,
//! and record the outcome (or capture at once when asked).

use saifu_sdk::payments::{CreatePayment, Payment};
use saifu_sdk::webhooks::EventType;

use super::capture::Authorized;
use super::status::PaymentStatus;
use super::view::view;
use super::{amount_in, declined, in_progress, processor_failed, Created, Payments, POINTS_ONLY};
use crate::accounts::refusals::shopper_frozen;
use crate::card::{CardNumber, Expiry};
use crate::checkout::card_authorization::authorize_key;
use crate::checkout::details::PaymentRequest;
use crate::clock::random_token;
use crate::error::{Error, Kind, Result};
use crate::idempotency::InlineAnswer;
use crate::merchants::{Merchant, MerchantStatus};
use crate::money::{Currency, Money};
use crate::points::rules;
use crate::processor::{CardDetails, Outcome, ProcessorError};
use crate::risk::{Attempt, Redemption};
use crate::store::checkout::authorizations::Adoption;
use crate::store::checkout::codes::{GrantToRedeem, StoredGrant};
use crate::store::payments::{GrantRefusal, NewPayment, NotRedeemed, Operation, StoredPayment};
use crate::vault::{SealedCard, StoredCard};

/// The decline of a payment whose grant's authorization was released before it was redeemed.
const AUTHORIZATION_EXPIRED: &str = "authorization_expired";

/// A request checked against its grant: what to charge, and to whom.
struct Checked {
    jti: String,
    /// The grant as stored: its shopper, card, state, and the programme version it was
    /// approved under (read once, for the charge and the redemption).
    grant: StoredGrant,
    /// The card the grant was approved for, read with the grant; `None` when the shopper
    /// removed it.
    card: Option<SealedCard>,
    granted: PaymentRequest,
    amount: Money,
    points_redeemed: i64,
    /// What the card pays: the amount less the redeemed points' value.
    card_amount: Money,
}

/// A redeemed grant: its pending payment, what it found of the authorization the grant's
/// approval made, and the card to authorize when there was none.
struct Redeemed {
    pending: StoredPayment,
    adoption: Adoption,
    card: StoredCard,
    number: CardNumber,
    expiry: Expiry,
}

fn refused(why: GrantRefusal) -> Error {
    match why {
        GrantRefusal::AlreadyUsed => Error::conflict(
            "grant_already_used",
            "This grant was already used for a payment.",
        ),
        GrantRefusal::Revoked => Error::conflict("grant_revoked", "This grant was revoked."),
        GrantRefusal::Expired => Error::invalid(
            "grant_expired",
            "The grant has expired: start a new checkout.",
        ),
        GrantRefusal::Unknown => Error::invalid("invalid_grant", "Unknown grant."),
        GrantRefusal::ShopperFrozen => shopper_frozen(),
    }
}

impl Payments {
    /// Redeems a grant: verifies it, consumes it once, authorizes the card for what the
    /// redeemed points don't cover (and captures when asked). A decline is recorded and
    /// answered `402`; a processor failure gives the grant back. `request_key` is the
    /// request's Idempotency-Key: a retry with it after a crash resumes the payment the first
    /// attempt started, and answers its real outcome. A payment captured at once keeps
    /// `answer` for the key in the capture's transaction.
    pub async fn create(
        &self,
        merchant: &Merchant,
        request: CreatePayment,
        request_key: Option<&str>,
        answer: Option<&InlineAnswer>,
        now: i64,
    ) -> Result<Created> {
        let checked = self.check(merchant, &request, now).await?;
        let redeemed = match self
            .redeem(merchant, &checked, request.capture, request_key, now)
            .await?
        {
            Ok(redeemed) => redeemed,
            Err(GrantRefusal::AlreadyUsed) => {
                return self
                    .resume(merchant, &checked.jti, request_key, now)
                    .await
                    .map(Created::from)
            }
            Err(why) => return Err(refused(why)),
        };
        let card = CardDetails {
            number: &redeemed.number,
            expiry: redeemed.expiry,
            holder: &redeemed.card.holder,
        };
        let (outcome, adopted) = match redeemed.adoption {
            Adoption::Adopted { reference } => (Ok(Outcome::Approved { reference }), true),
            Adoption::Released => (
                Ok(Outcome::Declined {
                    decline_code: AUTHORIZATION_EXPIRED.into(),
                }),
                true,
            ),
            Adoption::None => (
                self.authorize(&checked.jti, checked.card_amount, card)
                    .await,
                false,
            ),
        };
        drop(redeemed.number);
        let capture = request.capture;
        self.record(capture, redeemed.pending, outcome, adopted, answer, now)
            .await
    }

    /// A retry of the request that redeemed grant `jti`: the payment's real outcome, after
    /// finishing its authorization if its first attempt was cut off. Any other request for a
    /// used grant is refused.
    async fn resume(
        &self,
        merchant: &Merchant,
        jti: &str,
        request_key: Option<&str>,
        now: i64,
    ) -> Result<Payment> {
        let payment = self
            .store
            .payment_of_grant(&merchant.client_id, jti)
            .await?
            .filter(|p| request_key.is_some() && p.request_key.as_deref() == request_key)
            .ok_or_else(|| refused(GrantRefusal::AlreadyUsed))?;
        match payment.status {
            PaymentStatus::Pending => {
                let operation = payment.operation.unwrap_or(Operation::Authorize);
                let lease_until = now + self.lease_secs;
                if !self
                    .store
                    .take_over_operation(&payment.id, operation, now, lease_until)
                    .await?
                {
                    return Err(in_progress());
                }
                self.finish_authorization(payment, now).await
            }
            PaymentStatus::Declined => Err(declined(
                payment.decline_code.as_deref().unwrap_or("declined"),
            )),
            _ => view(&payment),
        }
    }

    /// Checks the grant and the request against each other.
    async fn check(
        &self,
        merchant: &Merchant,
        request: &CreatePayment,
        now: i64,
    ) -> Result<Checked> {
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
        let points_redeemed = granted.details.points_redeemed.unwrap_or(0);
        let GrantToRedeem { grant, card } = self
            .store
            .find_grant(&claims.jti)
            .await?
            .ok_or_else(|| Error::invalid("invalid_grant", "Unknown grant."))?;
        // Points are worth what the programme version of the grant's approval says.
        let points_value = self
            .points_value(
                grant.points_programme_version,
                points_redeemed,
                granted.amount.currency,
            )
            .await?;
        let (amount, card_amount) = self.charge(&granted, request, points_value)?;
        Ok(Checked {
            jti: claims.jti,
            grant,
            card: card.map(SealedCard::from),
            granted,
            amount,
            points_redeemed,
            card_amount,
        })
    }

    /// The amount asked (within the grant) and what the card pays, the redeemed points being
    /// worth `points_value`.
    fn charge(
        &self,
        granted: &PaymentRequest,
        request: &CreatePayment,
        points_value: i64,
    ) -> Result<(Money, Money)> {
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
        if amount.minor < points_value {
            let value = Money {
                currency,
                minor: points_value,
            };
            return Err(Error::new(
                Kind::Unprocessable,
                "amount_below_points",
                format!(
                    "The shopper redeemed points worth {}; the amount cannot be less.",
                    value.to_major_string()
                ),
            ));
        }
        // The card pays what the points don't.
        let card_amount = Money {
            currency,
            minor: amount.minor - points_value,
        };
        Ok((amount, card_amount))
    }

    /// Consumes the grant once, within the risk limits current then, and records a pending
    /// payment, with the card it was for. The payment records the step it starts, held by this
    /// node for the lease. A refusal by the limits is the merchant's error; the grant stays
    /// unspent.
    async fn redeem(
        &self,
        merchant: &Merchant,
        c: &Checked,
        capture: bool,
        request_key: Option<&str>,
        now: i64,
    ) -> Result<std::result::Result<Redeemed, GrantRefusal>> {
        let grant = &c.grant;
        if grant.consumed_at.is_some() {
            return Ok(Err(GrantRefusal::AlreadyUsed));
        }
        // Before the card is read or charged; the redemption's own write checks it again.
        if grant.shopper_frozen {
            return Ok(Err(GrantRefusal::ShopperFrozen));
        }
        let sealed = c.card.as_ref().ok_or_else(|| {
            Error::conflict(
                "card_unavailable",
                "The shopper removed the card this grant was for.",
            )
        })?;
        let number = self.vault.open_number(sealed).await?;
        let card = &sealed.card;
        let id = format!("pay_{}", &random_token()?[..22]);
        // Checked again by the limits current in the transaction that consumes the grant,
        // before the card is charged.
        let limits = Redemption {
            attempt: Attempt {
                user_id: &grant.user_id,
                amount: c.amount,
                merchant_verified: merchant.status == MerchantStatus::Verified,
            },
            now,
        };
        let new = NewPayment {
            id: &id,
            client_id: &merchant.client_id,
            user_id: &grant.user_id,
            card_id: &grant.card_id,
            card_brand: &card.brand,
            card_last4: &card.last4,
            grant_jti: &c.jti,
            currency: c.amount.currency.code(),
            amount_minor: c.amount.minor,
            order_reference: &c.granted.order_reference,
            points_redeemed: c.points_redeemed,
            points_programme_version: grant.points_programme_version,
            points_multiplier_percent: grant.points_multiplier_percent.unwrap_or(100),
            hold: rules::payment_started(c.points_redeemed),
            operation: if capture {
                Operation::AuthorizeCapture
            } else {
                Operation::Authorize
            },
            lease_until: now + self.lease_secs,
            request_key,
            // The authorization the approval made is taken with the redemption, so the
            // reconciler never releases it under a payment.
            adopt: c.card_amount.minor > 0,
            limits: &limits,
        };
        let (pending, adoption) = match self.store.redeem_grant(new, now).await? {
            Ok(redeemed) => redeemed,
            Err(NotRedeemed::Grant(why)) => return Ok(Err(why)),
            Err(NotRedeemed::Limits(seen)) => {
                return Err(limits.refusal(&seen).map_or_else(
                    || {
                        Error::internal(anyhow::anyhow!(
                            "limits refused a redemption but name no limit"
                        ))
                    },
                    |refused| refused.merchant_error(),
                ))
            }
        };
        let expiry = Expiry::new(card.exp_month as u8, card.exp_year as u16)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("stored expiry is invalid")))?;
        Ok(Ok(Redeemed {
            pending,
            adoption,
            card: card.clone(),
            number,
            expiry,
        }))
    }

    /// The authorization the shopper's approval made for grant `jti`, taken for this payment;
    /// `None` when the approval made none (points paid it all, or the grant predates
    /// authorizing at approval) and the card is authorized now. An authorization already
    /// released (its grant lapsed) cannot pay: the payment is declined.
    pub(super) async fn adopted(
        &self,
        jti: &str,
        card_amount: Money,
        now: i64,
    ) -> Option<std::result::Result<Outcome, ProcessorError>> {
        if card_amount.minor == 0 {
            return None;
        }
        match self.checkout.adopt_authorization(jti, now).await {
            Ok(Adoption::None) => None,
            Ok(Adoption::Adopted { reference }) => Some(Ok(Outcome::Approved { reference })),
            Ok(Adoption::Released) => Some(Ok(Outcome::Declined {
                decline_code: AUTHORIZATION_EXPIRED.into(),
            })),
            Err(err) => {
                tracing::warn!(error = %err, "could not take the approval's authorization: the redemption is given back");
                Some(Err(ProcessorError::Unavailable))
            }
        }
    }

    /// Authorizes the card for its part; points that pay it all need no card-network call.
    /// Keyed by the grant: a retry after a lost answer can never authorize twice.
    pub(super) async fn authorize(
        &self,
        jti: &str,
        card_amount: Money,
        card: CardDetails<'_>,
    ) -> std::result::Result<Outcome, ProcessorError> {
        if card_amount.minor == 0 {
            return Ok(Outcome::Approved {
                reference: POINTS_ONLY.into(),
            });
        }
        let key = authorize_key(jti);
        self.vault
            .processor()
            .authorize(&key, card, card_amount)
            .await
    }

    /// Records what the card network said: a failure gives the grant back, a decline is
    /// recorded, an approval is recorded (or captured at once when asked).
    /// `adopted`: the authorization is the one the shopper's approval made; `answer`, kept
    /// for the request's key with a capture at once.
    pub(super) async fn record(
        &self,
        capture: bool,
        pending: StoredPayment,
        outcome: std::result::Result<Outcome, ProcessorError>,
        adopted: bool,
        answer: Option<&InlineAnswer>,
        now: i64,
    ) -> Result<Created> {
        let id = pending.id.clone();
        match outcome {
            Err(err) => {
                self.store
                    .abandon_redemption(&id, &pending.grant_jti, rules::PAYMENT_ABANDONED)
                    .await?;
                Err(processor_failed(err))
            }
            Ok(Outcome::Declined { decline_code }) => {
                let release = self.release_points();
                self.store
                    .decline_payment(&pending, &decline_code, &release, now)
                    .await
                    .map_err(crate::points::refused)?;
                tracing::info!(payment_id = %id, decline_code = %decline_code, "payment declined");
                Err(declined(&decline_code))
            }
            Ok(Outcome::Approved { reference }) => {
                let authorized = Authorized {
                    reference,
                    event: super::event::payment_event(EventType::PaymentAuthorized)?,
                };
                if capture {
                    return self
                        .capture_at_once(pending, &authorized, adopted, answer, now)
                        .await;
                }
                self.record_authorized(&id, &authorized, now).await?;
                self.current(&id).await.map(Created::from)
            }
        }
    }
}
