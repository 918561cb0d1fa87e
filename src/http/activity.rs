//! The shopper's activity: payments at every merchant, with their refunds.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower_sessions::Session;

use super::pages::{format_time, render, ActivityPage, Layout, PaymentView};
use super::session::{csrf_token, CurrentUser};
use crate::error::Result;
use crate::payments::activity::{ActivityEntry, ActivityStatus};
use crate::payments::status::PaymentStatus;
use crate::payments::Payments;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/activity", get(activity))
}

async fn activity(
    State(payments): State<Payments>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let payments = payments
        .activity(user.id)
        .await?
        .into_iter()
        .map(view)
        .collect();
    let layout = Layout::new("Activity", csrf_token(&session).await?, Some(&user));
    render(&ActivityPage { layout, payments })
}

/// A payment as pages show it (the card by brand and last four only).
pub(super) fn view(p: ActivityEntry) -> PaymentView {
    PaymentView {
        merchant: p.merchant,
        amount: p.amount.format_display(),
        card: format!(
            "{} •••• {}",
            p.card
                .brand
                .map_or(p.card.brand_code.as_str(), |b| b.display_name()),
            p.card.last4
        ),
        status: match p.status {
            ActivityStatus::Refunded => "Refunded".into(),
            ActivityStatus::PartlyRefunded => "Partly refunded".into(),
            ActivityStatus::Paid => "Paid".into(),
            ActivityStatus::Authorized => "Authorized".into(),
            ActivityStatus::Cancelled => "Cancelled".into(),
            ActivityStatus::Declined { decline_code } => format!(
                "Declined ({})",
                decline_code.as_deref().unwrap_or("declined")
            ),
            ActivityStatus::Pending => PaymentStatus::Pending.as_str().into(),
        },
        order_reference: p.order_reference,
        when: format_time(p.created_at),
        points_earned: p.points_earned,
        points_redeemed: p.points_redeemed,
        refunds: p
            .refunds
            .into_iter()
            .map(|r| {
                format!(
                    "{} refunded on {}",
                    r.amount.format_display(),
                    format_time(r.at)
                )
            })
            .collect(),
        id: p.id,
    }
}
