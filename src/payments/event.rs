//! Payment events for the webhook outbox: the payments side renders each body (the payment
//! as the transaction left it) and hands it over; the webhooks room only stores, signs and
//! sends it.

use saifu_sdk::webhooks::EventType;

use crate::error::{Error, Result};
use crate::store::payments::{PaymentEvent, StoredPayment};
use crate::webhooks::{new_event_id, render_event};

/// An event of `kind` about a payment, for the store to write with the change.
pub(super) fn payment_event(kind: EventType) -> Result<PaymentEvent> {
    Ok(PaymentEvent {
        id: new_event_id()?,
        event_type: kind.as_str(),
        render: |p, id, kind, now| Ok(render_payment_event(p, id, kind, now)?),
    })
}

/// The webhook body of a payment event: `{"id","type","timestamp","data": payment}`.
fn render_payment_event(
    payment: &StoredPayment,
    id: &str,
    event_type: &str,
    now: i64,
) -> Result<String> {
    let data = serde_json::to_value(super::view(payment)?).map_err(Error::internal)?;
    render_event(id, event_type, now, data)
}
