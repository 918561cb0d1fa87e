//! The shopper's activity: payments at every merchant, with their refunds.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower_sessions::Session;

use super::pages::{format_time, render, ActivityPage, Layout, PaymentView};
use super::session::{csrf_token, CurrentUser};
use crate::card::Brand;
use crate::error::Result;
use crate::money::{Currency, Money};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/activity", get(activity))
}

async fn activity(
    State(app): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let mut payments = Vec::new();
    for (p, merchant) in app
        .store
        .payments_of_user(&user.id.to_string(), 100)
        .await?
    {
        let Some(currency) = Currency::parse(&p.currency) else {
            continue;
        };
        let show = |minor: i64| Money { currency, minor }.format_display();
        let refunds = app
            .store
            .refunds_of(&p.id)
            .await?
            .into_iter()
            .filter(|(_, _, status, _)| status == "succeeded")
            .map(|(_, amount, _, at)| format!("{} refunded on {}", show(amount), format_time(at)))
            .collect();
        payments.push(PaymentView {
            id: p.id.clone(),
            merchant,
            amount: show(p.amount_minor),
            card: format!(
                "{} •••• {}",
                Brand::parse(&p.card_brand).map_or(p.card_brand.as_str(), |b| b.display_name()),
                p.card_last4
            ),
            status: match p.status.as_str() {
                "captured" if p.refunded_minor == p.captured_minor && p.captured_minor > 0 => {
                    "Refunded".into()
                }
                "captured" if p.refunded_minor > 0 => "Partly refunded".into(),
                "captured" => "Paid".into(),
                "authorized" => "Authorized".into(),
                "voided" => "Cancelled".into(),
                "declined" => format!(
                    "Declined ({})",
                    p.decline_code.as_deref().unwrap_or("declined")
                ),
                other => other.to_string(),
            },
            order_reference: p.order_reference.clone(),
            when: format_time(p.created_at),
            points_earned: p.points_earned,
            points_redeemed: p.points_redeemed,
            refunds,
        });
    }
    let layout = Layout::new("Activity", csrf_token(&session).await?, Some(&user));
    render(&ActivityPage { layout, payments })
}
