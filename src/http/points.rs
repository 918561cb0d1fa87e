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
use crate::i18n::Tr;
use crate::points::{EntryKind, PointsService};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/points", get(points))
}

/// How the history names each kind of entry (English: the console's words).
pub(super) fn what(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Earn => "Earned",
        EntryKind::Hold => "Used for a payment",
        EntryKind::Release => "Returned (payment not completed)",
        EntryKind::Reverse => "Taken back (refund)",
        EntryKind::Restore => "Given back (refund)",
        EntryKind::Expire => "Expired",
        EntryKind::Redeem => "redeem",
    }
}

/// The same, in the shopper's language.
fn what_for_shopper(tr: &Tr, kind: EntryKind) -> String {
    match kind {
        EntryKind::Earn => tr.t("points-kind-earn"),
        EntryKind::Hold => tr.t("points-kind-hold"),
        EntryKind::Release => tr.t("points-kind-release"),
        EntryKind::Reverse => tr.t("points-kind-reverse"),
        EntryKind::Restore => tr.t("points-kind-restore"),
        EntryKind::Expire => tr.t("points-kind-expire"),
        EntryKind::Redeem => tr.t("points-kind-redeem"),
    }
}

async fn points(
    State(points): State<PointsService>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let tr = Tr::current();
    let view = points.view(&user.id.to_string(), unix_now()).await?;
    let history = view
        .history
        .into_iter()
        .map(|e| PointsEntryView {
            what: what_for_shopper(&tr, e.kind),
            amount: e.amount,
            merchant: e.merchant,
            order_reference: e.order_reference,
            payment_id: e.payment_id,
            when: format_time(e.created_at),
        })
        .collect();
    let layout = Layout::new(
        tr.t("points-title"),
        csrf_token(&session).await?,
        Some(&user),
    );
    render(&PointsPage {
        layout,
        available: view.summary.available,
        held: view.summary.held,
        expiring_soon: view.summary.expiring_soon,
        history,
    })
}
