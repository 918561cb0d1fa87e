//! The shopper's activity: payments at every merchant, with their refunds and disputes, and
//! "Report a problem" on those that can still be disputed.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower_sessions::Session;

use crate::clock::unix_now;
use crate::config::Config;
use crate::disputes::{Disputes, Status};
use crate::error::Result;
use crate::http::account_recovery;
use crate::http::dispute_pages::view::status_shown;
use crate::http::pages::{format_time, render, ActivityPage, DisputeLink, Layout, PaymentView};
use crate::http::session::{csrf_token, CurrentUser};
use crate::i18n::{Locale, Tr};
use crate::money::Money;
use crate::payments::activity::{ActivityEntry, ActivityStatus};
use crate::payments::status::PaymentStatus;
use crate::payments::Payments;
use crate::recovery::Recovery;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/activity", get(activity))
}

const DAY_SECS: i64 = 86_400;

async fn activity(
    State(payments): State<Payments>,
    State(disputes): State<Disputes>,
    State(config): State<Arc<Config>>,
    State(recovery): State<Recovery>,
    session: Session,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    // The latest dispute of each payment (the list is newest first).
    let mut latest = HashMap::new();
    for d in disputes.of_shopper(user.id).await? {
        latest.entry(d.payment_id.clone()).or_insert(d);
    }
    let window_opened_after = unix_now() - config.dispute_window_days * DAY_SECS;
    let payments = payments
        .activity(user.id)
        .await?
        .into_iter()
        .map(|p| {
            let refundable = matches!(
                p.status,
                ActivityStatus::Paid | ActivityStatus::PartlyRefunded
            );
            let recent = p.created_at > window_opened_after;
            let dispute = latest.remove(&p.id);
            let open = dispute
                .as_ref()
                .is_some_and(|d| d.status != Status::Resolved);
            let mut v = view(p);
            // The form itself asks the service, which has the last word.
            v.can_dispute = refundable && recent && !open;
            v.dispute = dispute.map(|d| DisputeLink {
                status: status_shown(d.status),
                id: d.id,
            });
            v
        })
        .collect();
    let layout = Layout::new(
        Tr::current().t("activity-title"),
        csrf_token(&session).await?,
        Some(&user),
    );
    let security = account_recovery::security(&recovery, &user).await?;
    render(&ActivityPage {
        layout,
        payments,
        security,
    })
}

/// A payment as pages show it (the card by brand and last four only), in the request's
/// language: the wallet's pages in the shopper's, the console in English.
pub(super) fn view(p: ActivityEntry) -> PaymentView {
    let tr = Tr::current();
    let card_paid = Money {
        currency: p.amount.currency,
        minor: p.amount.minor - p.points_value.minor,
    };
    PaymentView {
        merchant: p.merchant,
        amount: tr.money(p.amount),
        points_paid: (p.points_redeemed > 0).then(|| tr.money(p.points_value)),
        card_paid: tr.money(card_paid),
        card: format!(
            "{} •••• {}",
            p.card
                .brand
                .map_or(p.card.brand_code.as_str(), |b| b.display_name()),
            p.card.last4
        ),
        status: match p.status {
            ActivityStatus::Refunded => tr.t("activity-status-refunded"),
            ActivityStatus::PartlyRefunded => tr.t("activity-status-partly-refunded"),
            ActivityStatus::Paid => tr.t("activity-status-paid"),
            ActivityStatus::Authorized => tr.t("activity-status-authorized"),
            ActivityStatus::Cancelled => tr.t("activity-status-cancelled"),
            ActivityStatus::Declined { decline_code } => {
                // The card's refusal in the shopper's words, never the processor's code.
                let generic = tr.t("activity-decline-other");
                let reason = decline_code.as_deref().map_or_else(
                    || generic.clone(),
                    |code| tr.t_or(&format!("activity-decline-{code}"), &generic),
                );
                tr.args("activity-status-declined", [("reason", reason.as_str())])
            }
            ActivityStatus::Pending => match tr.locale() {
                Locale::En => PaymentStatus::Pending.as_str().into(),
                _ => tr.t("activity-status-pending"),
            },
        },
        order_reference: p.order_reference,
        when: format_time(p.created_at),
        points_earned: p.points_earned,
        points_redeemed: p.points_redeemed,
        points_unreversed: p.points_unreversed,
        refunds: p
            .refunds
            .into_iter()
            .map(|r| {
                tr.args(
                    "activity-refunded-on",
                    [
                        ("amount", tr.money(r.amount).as_str()),
                        ("when", format_time(r.at).as_str()),
                    ],
                )
            })
            .collect(),
        id: p.id,
        dispute: None,
        can_dispute: false,
    }
}
