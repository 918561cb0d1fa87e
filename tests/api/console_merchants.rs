//! The issuer's merchant and webhook work: vetting status changes with their reason (one
//! `merchant.trust_mark_changed` event and one audit entry per real change, nothing for a
//! repeat), what a suspension blocks, edits of the redirect URIs pushed requests may use,
//! search, the dashboard's figures, and the console pages that drive them.

use reqwest::{Response, StatusCode};
use saifu::admin::Role;
use saifu::audit::Actor;
use saifu::audit::Query;
use saifu::clock::unix_now;
use saifu::merchants::{MerchantEdit, MerchantStatus, NewMerchant, StatusReason};
use saifu::store::audit::StoredAuditEntry;
use saifu_sdk::checkout::MerchantCredentials;
use saifu_sdk::{Error as SdkError, MerchantConfig, SaifuClient};
use serde_json::Value;
use url::Url;

use crate::helpers::{
    create_merchant, frames, grant, jpy, merchant, new_merchant, sdk, shopper, signed_in_admin,
    spawn_app, Browser, TestApp, CALLBACK,
};

/// A merchant with a webhook URL, so that its events are put in the outbox.
async fn hooked(app: &TestApp, name: &str) -> MerchantCredentials {
    create_merchant(
        app,
        NewMerchant {
            webhook_url: Some(Url::parse("https://hooks.invalid/saifu").unwrap()),
            ..new_merchant(name, false)
        },
    )
    .await
}

fn reason(text: &str) -> Option<StatusReason> {
    Some(StatusReason::parse(text).unwrap())
}

/// The (type, payload) of every event in the merchant's outbox, oldest first.
async fn outbox(app: &TestApp, client_id: &str) -> Vec<(String, Value)> {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let rows = sqlx::query(
        "SELECT event_type, payload FROM webhook_events WHERE client_id = $1 ORDER BY id",
    )
    .bind(client_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| {
            let payload: String = r.get("payload");
            (r.get("event_type"), serde_json::from_str(&payload).unwrap())
        })
        .collect()
}

async fn audit_of(app: &TestApp, client_id: &str, action: &str) -> Vec<StoredAuditEntry> {
    app.state
        .audit
        .list(
            &Query {
                action: Some(action.into()),
                target: Some(client_id.into()),
                ..Query::default()
            },
            100,
        )
        .await
        .unwrap()
}

fn oauth_error(err: SdkError) -> String {
    match err {
        SdkError::OAuth { error, .. } => error,
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

fn problem_code(err: SdkError) -> (u16, String) {
    match err {
        SdkError::Problem { status, code, .. } => (status, code),
        other => panic!("expected a problem, got {other:?}"),
    }
}

#[tokio::test]
async fn a_status_change_emits_one_trust_mark_event_and_one_audit_entry_and_a_repeat_nothing() {
    let app = spawn_app().await;
    let creds = hooked(&app, "Mark Shop").await;
    let merchants = &app.state.checkout.merchants;
    let id = &creds.client_id;

    let changed = merchants
        .set_status(
            id,
            MerchantStatus::Verified,
            reason("KYC done"),
            &Actor::Cli,
            1_800_000_000,
        )
        .await
        .unwrap();
    assert!(changed);
    let events = outbox(&app, id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (kind, body) = &events[0];
    assert_eq!(kind, "merchant.trust_mark_changed");
    assert_eq!(body["type"], "merchant.trust_mark_changed");
    assert_eq!(
        body["data"],
        serde_json::json!({
            "client_id": id, "status": "verified", "previous_status": "pending",
            "verified": true, "reason": "KYC done", "changed_at": 1_800_000_000,
        })
    );
    // The SDK knows the event type.
    let event: saifu_sdk::webhooks::Event = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(
        event.kind(),
        Some(saifu_sdk::webhooks::EventType::MerchantTrustMarkChanged)
    );
    let change = event.trust_mark().unwrap();
    assert_eq!(
        (change.status.as_str(), change.previous_status.as_str()),
        ("verified", "pending")
    );
    assert!(change.verified);
    assert_eq!(change.reason.as_deref(), Some("KYC done"));
    let entries = audit_of(&app, id, "merchant.status_changed").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, "cli");
    let details: Value = serde_json::from_str(&entries[0].details).unwrap();
    assert_eq!(details["previous_status"], "pending");
    assert_eq!(details["reason"], "KYC done");
    let shown = merchants.find(id).await.unwrap().unwrap();
    assert_eq!(shown.status, MerchantStatus::Verified);
    assert_eq!(shown.status_reason.as_deref(), Some("KYC done"));
    assert_eq!(shown.status_changed_at, Some(1_800_000_000));
    assert!(shown.trusted());

    // The same status again: nothing changes, nothing is sent or recorded.
    let changed = merchants
        .set_status(
            id,
            MerchantStatus::Verified,
            reason("again"),
            &Actor::Cli,
            1_800_000_100,
        )
        .await
        .unwrap();
    assert!(!changed);
    assert_eq!(outbox(&app, id).await.len(), 1);
    assert_eq!(audit_of(&app, id, "merchant.status_changed").await.len(), 1);
    let same = merchants.find(id).await.unwrap().unwrap();
    assert_eq!(same.status_reason.as_deref(), Some("KYC done"));
    assert_eq!(same.status_changed_at, Some(1_800_000_000));

    // Suspending needs a reason; the trust mark goes with the suspension.
    let err = merchants
        .set_status(id, MerchantStatus::Suspended, None, &Actor::Cli, unix_now())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "status_reason_required");
    assert_eq!(outbox(&app, id).await.len(), 1);
    merchants
        .set_status(
            id,
            MerchantStatus::Suspended,
            reason("chargebacks"),
            &Actor::Cli,
            unix_now(),
        )
        .await
        .unwrap();
    let events = outbox(&app, id).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].1["data"]["verified"], false);
    assert_eq!(events[1].1["data"]["previous_status"], "verified");
    assert_eq!(audit_of(&app, id, "merchant.status_changed").await.len(), 2);

    // An unknown merchant is not found, and nothing is recorded.
    let err = merchants
        .set_status(
            "mch_nobody",
            MerchantStatus::Verified,
            None,
            &Actor::Cli,
            unix_now(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "merchant_not_found");
}

#[tokio::test]
async fn the_cli_sets_a_status_with_a_reason_and_requires_one_to_suspend() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Cli Shop", true).await;
    let run = |args: Vec<&str>| {
        let mut cmd = app.cli();
        cmd.args(["merchant", "set-status", "--client-id", &creds.client_id]);
        cmd.args(args);
        cmd.output().unwrap()
    };
    let refused = run(vec!["--status", "suspended"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("reason"));
    let done = run(vec!["--status", "suspended", "--reason", "fraud review"]);
    assert!(done.status.success(), "{done:?}");
    let again = run(vec!["--status", "suspended", "--reason", "fraud review"]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing changed"));
    let m = app
        .state
        .checkout
        .merchants
        .find(&creds.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.status, MerchantStatus::Suspended);
    assert_eq!(m.status_reason.as_deref(), Some("fraud review"));
    assert_eq!(
        audit_of(&app, &creds.client_id, "merchant.status_changed")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_suspended_merchants_next_pushed_request_and_outstanding_grant_are_refused() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Risky Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut buyer = shopper(&app, "suspend@example.com").await;
    let outstanding = grant(&client, &mut buyer).await;

    app.state
        .checkout
        .merchants
        .set_status(
            &creds.client_id,
            MerchantStatus::Suspended,
            reason("chargebacks"),
            &Actor::Cli,
            unix_now(),
        )
        .await
        .unwrap();
    let pushed = client.start_checkout(&frames()).await.unwrap_err();
    assert_eq!(oauth_error(pushed), "unauthorized_client");
    let paid = client
        .pay(&outstanding, &jpy("12800"), true, None)
        .await
        .unwrap_err();
    assert_eq!(problem_code(paid), (403, "merchant_suspended".to_string()));
}

#[tokio::test]
async fn an_edit_replaces_the_redirect_uris_pushed_requests_may_use_and_records_what_changed() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Edit Shop", false).await;
    let merchants = &app.state.checkout.merchants;
    let other = "http://localhost:3000/other-callback";
    let edit = MerchantEdit::parse(
        "Edited Shop",
        "edited.example",
        &format!("{other}\n"),
        "https://edited.example/hooks?token=s3cr3t",
    )
    .unwrap();
    let admin = Actor::Admin("00000000-0000-4000-8000-000000000001".into());
    let updated = merchants
        .update(&creds.client_id, edit.clone(), &admin, unix_now())
        .await
        .unwrap();
    assert_eq!(updated.name, "Edited Shop");
    assert_eq!(updated.domain, "edited.example");
    assert_eq!(updated.redirect_uris, [other]);

    // The old callback no longer works; the new one does.
    let old = sdk(&app, &creds).await;
    assert_eq!(
        oauth_error(old.start_checkout(&frames()).await.unwrap_err()),
        "invalid_request"
    );
    let config = MerchantConfig::new(
        app.base.clone(),
        creds.client_id.clone(),
        creds.client_secret.clone(),
        Url::parse(other).unwrap(),
    );
    let new = SaifuClient::discover(config).await.unwrap();
    new.start_checkout(&frames()).await.unwrap();

    let entries = audit_of(&app, &creds.client_id, "merchant.updated").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].actor,
        format!("admin:{}", "00000000-0000-4000-8000-000000000001")
    );
    let details: Value = serde_json::from_str(&entries[0].details).unwrap();
    assert_eq!(details["name"]["from"], "Edit Shop");
    assert_eq!(details["name"]["to"], "Edited Shop");
    assert_eq!(
        details["redirect_uris"]["from"],
        serde_json::json!([CALLBACK])
    );
    assert_eq!(details["webhook_url"]["to"], "https://edited.example/hooks");
    assert!(!entries[0].details.contains("s3cr3t"));

    // The same edit again changes and records nothing.
    merchants
        .update(&creds.client_id, edit, &admin, unix_now())
        .await
        .unwrap();
    assert_eq!(
        audit_of(&app, &creds.client_id, "merchant.updated")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn search_finds_merchants_by_name_domain_or_client_id_in_any_case_newest_first() {
    let app = spawn_app().await;
    let merchants = &app.state.checkout.merchants;
    let a = merchant(&app, "Alpha Frames", false).await;
    let b = merchant(&app, "Beta Lenses", false).await;
    let c = merchant(&app, "Gamma_Frames", false).await;
    let names = |list: Vec<saifu::merchants::Merchant>| {
        list.into_iter().map(|m| m.name).collect::<Vec<_>>()
    };
    assert_eq!(
        names(merchants.search(Some("FRAMES"), 50).await.unwrap()).len(),
        2
    );
    assert_eq!(
        names(
            merchants
                .search(Some("beta-lenses.EXAMPLE"), 50)
                .await
                .unwrap()
        ),
        ["Beta Lenses"]
    );
    let by_id = merchants
        .search(Some(&a.client_id.to_uppercase()), 50)
        .await
        .unwrap();
    assert_eq!(names(by_id), ["Alpha Frames"]);
    // LIKE wildcards are matched as themselves.
    assert_eq!(
        names(merchants.search(Some("_frames"), 50).await.unwrap()),
        ["Gamma_Frames"]
    );
    assert!(merchants.search(Some("%"), 50).await.unwrap().is_empty());
    let all = merchants.search(None, 50).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|m| m.redirect_uris == [CALLBACK]));
    assert_eq!(merchants.search(Some("  "), 2).await.unwrap().len(), 2);
    let _ = (b, c);
}

#[tokio::test]
async fn the_dashboard_counts_a_checkouts_payment_today_and_this_month() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Dash Shop", true).await;
    merchant(&app, "Waiting Shop", false).await;
    let client = sdk(&app, &creds).await;
    let mut buyer = shopper(&app, "dash@example.com").await;
    let before = app.state.dashboard.summary(unix_now()).await.unwrap();
    assert_eq!(before.today.count, 0);
    assert!(before.today.volume.is_empty());

    let g = grant(&client, &mut buyer).await;
    let payment = client.pay(&g, &jpy("12800"), true, None).await.unwrap();
    assert_eq!(payment.status, "captured");
    let summary = app.state.dashboard.summary(unix_now()).await.unwrap();
    for figures in [&summary.today, &summary.this_month] {
        assert_eq!(figures.count, 1);
        assert_eq!(figures.volume.len(), 1);
        assert_eq!(figures.volume[0].minor, 12800);
        assert_eq!(figures.volume[0].currency.code(), "JPY");
    }
    // A day later it is no longer today's (but still this month's, unless the month ended).
    let tomorrow = app
        .state
        .dashboard
        .summary(unix_now() + 86_400)
        .await
        .unwrap();
    assert_eq!(tomorrow.today.count, 0);
    let counts: Vec<(&str, i64)> = summary
        .merchants
        .iter()
        .map(|(s, n)| (s.as_str(), *n))
        .collect();
    assert_eq!(counts, [("pending", 1), ("verified", 1), ("suspended", 0)]);
    assert!(summary.disabled_endpoints.is_empty());
}

// ---- The console pages ----

/// A browser signed in to the console as a new admin with `role`, and that admin's id.
async fn console_as(app: &TestApp, role: Role) -> (Browser, uuid::Uuid) {
    let browser = signed_in_admin(app, role).await;
    let admin = app
        .state
        .admins
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.role == role)
        .max_by_key(|a| a.created_at)
        .unwrap();
    (browser, admin.id)
}

/// The text of the element with `id` in `html` (its first `<code id=…>`-like occurrence).
fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[start..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(rest[open..open + close].trim().to_string())
}

fn see_other_to(r: &Response) -> String {
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    r.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn an_operator_registers_suspends_edits_and_rotates_a_merchant_in_the_console() {
    let app = spawn_app().await;
    let (operator, operator_id) = console_as(&app, Role::Operator).await;

    // Register: the secrets are on the answer page only.
    let created = operator
        .admin_post_form(
            "/admin/merchants",
            &[
                ("name", "Console Shop"),
                ("domain", ""),
                ("redirect_uris", CALLBACK),
                ("webhook_url", "https://hooks.invalid/console"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let html = created.text().await.unwrap();
    let client_id = element_text(&html, "client-id").unwrap();
    let client_secret = element_text(&html, "client-secret").unwrap();
    let webhook_secret = element_text(&html, "webhook-secret").unwrap();
    assert!(client_secret.starts_with("saifu_sk_"));
    assert!(webhook_secret.starts_with("whsec_"));
    let page_path = format!("/admin/merchants/{client_id}");
    let page = operator.html(&page_path).await;
    assert!(page.contains("Console Shop"));
    assert!(!page.contains(&client_secret) && !page.contains(&webhook_secret));
    let creds = MerchantCredentials {
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
        webhook_secret,
    };
    let client = sdk(&app, &creds).await;
    client.start_checkout(&frames()).await.unwrap();

    // The list finds it.
    let list = operator.html("/admin/merchants?q=console").await;
    assert!(list.contains(&client_id));
    assert!(!operator
        .html("/admin/merchants?q=nothing-like-it")
        .await
        .contains(&client_id));

    // Suspend with a reason: audited as this admin, announced, and the next PAR is refused.
    let suspended = operator
        .admin_post_form(
            &format!("{page_path}/status"),
            &[
                ("status", "suspended"),
                ("reason", "Chargeback ratio too high"),
            ],
        )
        .await;
    assert_eq!(see_other_to(&suspended), page_path);
    let entries = audit_of(&app, &client_id, "merchant.status_changed").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, format!("admin:{operator_id}"));
    let events = outbox(&app, &client_id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "merchant.trust_mark_changed");
    assert_eq!(events[0].1["data"]["reason"], "Chargeback ratio too high");
    assert_eq!(
        oauth_error(client.start_checkout(&frames()).await.unwrap_err()),
        "unauthorized_client"
    );
    let page = operator.html(&page_path).await;
    assert_eq!(element_text(&page, "merchant-status").unwrap(), "suspended");
    assert!(
        page.contains("merchant.status_changed"),
        "the recent changes show it"
    );
    assert!(page.contains("Chargeback ratio too high"));
    // Suspending without a reason is refused, with its code.
    let refused = operator
        .admin_post_form(
            &format!("{page_path}/status"),
            &[("status", "pending"), ("reason", "")],
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::SEE_OTHER,
        "pending needs no reason"
    );
    let refused = operator
        .admin_post_form(
            &format!("{page_path}/status"),
            &[("status", "suspended"), ("reason", "  ")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("status_reason_required"));

    // Edit.
    let edited = operator
        .admin_post_form(
            &page_path,
            &[
                ("name", "Console Shop Two"),
                ("domain", "two.example"),
                (
                    "redirect_uris",
                    &format!("{CALLBACK}\nhttp://localhost:3000/second"),
                ),
                ("webhook_url", ""),
            ],
        )
        .await;
    assert_eq!(see_other_to(&edited), page_path);
    let m = app
        .state
        .checkout
        .merchants
        .find(&client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.name, "Console Shop Two");
    assert_eq!(m.redirect_uris.len(), 2);
    assert_eq!(m.webhook_url, None);
    assert_eq!(
        audit_of(&app, &client_id, "merchant.updated").await.len(),
        1
    );

    // Rotations show the new secret once; the old client secret stops working.
    let rotated = operator
        .admin_post_form(&format!("{page_path}/rotate-secret"), &[])
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let html = rotated.text().await.unwrap();
    let new_secret = element_text(&html, "client-secret").unwrap();
    assert_ne!(new_secret, client_secret);
    assert!(element_text(&html, "webhook-secret").is_none());
    assert!(app
        .state
        .checkout
        .merchants
        .authenticate(&client_id, &client_secret)
        .await
        .unwrap()
        .is_none());
    let rotated = operator
        .admin_post_form(&format!("{page_path}/rotate-webhook-secret"), &[])
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let html = rotated.text().await.unwrap();
    assert!(element_text(&html, "webhook-secret")
        .unwrap()
        .starts_with("whsec_"));
    assert!(!operator.html(&page_path).await.contains(&new_secret));
    for action in ["merchant.secret_rotated", "merchant.webhook_secret_rotated"] {
        let entries = audit_of(&app, &client_id, action).await;
        assert_eq!(entries.len(), 1, "{action}");
        assert_eq!(entries[0].actor, format!("admin:{operator_id}"));
    }

    // The dashboard and the webhook pages read.
    let dashboard = operator.html("/admin").await;
    assert!(dashboard.contains("Whole"), "{dashboard}");
    assert!(dashboard.contains("suspended"));
    let hooks = operator.html(&format!("/admin/webhooks/{client_id}")).await;
    assert!(hooks.contains("merchant.trust_mark_changed"));
}

#[tokio::test]
async fn support_and_auditors_read_the_merchant_pages_but_every_change_is_403() {
    let app = spawn_app().await;
    let creds = hooked(&app, "Guarded Shop").await;
    app.state
        .checkout
        .merchants
        .set_status(
            &creds.client_id,
            MerchantStatus::Verified,
            None,
            &Actor::Cli,
            unix_now(),
        )
        .await
        .unwrap();
    let event_id = app
        .state
        .webhooks
        .overview(&creds.client_id, 5)
        .await
        .unwrap()
        .events[0]
        .id
        .clone();
    let page = format!("/admin/merchants/{}", creds.client_id);
    let hooks = format!("/admin/webhooks/{}", creds.client_id);
    for role in [Role::Support, Role::Auditor] {
        let (browser, _) = console_as(&app, role).await;
        for path in [
            "/admin",
            "/admin/merchants",
            page.as_str(),
            "/admin/webhooks",
            hooks.as_str(),
        ] {
            let r = browser.get_html(path).await;
            assert_eq!(r.status(), StatusCode::OK, "{role:?} reads {path}");
            let html = r.text().await.unwrap();
            assert!(
                !html.contains("/rotate-secret"),
                "{role:?} sees no change form on {path}"
            );
        }
        let before = app.state.audit.head().await.unwrap();
        let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
            (
                "/admin/merchants".into(),
                vec![("name", "X"), ("redirect_uris", CALLBACK)],
            ),
            (
                page.clone(),
                vec![("name", "X"), ("redirect_uris", CALLBACK)],
            ),
            (
                format!("{page}/status"),
                vec![("status", "suspended"), ("reason", "no")],
            ),
            (format!("{page}/rotate-secret"), vec![]),
            (format!("{page}/rotate-webhook-secret"), vec![]),
            (
                "/admin/points/campaigns".into(),
                vec![
                    ("client_id", creds.client_id.as_str()),
                    ("multiplier_percent", "200"),
                    ("ends", "2098-01-01T00:00"),
                ],
            ),
            (format!("{hooks}/enable"), vec![]),
            (
                format!("/admin/webhooks/events/{event_id}/retry"),
                vec![("client_id", creds.client_id.as_str())],
            ),
        ];
        for (path, fields) in &posts {
            let r = browser.admin_post_form(path, fields).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{role:?} POST {path}");
            assert!(r.text().await.unwrap().contains("role_forbidden"));
        }
        assert_eq!(
            app.state.audit.head().await.unwrap(),
            before,
            "{role:?} changed nothing"
        );
        assert_eq!(
            browser.get_html("/admin/merchants/new").await.status(),
            StatusCode::FORBIDDEN
        );
    }
    let m = app
        .state
        .checkout
        .merchants
        .find(&creds.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.status, MerchantStatus::Verified);
    assert_eq!(m.name, "Guarded Shop");
}

#[tokio::test]
async fn an_operator_sees_a_disabled_endpoint_and_why_enables_it_and_retries_an_event() {
    let app = spawn_app().await;
    let creds = hooked(&app, "Gone Shop").await;
    let id = creds.client_id.as_str();
    app.state
        .checkout
        .merchants
        .set_status(id, MerchantStatus::Verified, None, &Actor::Cli, unix_now())
        .await
        .unwrap();
    // As the delivery worker leaves an endpoint that answered 410.
    {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
        sqlx::query(
            "UPDATE merchants SET webhook_disabled_at = $1, webhook_disabled_reason = $2
             WHERE client_id = $3",
        )
        .bind(unix_now())
        .bind("the endpoint answered 410 Gone")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let summary = app.state.dashboard.summary(unix_now()).await.unwrap();
    assert_eq!(summary.disabled_endpoints.len(), 1);
    assert_eq!(summary.disabled_endpoints[0].merchant_name, "Gone Shop");

    let (operator, operator_id) = console_as(&app, Role::Operator).await;
    for path in ["/admin", "/admin/webhooks"] {
        let html = operator.html(path).await;
        assert!(html.contains("the endpoint answered 410 Gone"), "{path}");
        assert!(html.contains(&format!("/admin/webhooks/{id}")), "{path}");
    }
    let page = format!("/admin/webhooks/{id}");
    let html = operator.html(&page).await;
    assert!(element_text(&html, "endpoint-state")
        .unwrap()
        .starts_with("disabled since"));
    let event_id = app.state.webhooks.overview(id, 5).await.unwrap().events[0]
        .id
        .clone();
    assert!(html.contains(&event_id));

    let enabled = operator
        .admin_post_form(&format!("{page}/enable"), &[])
        .await;
    assert_eq!(see_other_to(&enabled), page);
    assert!(app
        .state
        .dashboard
        .summary(unix_now())
        .await
        .unwrap()
        .disabled_endpoints
        .is_empty());
    let entries = audit_of(&app, id, "webhook.endpoint_enabled").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, format!("admin:{operator_id}"));

    // Enabling woke the delivery worker, which may hold the event for a moment (409).
    let mut tries = 0;
    let retried = loop {
        let r = operator
            .admin_post_form(
                &format!("/admin/webhooks/events/{event_id}/retry"),
                &[("client_id", id)],
            )
            .await;
        tries += 1;
        if r.status() != StatusCode::CONFLICT || tries == 100 {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(see_other_to(&retried), page);
    assert_eq!(
        audit_of(&app, &event_id, "webhook.event_retried")
            .await
            .len(),
        1
    );
    assert!(!app
        .state
        .webhooks
        .attempts(&event_id)
        .await
        .unwrap()
        .is_empty());
    let unknown = operator
        .admin_post_form("/admin/webhooks/events/evt_nothing/retry", &[])
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
