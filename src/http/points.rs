//! The shopper's points: available, held for pending payments, expiring soon, and the history
//! with each entry linked to its payment.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower_sessions::Session;

use super::pages::{format_time, render, Layout, PointsEntryView, PointsPage};
use super::session::{csrf_token, CurrentUser};
use crate::clock::unix_now;
use crate::error::Result;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/points", get(points))
}

const SOON_SECS: i64 = 30 * 24 * 60 * 60;

async fn points(
    State(app): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let user_id = user.id.to_string();
    let summary = app
        .store
        .points_summary(&user_id, unix_now() + SOON_SECS)
        .await?;
    let history = app
        .store
        .points_history(&user_id, 200)
        .await?
        .into_iter()
        .map(|e| PointsEntryView {
            what: match e.kind.as_str() {
                "earn" => "Earned",
                "hold" => "Used for a payment",
                "release" => "Returned (payment not completed)",
                "reverse" => "Taken back (refund)",
                "restore" => "Given back (refund)",
                "expire" => "Expired",
                other => other,
            }
            .to_string(),
            amount: e.amount,
            merchant: e.merchant,
            order_reference: e.order_reference,
            payment_id: e.payment_id,
            when: format_time(e.created_at),
        })
        .collect();
    let layout = Layout::new("Points", csrf_token(&session).await?, Some(&user));
    render(&PointsPage {
        layout,
        available: summary.available,
        held: summary.held,
        expiring_soon: summary.expiring_soon,
        history,
    })
}
