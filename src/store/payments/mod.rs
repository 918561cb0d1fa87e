//! Payments and refunds. Every state change is a conditional write, so it happens once even
//! when several nodes receive the same request. Refunds are in `refunds`, the step in flight
//! in `operations`, lookups in `reads`, the stored row in `row`.

mod operations;
mod reads;
mod refunds;
mod row;

pub use operations::StartOperation;
pub use refunds::{Completion, NewRefund, RefundPoints, StoredRefund};
use row::{payment_row, COLUMNS};
pub use row::{Operation, StoredPayment};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::checkout::authorizations::{adopt_authorization_in, Adoption};
use super::error::{Error, Result};
use super::idempotency::{KeyAnswer, KeyScope};
use super::risk::{LimitsSeen, Recheck, RecheckRead};
use super::{Store, Tx};
use crate::payments::status::PaymentStatus;
use crate::points::ledger::{Credit, HoldMove, Ledger};

pub struct NewPayment<'a> {
    pub id: &'a str,
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub card_id: &'a str,
    pub card_brand: &'a str,
    pub card_last4: &'a str,
    pub grant_jti: &'a str,
    pub currency: &'a str,
    pub amount_minor: i64,
    pub order_reference: &'a str,
    pub points_redeemed: i64,
    /// The points programme version and campaign multiplier the grant's approval used.
    pub points_programme_version: Option<i64>,
    pub points_multiplier_percent: i64,
    /// The move that puts the grant's held points in the payment, if it redeemed any.
    pub hold: Option<HoldMove>,
    /// The step the redemption starts (authorize, or authorize and capture), held until
    /// `lease_until`.
    pub operation: Operation,
    pub lease_until: i64,
    pub request_key: Option<&'a str>,
    /// Whether the payment takes the card authorization the grant's approval made, in the
    /// redemption's transaction (the card pays a part of it).
    pub adopt: bool,
    /// The risk limits' re-check, made in the transaction that consumes the grant.
    pub limits: &'a dyn Recheck,
}

/// A payment's next state and what the processor said.
pub struct Advance<'a> {
    pub to: PaymentStatus,
    pub captured_minor: Option<i64>,
    pub authorization_ref: Option<&'a str>,
    pub capture_ref: Option<&'a str>,
    pub decline_code: Option<&'a str>,
    pub points_earned: Option<i64>,
}

impl Advance<'_> {
    /// A move to `status` that records nothing else.
    pub fn to(status: PaymentStatus) -> Self {
        Advance {
            to: status,
            captured_minor: None,
            authorization_ref: None,
            capture_ref: None,
            decline_code: None,
            points_earned: None,
        }
    }
}

/// An event for the webhook outbox, written with the payment change that causes it.
pub struct PaymentEvent {
    pub id: String,
    pub event_type: &'static str,
    /// Renders the body from the payment as the transaction left it: (payment, event id,
    /// event type, unix time) to JSON text.
    pub render: fn(&StoredPayment, &str, &str, i64) -> anyhow::Result<String>,
}

/// Puts `event` in the outbox inside `tx`, rendered from the payment as it now stands, when
/// the payment's merchant has a webhook URL.
pub(super) async fn record_event(
    tx: &mut Tx,
    payment_id: &str,
    event: &PaymentEvent,
    now: i64,
) -> Result<()> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, {WEBHOOK_URL} FROM payments WHERE id = $1"
    ))
    .bind(payment_id)
    .fetch_one(&mut **tx)
    .await?;
    record_event_for(tx, &row, event, now).await?;
    Ok(())
}

/// The merchant's webhook URL next to a payment's columns, in a `SELECT` or a `RETURNING`.
const WEBHOOK_URL: &str =
    "(SELECT webhook_url FROM merchants m WHERE m.client_id = payments.client_id) AS webhook_url";

/// [`record_event`] for a payment row already read in `tx` (with [`WEBHOOK_URL`]). Gives the
/// payment.
async fn record_event_for(
    tx: &mut Tx,
    row: &AnyRow,
    event: &PaymentEvent,
    now: i64,
) -> Result<StoredPayment> {
    let payment = payment_row(row)?;
    if has_webhook(row)? {
        enqueue_event(tx, &payment, event, now).await?;
    }
    Ok(payment)
}

/// Whether a row read with [`WEBHOOK_URL`] has a merchant with a webhook URL.
fn has_webhook(row: &AnyRow) -> Result<bool> {
    Ok(row.try_get::<Option<String>, _>("webhook_url")?.is_some())
}

/// Puts `event` in the outbox inside `tx`, rendered from `payment`.
async fn enqueue_event(
    tx: &mut Tx,
    payment: &StoredPayment,
    event: &PaymentEvent,
    now: i64,
) -> Result<()> {
    let payload =
        (event.render)(payment, &event.id, event.event_type, now).map_err(Error::Render)?;
    super::webhooks::enqueue(
        tx,
        &super::webhooks::NewEvent {
            id: &event.id,
            client_id: &payment.client_id,
            event_type: event.event_type,
            subject_id: &payment.id,
            payload: &payload,
            created_at: now,
            next_attempt_ms: now * 1000,
        },
    )
    .await?;
    Ok(())
}

/// The answer of the request whose change this is, kept for its Idempotency-Key in the
/// change's transaction (rendered from the payment as the transaction left it).
pub struct RequestAnswer<'a> {
    pub scope: KeyScope<'a>,
    pub status: u16,
    pub content_type: &'a str,
    /// Renders the answer's body from the payment.
    pub render: fn(&StoredPayment) -> anyhow::Result<Vec<u8>>,
}

/// The points moves that go with a capture, as the points rules decided them.
pub struct CapturePoints<'a> {
    pub ledger: &'a dyn Ledger,
    /// Spends the payment's held points, if it redeemed any.
    pub redeem: Option<HoldMove>,
    /// Credits the points the payment earned.
    pub earn: Credit,
}

/// The points moves that go with a void or a decline: the held points go back.
pub struct ReleasePoints<'a> {
    pub ledger: &'a dyn Ledger,
    pub release: HoldMove,
}

/// Moves the payment from `from` to `change.to`; gives its new row (with [`WEBHOOK_URL`]),
/// or `None` if it was not in `from`.
async fn advance_in(
    tx: &mut Tx,
    id: &str,
    from: PaymentStatus,
    change: &Advance<'_>,
    now: i64,
) -> Result<Option<AnyRow>> {
    Ok(sqlx::query(&format!(
        "UPDATE payments SET status = $1,
                captured_minor = COALESCE($2, captured_minor),
                authorization_ref = COALESCE($3, authorization_ref),
                capture_ref = COALESCE($4, capture_ref),
                decline_code = COALESCE($5, decline_code),
                points_earned = COALESCE($6, points_earned),
                operation = NULL, operation_amount = NULL, operation_until = NULL,
                captured_at = CASE WHEN $1 = 'captured' THEN COALESCE(captured_at, $7) ELSE captured_at END,
                updated_at = $7
         WHERE id = $8 AND status = $9
         RETURNING {COLUMNS}, {WEBHOOK_URL}"
    ))
    .bind(change.to.as_str())
    .bind(change.captured_minor)
    .bind(change.authorization_ref)
    .bind(change.capture_ref)
    .bind(change.decline_code)
    .bind(change.points_earned)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .fetch_optional(&mut **tx)
    .await?)
}

/// Gives the payment's held points back, as `points` says.
async fn release(tx: &mut Tx, grant_jti: &str, points: &ReleasePoints<'_>, now: i64) -> Result<()> {
    super::points::release_for_payment(tx, points.ledger, grant_jti, points.release, now).await
}

/// Why a grant could not be redeemed.
#[derive(Debug, PartialEq, Eq)]
pub enum GrantRefusal {
    Unknown,
    Revoked,
    AlreadyUsed,
    Expired,
    /// The shopper it was granted by is frozen.
    ShopperFrozen,
}

/// Why a redemption wrote nothing: the grant refused, or the risk limits read in its
/// transaction did (the grant stays unspent).
#[derive(Debug, PartialEq, Eq)]
pub enum NotRedeemed {
    Grant(GrantRefusal),
    Limits(LimitsSeen),
}

impl Store {
    /// Consumes the grant and records a pending payment for it, in one transaction: of any
    /// number of concurrent redemptions, exactly one gets here. A frozen shopper's grant is
    /// not consumed, nor one the risk limits current in the transaction refuse. With
    /// `p.adopt`, the payment takes the authorization the grant's approval made in the same
    /// transaction; gives what it found of it ([`Adoption::None`] without `p.adopt`).
    pub async fn redeem_grant(
        &self,
        p: NewPayment<'_>,
        now: i64,
    ) -> Result<std::result::Result<(StoredPayment, Adoption), NotRedeemed>> {
        let mut tx = self.begin().await?;
        // The risk limits' re-check is read by the statement that consumes the grant.
        let recheck = RecheckRead::new(self.backend, 4);
        let (day, hour) = p.limits.windows();
        let consumed = sqlx::query(&format!(
            "{with}
             UPDATE grants SET consumed_at = $1
             WHERE jti = $2 AND client_id = $3 AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > $1
               AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = grants.user_id AND u.frozen_at IS NOT NULL)
             RETURNING {columns}",
            with = recheck.with,
            columns = recheck.columns,
        ))
        .bind(now)
        .bind(p.grant_jti)
        .bind(p.client_id)
        .bind(p.currency)
        .bind(p.user_id)
        .bind(day)
        .bind(hour)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(consumed) = consumed else {
            let why = reads::grant_refusal(&mut tx, p.grant_jti, p.client_id).await?;
            tx.rollback().await?;
            return Ok(Err(NotRedeemed::Grant(why)));
        };
        if let Some(seen) = RecheckRead::seen(&consumed, p.limits)? {
            tx.rollback().await?;
            return Ok(Err(NotRedeemed::Limits(seen)));
        }
        let row = sqlx::query(&format!(
            "INSERT INTO payments (id, client_id, user_id, card_id, card_brand, card_last4, grant_jti, currency,
                                   amount_minor, status, order_reference, points_redeemed, created_at, updated_at,
                                   operation, operation_until, request_key, points_programme_version,
                                   points_multiplier_percent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12, $12, $13, $14, $15, $16, $17)
             RETURNING {COLUMNS}"
        ))
        .bind(p.id)
        .bind(p.client_id)
        .bind(p.user_id)
        .bind(p.card_id)
        .bind(p.card_brand)
        .bind(p.card_last4)
        .bind(p.grant_jti)
        .bind(p.currency)
        .bind(p.amount_minor)
        .bind(p.order_reference)
        .bind(p.points_redeemed)
        .bind(now)
        .bind(p.operation.as_str())
        .bind(p.lease_until)
        .bind(p.request_key)
        .bind(p.points_programme_version)
        .bind(p.points_multiplier_percent)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(hold) = p.hold {
            super::points::move_hold(&mut tx, p.grant_jti, hold).await?;
        }
        let adoption = if p.adopt {
            adopt_authorization_in(&mut *tx, p.grant_jti, now).await?
        } else {
            Adoption::None
        };
        tx.commit().await?;
        Ok(Ok((payment_row(&row)?, adoption)))
    }

    /// Undoes a redemption whose processor call failed before any outcome, so the merchant
    /// can retry with the same grant (the processor's idempotency key prevents a double charge);
    /// an authorization made at the approval goes back to the grant.
    pub async fn abandon_redemption(
        &self,
        payment_id: &str,
        grant_jti: &str,
        hold: HoldMove,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM payments WHERE id = $1 AND status = 'pending'")
            .bind(payment_id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 1 {
            sqlx::query("UPDATE grants SET consumed_at = NULL WHERE jti = $1")
                .bind(grant_jti)
                .execute(&mut *tx)
                .await?;
            // The authorization the approval made, if the payment had taken it, goes back
            // to the grant with it.
            sqlx::query(
                "UPDATE approval_authorizations SET state = 'approved'
                 WHERE grant_jti = $1 AND state = 'adopted'",
            )
            .bind(grant_jti)
            .execute(&mut *tx)
            .await?;
            super::points::move_hold(&mut tx, grant_jti, hold).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Moves a payment from `from` to `change.to` once, with its event; `false` if it was not
    /// in `from`.
    pub async fn advance_payment(
        &self,
        id: &str,
        from: PaymentStatus,
        change: Advance<'_>,
        event: &PaymentEvent,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let moved = advance_in(&mut tx, id, from, &change, now).await?;
        if let Some(row) = &moved {
            record_event_for(&mut tx, row, event, now).await?;
        }
        tx.commit().await?;
        Ok(moved.is_some())
    }

    /// Records a decline and releases the points the payment held, together.
    pub async fn decline_payment(
        &self,
        p: &StoredPayment,
        decline_code: &str,
        points: &ReleasePoints<'_>,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let change = Advance {
            decline_code: Some(decline_code),
            ..Advance::to(PaymentStatus::Declined)
        };
        if advance_in(&mut tx, &p.id, PaymentStatus::Pending, &change, now)
            .await?
            .is_some()
        {
            release(&mut tx, &p.grant_jti, points, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Captures, spends the held points, credits the earned ones and writes the event, in one
    /// transaction; with `authorize_first`, a pending payment is authorized (and that event
    /// written) in the same transaction; with `answer`, the request's answer is kept for its
    /// key in it too. Gives the captured payment, or `None` if it was not in a state to
    /// capture.
    #[allow(clippy::too_many_arguments)]
    pub async fn capture_payment(
        &self,
        p: &StoredPayment,
        authorize_first: Option<(Advance<'_>, &PaymentEvent)>,
        change: Advance<'_>,
        points: &CapturePoints<'_>,
        event: &PaymentEvent,
        answer: Option<&RequestAnswer<'_>>,
        now: i64,
    ) -> Result<Option<StoredPayment>> {
        let mut tx = self.begin().await?;
        let change = Advance {
            points_earned: Some(points.earn.points()),
            authorization_ref: authorize_first
                .as_ref()
                .and_then(|(a, _)| a.authorization_ref)
                .or(change.authorization_ref),
            ..change
        };
        // A pending payment goes to captured in one statement; its authorized event is
        // rendered from the payment as it stood in between (authorized, nothing captured or
        // earned yet).
        let from = match authorize_first {
            Some(_) => PaymentStatus::Pending,
            None => PaymentStatus::Authorized,
        };
        let Some(row) = advance_in(&mut tx, &p.id, from, &change, now).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        if let Some((_, authorized_event)) = authorize_first {
            if has_webhook(&row)? {
                let authorized = StoredPayment {
                    status: PaymentStatus::Authorized,
                    captured_minor: p.captured_minor,
                    points_earned: p.points_earned,
                    ..payment_row(&row)?
                };
                enqueue_event(&mut tx, &authorized, authorized_event, now).await?;
            }
        }
        if let Some(redeem) = points.redeem {
            let ledger = points.ledger;
            super::points::redeem_for_payment(&mut tx, ledger, &p.grant_jti, &p.id, redeem, now)
                .await?;
        }
        super::points::apply_credit(&mut tx, &points.earn, now).await?;
        let captured = record_event_for(&mut tx, &row, event, now).await?;
        if let Some(answer) = answer {
            let body = (answer.render)(&captured).map_err(Error::Render)?;
            let kept = KeyAnswer {
                scope: answer.scope,
                status: answer.status,
                body: &body,
                content_type: Some(answer.content_type),
            };
            super::idempotency::complete_in(&mut tx, &kept).await?;
        }
        tx.commit().await?;
        Ok(Some(captured))
    }

    /// Voids, releases the held points and writes the event, together.
    pub async fn void_payment(
        &self,
        p: &StoredPayment,
        points: &ReleasePoints<'_>,
        event: &PaymentEvent,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let voided = Advance::to(PaymentStatus::Voided);
        let authorized = PaymentStatus::Authorized;
        let Some(row) = advance_in(&mut tx, &p.id, authorized, &voided, now).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        release(&mut tx, &p.grant_jti, points, now).await?;
        record_event_for(&mut tx, &row, event, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}
