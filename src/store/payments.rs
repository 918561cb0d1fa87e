//! Payments and refunds. Every state change is a conditional write, so it happens once even
//! when several nodes receive the same request.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::error::{Error, Result};
use super::{Store, Tx};

#[derive(Clone, Debug)]
pub struct StoredPayment {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub card_id: String,
    pub card_brand: String,
    pub card_last4: String,
    pub grant_jti: String,
    pub currency: String,
    pub amount_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    pub status: String,
    pub decline_code: Option<String>,
    pub order_reference: String,
    pub authorization_ref: Option<String>,
    pub points_earned: i64,
    pub points_redeemed: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, client_id, user_id, card_id, card_brand, card_last4, grant_jti, currency, amount_minor, \
     captured_minor, refunded_minor, status, decline_code, order_reference, authorization_ref, points_earned, \
     points_redeemed, created_at";

fn payment_row(r: &AnyRow) -> Result<StoredPayment> {
    Ok(StoredPayment {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        user_id: r.try_get("user_id")?,
        card_id: r.try_get("card_id")?,
        card_brand: r.try_get("card_brand")?,
        card_last4: r.try_get("card_last4")?,
        grant_jti: r.try_get("grant_jti")?,
        currency: r.try_get("currency")?,
        amount_minor: r.try_get("amount_minor")?,
        captured_minor: r.try_get("captured_minor")?,
        refunded_minor: r.try_get("refunded_minor")?,
        status: r.try_get("status")?,
        decline_code: r.try_get("decline_code")?,
        order_reference: r.try_get("order_reference")?,
        authorization_ref: r.try_get("authorization_ref")?,
        points_earned: r.try_get("points_earned")?,
        points_redeemed: r.try_get("points_redeemed")?,
        created_at: r.try_get("created_at")?,
    })
}

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
}

/// A payment's next state and what the processor said.
#[derive(Default)]
pub struct Advance<'a> {
    pub to: &'a str,
    pub captured_minor: Option<i64>,
    pub authorization_ref: Option<&'a str>,
    pub capture_ref: Option<&'a str>,
    pub decline_code: Option<&'a str>,
    pub points_earned: Option<i64>,
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
async fn record_event(tx: &mut Tx, payment_id: &str, event: &PaymentEvent, now: i64) -> Result<()> {
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
    if row.try_get::<Option<String>, _>("webhook_url")?.is_none() {
        return Ok(payment);
    }
    let payload =
        (event.render)(&payment, &event.id, event.event_type, now).map_err(Error::Render)?;
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
    Ok(payment)
}

/// Points a capture credits.
pub struct Earn {
    pub base: i64,
    pub extra: i64,
    pub expires_at: i64,
}

/// Points a refund moves back.
pub struct RefundPoints {
    pub reverse: i64,
    pub restore: i64,
    pub expires_at: i64,
}

/// Moves the payment from `from` to `change.to`; gives its new row (with [`WEBHOOK_URL`]),
/// or `None` if it was not in `from`.
async fn advance_in(
    tx: &mut Tx,
    id: &str,
    from: &str,
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
                updated_at = $7
         WHERE id = $8 AND status = $9
         RETURNING {COLUMNS}, {WEBHOOK_URL}"
    ))
    .bind(change.to)
    .bind(change.captured_minor)
    .bind(change.authorization_ref)
    .bind(change.capture_ref)
    .bind(change.decline_code)
    .bind(change.points_earned)
    .bind(now)
    .bind(id)
    .bind(from)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Why a grant could not be redeemed.
#[derive(Debug, PartialEq, Eq)]
pub enum GrantRefusal {
    Unknown,
    Revoked,
    AlreadyUsed,
    Expired,
}

impl Store {
    /// Consumes the grant and records a pending payment for it, in one transaction: of any
    /// number of concurrent redemptions, exactly one gets here.
    pub async fn redeem_grant(
        &self,
        p: NewPayment<'_>,
        now: i64,
    ) -> Result<std::result::Result<StoredPayment, GrantRefusal>> {
        let mut tx = self.begin().await?;
        let consumed = sqlx::query(
            "UPDATE grants SET consumed_at = $1
             WHERE jti = $2 AND client_id = $3 AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(p.grant_jti)
        .bind(p.client_id)
        .execute(&mut *tx)
        .await?;
        if consumed.rows_affected() != 1 {
            let row = sqlx::query("SELECT consumed_at, revoked_at, expires_at FROM grants WHERE jti = $1 AND client_id = $2")
                .bind(p.grant_jti)
                .bind(p.client_id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.rollback().await?;
            return Ok(Err(match row {
                None => GrantRefusal::Unknown,
                Some(r) if r.try_get::<Option<i64>, _>("revoked_at")?.is_some() => {
                    GrantRefusal::Revoked
                }
                Some(r) if r.try_get::<Option<i64>, _>("consumed_at")?.is_some() => {
                    GrantRefusal::AlreadyUsed
                }
                Some(_) => GrantRefusal::Expired,
            }));
        }
        let row = sqlx::query(&format!(
            "INSERT INTO payments (id, client_id, user_id, card_id, card_brand, card_last4, grant_jti, currency,
                                   amount_minor, status, order_reference, points_redeemed, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12, $12)
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
        .fetch_one(&mut *tx)
        .await?;
        // A grant holds points only when the shopper redeemed some.
        if p.points_redeemed > 0 {
            super::points::hold_in_payment(&mut tx, p.grant_jti).await?;
        }
        tx.commit().await?;
        Ok(Ok(payment_row(&row)?))
    }

    /// Undoes a redemption whose processor call failed before any outcome, so the merchant
    /// can retry with the same grant (the processor's idempotency key prevents a double charge).
    pub async fn abandon_redemption(&self, payment_id: &str, grant_jti: &str) -> Result<()> {
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
            super::points::hold_back(&mut tx, grant_jti).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Moves a payment from `from` to `change.to` once, with its event; `false` if it was not
    /// in `from`.
    pub async fn advance_payment(
        &self,
        id: &str,
        from: &str,
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
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let change = Advance {
            to: "declined",
            decline_code: Some(decline_code),
            ..Advance::default()
        };
        if advance_in(&mut tx, &p.id, "pending", &change, now)
            .await?
            .is_some()
        {
            super::points::release_for_payment(&mut tx, &p.grant_jti, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Captures, spends the held points, credits the earned ones and writes the event, in one
    /// transaction; with `authorize_first`, a pending payment is authorized (and that event
    /// written) in the same transaction. Gives the captured payment, or `None` if it was not
    /// in a state to capture.
    pub async fn capture_payment(
        &self,
        p: &StoredPayment,
        authorize_first: Option<(Advance<'_>, &PaymentEvent)>,
        change: Advance<'_>,
        earn: &Earn,
        event: &PaymentEvent,
        now: i64,
    ) -> Result<Option<StoredPayment>> {
        let mut tx = self.begin().await?;
        if let Some((authorize, authorized_event)) = authorize_first {
            let Some(row) = advance_in(&mut tx, &p.id, "pending", &authorize, now).await? else {
                tx.rollback().await?;
                return Ok(None);
            };
            record_event_for(&mut tx, &row, authorized_event, now).await?;
        }
        let change = Advance {
            points_earned: Some(earn.base + earn.extra),
            ..change
        };
        let Some(row) = advance_in(&mut tx, &p.id, "authorized", &change, now).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        if p.points_redeemed > 0 {
            super::points::redeem_for_payment(&mut tx, &p.grant_jti, &p.id, now).await?;
        }
        super::points::earn(
            &mut tx,
            &p.user_id,
            &p.client_id,
            &p.id,
            earn.base,
            earn.extra,
            earn.expires_at,
            now,
        )
        .await?;
        let captured = record_event_for(&mut tx, &row, event, now).await?;
        tx.commit().await?;
        Ok(Some(captured))
    }

    /// Voids, releases the held points and writes the event, together.
    pub async fn void_payment(
        &self,
        p: &StoredPayment,
        event: &PaymentEvent,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let voided = Advance {
            to: "voided",
            ..Advance::default()
        };
        let Some(row) = advance_in(&mut tx, &p.id, "authorized", &voided, now).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        super::points::release_for_payment(&mut tx, &p.grant_jti, now).await?;
        record_event_for(&mut tx, &row, event, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn capture_ref(&self, id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT capture_ref FROM payments WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<String>, _>("capture_ref"))
            .transpose()?
            .flatten())
    }

    /// A merchant's payment; another merchant's is not found.
    pub async fn find_payment(&self, client_id: &str, id: &str) -> Result<Option<StoredPayment>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM payments WHERE id = $1 AND client_id = $2"
        ))
        .bind(id)
        .bind(client_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(payment_row).transpose()
    }

    /// The merchant's latest payment for an order reference.
    pub async fn find_payment_by_order(
        &self,
        client_id: &str,
        order_reference: &str,
    ) -> Result<Option<StoredPayment>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM payments WHERE client_id = $1 AND order_reference = $2 AND status <> 'pending'
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(client_id)
        .bind(order_reference)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(payment_row).transpose()
    }

    /// A shopper's payments with the merchant's name, newest first.
    pub async fn payments_of_user(
        &self,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<(StoredPayment, String)>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS}, (SELECT name FROM merchants m WHERE m.client_id = payments.client_id) AS merchant_name
             FROM payments WHERE user_id = $1 AND status <> 'pending' ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(user_id)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((payment_row(r)?, r.try_get("merchant_name")?)))
            .collect()
    }

    /// Reserves a refund: the captured payment's refunded total grows by `amount` only if it
    /// stays within the captured amount.
    pub async fn reserve_refund(
        &self,
        payment_id: &str,
        client_id: &str,
        refund_id: &str,
        amount: i64,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let reserved = sqlx::query(
            "UPDATE payments SET refunded_minor = refunded_minor + $1, updated_at = $2
             WHERE id = $3 AND client_id = $4 AND status = 'captured' AND refunded_minor + $1 <= captured_minor",
        )
        .bind(amount)
        .bind(now)
        .bind(payment_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        if reserved.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("INSERT INTO refunds (id, payment_id, amount_minor, status, created_at) VALUES ($1, $2, $3, 'pending', $4)")
            .bind(refund_id)
            .bind(payment_id)
            .bind(amount)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Completes a refund and its points (earned points reversed, redeemed points restored,
    /// both pro rata) and writes the event, in one transaction.
    pub async fn complete_refund(
        &self,
        p: &StoredPayment,
        refund_id: &str,
        processor_ref: &str,
        points: &RefundPoints,
        event: &PaymentEvent,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE refunds SET status = 'succeeded', processor_ref = $1 WHERE id = $2 AND status = 'pending'")
            .bind(processor_ref)
            .bind(refund_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 1 {
            super::points::reverse(&mut tx, &p.user_id, &p.id, points.reverse, now).await?;
            super::points::restore(
                &mut tx,
                &p.user_id,
                &p.id,
                points.restore,
                points.expires_at,
                now,
            )
            .await?;
            sqlx::query("UPDATE payments SET points_reversed = points_reversed + $1, points_restored = points_restored + $2 WHERE id = $3")
                .bind(points.reverse)
                .bind(points.restore)
                .bind(&p.id)
                .execute(&mut *tx)
                .await?;
            record_event(&mut tx, &p.id, event, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Points already reversed and restored for a payment's earlier refunds.
    pub async fn points_refunded(&self, id: &str) -> Result<(i64, i64)> {
        let row =
            sqlx::query("SELECT points_reversed, points_restored FROM payments WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *self.read().await?)
                .await?;
        Ok((
            row.try_get("points_reversed")?,
            row.try_get("points_restored")?,
        ))
    }

    /// Gives a reserved refund back when the processor refused it.
    pub async fn cancel_refund(&self, payment_id: &str, refund_id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query(
            "DELETE FROM refunds WHERE id = $1 AND status = 'pending' RETURNING amount_minor",
        )
        .bind(refund_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = deleted {
            sqlx::query("UPDATE payments SET refunded_minor = refunded_minor - $1 WHERE id = $2")
                .bind(row.try_get::<i64, _>("amount_minor")?)
                .bind(payment_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Refunds of a payment, oldest first: (id, amount, status, created_at).
    pub async fn refunds_of(&self, payment_id: &str) -> Result<Vec<(String, i64, String, i64)>> {
        let rows = sqlx::query("SELECT id, amount_minor, status, created_at FROM refunds WHERE payment_id = $1 ORDER BY created_at, id")
            .bind(payment_id)
            .fetch_all(&mut *self.read().await?)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("amount_minor")?,
                    r.try_get("status")?,
                    r.try_get("created_at")?,
                ))
            })
            .collect::<Result<_>>()
            .map_err(|e: Error| e)
    }
}
