//! Every console action tried by every role: the server allows exactly what the role table in
//! the README says, and refuses the rest with 403 `role_forbidden` before anything changes.

use reqwest::StatusCode;
use saifu::admin::{Role, ROLES};

use crate::helpers::*;

#[derive(Clone, Copy)]
enum Who {
    Everyone,
    Only(&'static [Role]),
}

use Role::{Auditor, Operator, Owner, Support};

const MERCHANTS: Who = Who::Only(&[Owner, Operator]);
const SHOPPERS_READ: Who = Who::Only(&[Owner, Support, Auditor]);
const SHOPPERS_FREEZE: Who = Who::Only(&[Owner, Support]);
const SHOPPERS_RECOVER: Who = Who::Only(&[Owner, Support]);
const ADMINS_READ: Who = Who::Only(&[Owner, Auditor]);
const ADMINS: Who = Who::Only(&[Owner]);
const DISPUTES: Who = Who::Only(&[Owner, Support]);
const RISK: Who = Who::Only(&[Owner, Operator]);
const POINTS: Who = Who::Only(&[Owner, Operator]);

impl Who {
    fn allows(self, role: Role) -> bool {
        match self {
            Who::Everyone => true,
            Who::Only(roles) => roles.contains(&role),
        }
    }
}

/// A console action: method, path (with `{merchant}`, `{shopper}`, `{admin}`, `{dispute}`,
/// `{campaign}` filled in), form fields, and who may do it.
struct Action {
    post: bool,
    path: &'static str,
    form: &'static [(&'static str, &'static str)],
    who: Who,
}

const fn get(path: &'static str, who: Who) -> Action {
    Action {
        post: false,
        path,
        form: &[],
        who,
    }
}

const fn post(
    path: &'static str,
    form: &'static [(&'static str, &'static str)],
    who: Who,
) -> Action {
    Action {
        post: true,
        path,
        form,
        who,
    }
}

const ACTIONS: &[Action] = &[
    get("/admin", Who::Everyone),
    get("/admin/merchants", Who::Everyone),
    get("/admin/merchants?q=shop", Who::Everyone),
    get("/admin/merchants/{merchant}", Who::Everyone),
    get("/admin/webhooks", Who::Everyone),
    get("/admin/webhooks/{merchant}", Who::Everyone),
    get("/admin/audit", Who::Everyone),
    get("/admin/audit?action=merchant.created", Who::Everyone),
    get("/admin/passkeys", Who::Everyone),
    get("/admin/shoppers", SHOPPERS_READ),
    get(
        "/admin/shoppers?email=role-table%40example.com",
        SHOPPERS_READ,
    ),
    get("/admin/shoppers/{shopper}", SHOPPERS_READ),
    get("/admin/admins", ADMINS_READ),
    get("/admin/disputes", SHOPPERS_READ),
    get("/admin/disputes?status=open", SHOPPERS_READ),
    get("/admin/disputes/{dispute}", SHOPPERS_READ),
    get("/admin/guarantee", Who::Everyone),
    get("/admin/risk", Who::Everyone),
    get("/admin/points/statements", Who::Everyone),
    get("/admin/points/statements.csv?month=2000-01", Who::Everyone),
    post(
        "/admin/risk",
        &[
            ("currency", "JPY"),
            ("per_payment", "500000"),
            ("per_payment_unverified", "50000"),
            ("daily_total", "1000000"),
            ("hourly_count", "20"),
        ],
        RISK,
    ),
    post(
        "/admin/merchants",
        &[
            ("name", "Role Table Shop"),
            ("redirect_uris", "https://role-table.example/callback"),
            ("domain", "role-table.example"),
            ("webhook_url", ""),
        ],
        MERCHANTS,
    ),
    post(
        "/admin/merchants/{merchant}",
        &[
            ("name", "Frame Shop"),
            ("domain", "frame-shop.example"),
            ("redirect_uris", "https://frame-shop.example/callback"),
            ("webhook_url", ""),
        ],
        MERCHANTS,
    ),
    post(
        "/admin/merchants/{merchant}/status",
        &[("status", "pending"), ("reason", "Documents under review")],
        MERCHANTS,
    ),
    post(
        "/admin/merchants/{merchant}/status",
        &[("status", "verified"), ("reason", "Documents checked")],
        MERCHANTS,
    ),
    post("/admin/merchants/{merchant}/rotate-secret", &[], MERCHANTS),
    post(
        "/admin/merchants/{merchant}/rotate-webhook-secret",
        &[],
        MERCHANTS,
    ),
    get("/admin/points", Who::Everyone),
    get("/admin/points/campaigns", Who::Everyone),
    get(
        "/admin/points/campaigns?client_id={merchant}",
        Who::Everyone,
    ),
    post(
        "/admin/points",
        &[
            ("earn_jpy", "100"),
            ("earn_usd", "1.00"),
            ("value_jpy", "1"),
            ("value_usd", "0.01"),
            ("expiry_months", "12"),
            ("expiry", "fixed"),
            ("min_redeem_points", "0"),
            ("max_redeem_points", ""),
            ("max_redeem_percent", "100"),
        ],
        POINTS,
    ),
    // The first allowed role adds it; a later one finds it overlapping (409), still allowed.
    post(
        "/admin/points/campaigns",
        &[
            ("client_id", "{merchant}"),
            ("multiplier_percent", "150"),
            ("starts", ""),
            ("ends", "2098-01-01T00:00"),
        ],
        POINTS,
    ),
    // The first allowed role calls it off; a later one finds no such campaign (404).
    post("/admin/points/campaigns/{campaign}/end", &[], POINTS),
    post("/admin/webhooks/{merchant}/enable", &[], MERCHANTS),
    post(
        "/admin/webhooks/events/evt_role_table/retry",
        &[],
        MERCHANTS,
    ),
    post(
        "/admin/shoppers/{shopper}/freeze",
        &[("reason", "Reported stolen phone")],
        SHOPPERS_FREEZE,
    ),
    post(
        "/admin/shoppers/{shopper}/unfreeze",
        &[("reason", "Phone recovered")],
        SHOPPERS_FREEZE,
    ),
    post("/admin/shoppers/{shopper}/recovery", &[], SHOPPERS_RECOVER),
    post(
        "/admin/shoppers/{shopper}/recovery/cancel",
        &[],
        SHOPPERS_RECOVER,
    ),
    post(
        "/admin/admins/invite",
        &[("email", "{invitee}"), ("role", "auditor")],
        ADMINS,
    ),
    post("/admin/admins/{admin}/role", &[("role", "support")], ADMINS),
    post("/admin/admins/{admin}/remove", &[], ADMINS),
    // The first allowed role decides; a later one finds the dispute closed (409), still allowed.
    post(
        "/admin/disputes/{dispute}/decide",
        &[
            ("decision", "for_merchant"),
            ("reason", "Delivered, signed for"),
        ],
        DISPUTES,
    ),
    post(
        "/admin/guarantee/fund",
        &[("currency", "JPY"), ("amount", "100000")],
        ADMINS,
    ),
];

#[tokio::test]
async fn every_role_may_do_exactly_what_the_role_table_says() {
    let app = spawn_app().await;
    let order = paid_order(&app, "role-table@example.com").await;
    let merchant = order.creds.clone();
    let dispute = open_dispute(&order.shopper, &order.payment_id, "12800").await;
    let now = saifu::clock::unix_now();
    let campaign = app
        .state
        .checkout
        .programmes
        .add_campaign(
            &saifu::points::NewCampaign {
                client_id: merchant.client_id.clone(),
                multiplier_percent: 200,
                starts_at: 4_070_908_800, // 2099-01-01, after the one the table adds
                ends_at: 4_073_587_200,
            },
            &saifu::audit::Actor::Cli,
            now,
        )
        .await
        .unwrap()
        .id;
    let shopper_id = user_id_by_email(&app, "role-table@example.com")
        .await
        .to_string();
    drop(order);

    let mut failures = Vec::new();
    for role in ROLES {
        let browser = signed_in_admin(&app, role).await;
        // An admin for the role and removal actions to act on, made afresh for each role.
        signed_in_admin(&app, Role::Operator).await;
        let target = app
            .state
            .admins
            .list()
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.role == Role::Operator)
            .max_by_key(|a| a.created_at)
            .unwrap()
            .id
            .to_string();
        let invitee = format!("invitee-{}@issuer.example", role.as_str());
        for action in ACTIONS {
            let path = action
                .path
                .replace("{merchant}", &merchant.client_id)
                .replace("{shopper}", &shopper_id)
                .replace("{admin}", &target)
                .replace("{dispute}", &dispute)
                .replace("{campaign}", &campaign);
            let response = if action.post {
                let form: Vec<(&str, &str)> = action
                    .form
                    .iter()
                    .map(|(k, v)| {
                        (
                            *k,
                            match *v {
                                "{invitee}" => invitee.as_str(),
                                "{merchant}" => merchant.client_id.as_str(),
                                other => other,
                            },
                        )
                    })
                    .collect();
                browser.admin_post_form(&path, &form).await
            } else {
                browser.get_html(&path).await
            };
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            let method = if action.post { "POST" } else { "GET" };
            if action.who.allows(role) {
                if status == StatusCode::FORBIDDEN
                    || status == StatusCode::UNAUTHORIZED
                    || status.is_server_error()
                {
                    failures.push(format!(
                        "{role} {method} {path}: expected allowed, got {status}"
                    ));
                }
            } else if status != StatusCode::FORBIDDEN || !body.contains("role_forbidden") {
                failures.push(format!(
                    "{role} {method} {path}: expected 403 role_forbidden, got {status}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "role table:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn a_refused_action_changes_nothing_and_records_nothing() {
    let app = spawn_app().await;
    let merchant = merchant(&app, "Frame Shop", true).await;
    let auditor = signed_in_admin(&app, Role::Auditor).await;
    let before = app.state.audit.head().await.unwrap();
    let refused = auditor
        .admin_post_form(
            &format!("/admin/merchants/{}/status", merchant.client_id),
            &[("status", "suspended"), ("reason", "Not allowed to")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let found = app
        .state
        .checkout
        .merchants
        .find(&merchant.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.status, saifu::merchants::MerchantStatus::Verified);
    assert_eq!(app.state.audit.head().await.unwrap(), before);
}
