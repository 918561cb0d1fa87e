//! The issuer's merchant and webhook work: vetting status changes with their reason (one
//! `merchant.trust_mark_changed` event and one audit entry per real change, nothing for a
//! repeat), what a suspension blocks, edits of the redirect URIs pushed requests may use,
//! search, the dashboard's figures, and the console pages that drive them.

use saifu::audit::Actor;
use saifu::clock::unix_now;
use saifu::merchants::{MerchantEdit, MerchantStatus, NewMerchant, StatusReason};
use saifu::store::audit::{AuditFilter, StoredAuditEntry};
use saifu_sdk::checkout::MerchantCredentials;
use saifu_sdk::{Error as SdkError, MerchantConfig, SaifuClient};
use serde_json::Value;
use url::Url;

use crate::helpers::{
    create_merchant, frames, grant, jpy, merchant, new_merchant, sdk, shopper, spawn_app, TestApp,
    CALLBACK,
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
            &AuditFilter {
                action: Some(action.into()),
                target: Some(client_id.into()),
                ..AuditFilter::default()
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
