//! The wallet's home: a welcome for visitors; for signed-in shoppers the points balance, their
//! cards (or a prompt to add the first), recent activity, the time zone times are shown in,
//! and the nudges (a second passkey, recovery codes).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower_sessions::Session;

use super::account_recovery::{self, HomeRecovery};
use super::activity;
use super::pages::{render, CardView, HomeActivity, HomeDashboard, IndexPage, Layout};
use super::session::{csrf_token, current_user};
use crate::accounts::user::User;
use crate::accounts::Accounts;
use crate::clock::unix_now;
use crate::config::Config;
use crate::error::Result;
use crate::i18n::Tr;
use crate::payments::Payments;
use crate::points::PointsService;
use crate::recovery::Recovery;
use crate::vault::Vault;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

/// How many payments the home shows; Activity has them all.
const RECENT: usize = 3;

/// Time zones the chooser offers first; the shopper's own is added when it is another.
pub const ZONES: [&str; 12] = [
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Australia/Sydney",
    "Pacific/Honolulu",
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "UTC",
];

#[allow(clippy::too_many_arguments)]
async fn home(
    State(accounts): State<Accounts>,
    State(config): State<Arc<Config>>,
    State(recovery): State<Recovery>,
    State(vault): State<Vault>,
    State(points): State<PointsService>,
    State(payments): State<Payments>,
    session: Session,
) -> Result<Response> {
    let user = current_user(&session, &accounts, config.session_absolute_secs as i64).await?;
    let tr = Tr::current();
    let (passkey_count, recovery, dashboard) = match &user {
        Some(u) => (
            accounts.passkeys(u.id).await?.len(),
            account_recovery::home(&session, &recovery, u).await?,
            Some(dashboard(u, &vault, &points, &payments).await?),
        ),
        None => (0, HomeRecovery::default(), None),
    };
    let title = if user.is_some() {
        tr.t("home-title")
    } else {
        "Saifu".to_string()
    };
    let layout = Layout::new(title, csrf_token(&session).await?, user.as_ref());
    let current_zone = layout.tr.zone_name();
    let mut zones: Vec<String> = ZONES.iter().map(|z| z.to_string()).collect();
    if !zones.contains(&current_zone) {
        zones.insert(0, current_zone.clone());
    }
    render(&IndexPage {
        layout,
        passkey_count,
        recovery,
        dashboard,
        zones,
        current_zone,
    })
}

async fn dashboard(
    user: &User,
    vault: &Vault,
    points: &PointsService,
    payments: &Payments,
) -> Result<HomeDashboard> {
    let today = time::OffsetDateTime::now_utc().date();
    let summary = points.view(&user.id.to_string(), unix_now()).await?.summary;
    let cards = vault
        .cards(user.id)
        .await?
        .iter()
        .map(|c| CardView::of(c, today))
        .collect();
    let recent = payments
        .activity(user.id)
        .await?
        .into_iter()
        .take(RECENT)
        .map(|p| {
            let v = activity::view(p);
            HomeActivity {
                id: v.id,
                merchant: v.merchant,
                amount: v.amount,
                status: v.status,
                when: v.when,
            }
        })
        .collect();
    Ok(HomeDashboard {
        points_available: summary.available,
        points_expiring: summary.expiring_soon,
        cards,
        recent,
    })
}
