//! The audit log: every state-changing CLI command (and a sign-in lock-out) writes exactly one
//! entry, without secrets; concurrent changes make one unbroken chain; and `saifu audit
//! verify` names the first entry an edit, a deletion, a reseal or a rewritten history broke.

use reqwest::StatusCode;
use saifu::audit::chain::seal;
use saifu::audit::{Actor, Verdict};
use saifu::store::audit::StoredAuditEntry;
use serde_json::Value;

use crate::helpers::{
    merchant, new_merchant, spawn_app, spawn_app_with, user_id_by_email, wrong_origin, TestApp,
    TestPasskey,
};

/// The whole log, in order, read back through the store.
async fn entries(app: &TestApp) -> Vec<StoredAuditEntry> {
    app.state.store.audit_chain_page(0, 10_000).await.unwrap()
}

/// Runs the CLI on the app's database, off the runtime's thread (the server in this process
/// must keep running meanwhile: a transaction of its own left waiting would hold SQLite's
/// write lock).
async fn run(app: &TestApp, args: &[&str]) -> std::process::Output {
    let mut cmd = app.cli();
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// Runs the CLI; returns its stdout, having checked it succeeded.
async fn saifu(app: &TestApp, args: &[&str]) -> String {
    let out = run(app, args).await;
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the CLI, expecting it to fail; returns (stdout, stderr).
async fn saifu_fails(app: &TestApp, args: &[&str]) -> (String, String) {
    let out = run(app, args).await;
    assert!(!out.status.success(), "{args:?} must fail");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Changes the database directly, as someone with access to it (not the wallet) would.
async fn tamper(app: &TestApp, sql: &str, binds: &[&str]) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let mut query = sqlx::query(sql);
    for b in binds {
        query = query.bind(*b);
    }
    query.execute(&pool).await.unwrap();
    pool.close().await;
}

/// Checks that `after` is `before` and exactly one entry more, by the CLI, with `action` on
/// `target`, whose row holds none of `secrets`.
fn one_entry<'a>(
    before: &'a [StoredAuditEntry],
    after: &'a [StoredAuditEntry],
    action: &str,
    target: &str,
    secrets: &[&str],
) -> &'a StoredAuditEntry {
    assert_eq!(after.len(), before.len() + 1, "one new entry for {action}");
    let entry = after.last().unwrap();
    assert_eq!(entry.sequence, after.len() as i64);
    assert_eq!(
        (
            entry.actor.as_str(),
            entry.action.as_str(),
            entry.target.as_str()
        ),
        ("cli", action, target)
    );
    let row = format!("{entry:?}");
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(!row.contains(secret), "{action} recorded a secret: {row}");
    }
    entry
}

#[tokio::test]
async fn each_state_changing_cli_command_writes_one_entry_without_secrets() {
    let app = spawn_app().await;
    let before = entries(&app).await;
    assert!(before.is_empty(), "starting the wallet records nothing");

    let created: Value = serde_json::from_str(
        &saifu(
            &app,
            &[
                "merchant",
                "create",
                "--name",
                "Audit Shop",
                "--redirect-uri",
                "https://audit.example/cb",
                "--json",
            ],
        )
        .await,
    )
    .unwrap();
    let id = created["client_id"].as_str().unwrap();
    let first_secrets = [
        created["client_secret"].as_str().unwrap().to_string(),
        created["webhook_secret"].as_str().unwrap().to_string(),
    ];
    let secrets: Vec<&str> = first_secrets.iter().map(String::as_str).collect();
    let after = entries(&app).await;
    let entry = one_entry(&before, &after, "merchant.created", id, &secrets);
    let details: Value = serde_json::from_str(&entry.details).unwrap();
    assert_eq!(details["name"], "Audit Shop");
    assert_eq!(details["status"], "pending");

    let steps: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec![
                "merchant",
                "set-status",
                "--client-id",
                &id,
                "--status",
                "verified",
            ],
            "merchant.status_changed",
            r#"{"previous_status":"pending","reason":null,"status":"verified"}"#,
        ),
        (
            vec![
                "merchant",
                "set-webhook-url",
                "--client-id",
                &id,
                "--url",
                "https://audit.example/hooks?token=s3cr3t-in-url",
            ],
            "merchant.webhook_url_set",
            r#"{"url":"https://audit.example/hooks"}"#,
        ),
        (
            vec!["merchant", "set-webhook-url", "--client-id", &id, "--none"],
            "merchant.webhook_url_set",
            r#"{"url":null}"#,
        ),
        (
            vec!["webhooks", "enable", "--merchant", &id],
            "webhook.endpoint_enabled",
            "{}",
        ),
    ];
    for (args, action, details) in steps {
        let before = entries(&app).await;
        saifu(&app, &args).await;
        let after = entries(&app).await;
        let entry = one_entry(&before, &after, action, id, &secrets);
        assert_eq!(entry.details, details, "{action}");
    }

    // The points programme and a campaign of the merchant's.
    let before = entries(&app).await;
    saifu(
        &app,
        &["points", "set", "--earn-jpy", "200", "--max-redeem", "500"],
    )
    .await;
    let after = entries(&app).await;
    let entry = one_entry(
        &before,
        &after,
        "points.programme_changed",
        "programme",
        &secrets,
    );
    assert_eq!(
        entry.details,
        r#"{"earn_jpy":200,"earn_usd":100,"expiry_months":12,"expiry_rolling":false,"max_redeem_percent":100,"max_redeem_points":500,"min_redeem_points":0,"value_jpy":1,"value_usd":1}"#
    );
    let before = entries(&app).await;
    let added: Value = serde_json::from_str(
        &saifu(
            &app,
            &[
                "points",
                "campaign",
                "add",
                "--client-id",
                id,
                "--multiplier-percent",
                "200",
                "--starts",
                "2099-01-01",
                "--ends",
                "2099-02-01",
                "--json",
            ],
        )
        .await,
    )
    .unwrap();
    let campaign = added["id"].as_str().unwrap();
    let after = entries(&app).await;
    let entry = one_entry(&before, &after, "points.campaign_added", id, &secrets);
    assert_eq!(
        entry.details,
        format!(
            r#"{{"campaign_id":"{campaign}","ends_at":4073587200,"multiplier_percent":200,"starts_at":4070908800}}"#
        )
    );
    let before = entries(&app).await;
    saifu(&app, &["points", "campaign", "end", "--id", campaign]).await;
    let after = entries(&app).await;
    let entry = one_entry(&before, &after, "points.campaign_ended", campaign, &secrets);
    assert_eq!(entry.details, "{}");

    // Commands that print a secret: the secret is not in the entry.
    let before = entries(&app).await;
    let rotated: Value = serde_json::from_str(
        &saifu(
            &app,
            &["merchant", "rotate-secret", "--client-id", id, "--json"],
        )
        .await,
    )
    .unwrap();
    let secret = rotated["client_secret"].as_str().unwrap();
    let after = entries(&app).await;
    let entry = one_entry(&before, &after, "merchant.secret_rotated", id, &[secret]);
    assert_eq!(entry.details, "{}");

    let before = entries(&app).await;
    let rotated: Value = serde_json::from_str(
        &saifu(
            &app,
            &[
                "merchant",
                "rotate-webhook-secret",
                "--client-id",
                id,
                "--overlap-secs",
                "60",
                "--json",
            ],
        )
        .await,
    )
    .unwrap();
    let secret = rotated["webhook_secret"].as_str().unwrap();
    let after = entries(&app).await;
    let entry = one_entry(
        &before,
        &after,
        "merchant.webhook_secret_rotated",
        id,
        &[secret],
    );
    assert_eq!(entry.details, r#"{"overlap_secs":60}"#);

    // Keys: the grant-signing key, and the key-encryption keyring.
    let before = entries(&app).await;
    let printed = saifu(&app, &["keys", "rotate-signing"]).await;
    let after = entries(&app).await;
    let kid = after.last().unwrap().target.clone();
    assert!(printed.contains(&kid), "{printed}");
    one_entry(&before, &after, "signing_key.rotated", &kid, &[]);
    for (args, action, target) in [
        (vec!["keys", "rotate"], "kek.rotated", "v2"),
        (vec!["keys", "rewrap"], "kek.rewrapped", "v2"),
        (
            vec!["keys", "retire", "--version", "1"],
            "kek.retired",
            "v1",
        ),
    ] {
        let before = entries(&app).await;
        saifu(&app, &args).await;
        let after = entries(&app).await;
        let kek_file = std::fs::read_to_string(app.data_dir().join("dev-kek.key")).unwrap();
        let keys: Vec<&str> = kek_file
            .split(|c: char| c.is_whitespace() || c == ',' || c == ':')
            .filter(|s| s.len() > 20)
            .collect();
        one_entry(&before, &after, action, target, &keys);
    }

    // A command that changes nothing records nothing.
    let before = entries(&app).await;
    saifu_fails(
        &app,
        &[
            "merchant",
            "set-status",
            "--client-id",
            "mch_nobody",
            "--status",
            "verified",
        ],
    )
    .await;
    saifu(&app, &["merchant", "list"]).await;
    assert_eq!(entries(&app).await, before);

    // And the chain those commands made is whole.
    let verified: Value =
        serde_json::from_str(&saifu(&app, &["audit", "verify", "--json"]).await).unwrap();
    assert_eq!(verified["ok"], true);
    assert_eq!(verified["head"]["sequence"], before.len() as i64);
}

#[tokio::test]
async fn a_sign_in_lock_out_is_recorded_once_by_the_system() {
    let app = spawn_app_with(|c| c.signin_failures_per_account = 2).await;
    let victim = app.browser();
    let mut key = TestPasskey::new();
    victim
        .sign_up(&mut key, &app.origin(), "Mio", "mio@example.com")
        .await;
    victim.post_form("/signout", &[]).await;
    for _ in 0..3 {
        let failed = victim.sign_in(&mut key, &wrong_origin(&app)).await;
        assert_ne!(failed.status(), StatusCode::OK);
    }
    let user = user_id_by_email(&app, "mio@example.com").await;
    let log = entries(&app).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (log[0].actor.as_str(), log[0].action.as_str()),
        ("system", "shopper.signin_locked")
    );
    assert_eq!(log[0].target, format!("shopper:{user}"));
    assert_eq!(log[0].details, r#"{"failures":2,"window_secs":900}"#);
}

#[tokio::test]
async fn fifty_concurrent_audited_changes_make_one_unbroken_chain() {
    let app = spawn_app().await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let merchants = app.state.checkout.merchants.clone();
            tokio::spawn(async move {
                merchants
                    .create(
                        new_merchant(&format!("Shop {i}"), false),
                        saifu::clock::unix_now(),
                        &Actor::Cli,
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let log = entries(&app).await;
    assert_eq!(
        log.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        (1..=50).collect::<Vec<_>>()
    );
    let Verdict::Whole { head } = app.state.audit.verify(None).await.unwrap() else {
        panic!("the chain is broken");
    };
    assert_eq!(head.sequence, 50);
}

#[tokio::test]
async fn concurrent_cli_processes_make_one_unbroken_chain() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Busy Shop", false).await;
    let children: Vec<_> = (0..8)
        .map(|i| {
            // A campaign is recorded each time: one day each, so none overlaps another
            // (setting a status it already has would record nothing).
            let starts = format!("2099-01-{:02}", i + 1);
            let ends = format!("2099-01-{:02}", i + 2);
            app.cli()
                .args([
                    "points",
                    "campaign",
                    "add",
                    "--client-id",
                    &creds.client_id,
                    "--multiplier-percent",
                    "150",
                    "--starts",
                    &starts,
                    "--ends",
                    &ends,
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // The server's own process appends at the same time.
    for _ in 0..8 {
        app.state
            .checkout
            .programmes
            .change(
                &saifu::points::ProgrammeRules::default(),
                &Actor::Cli,
                saifu::clock::unix_now(),
            )
            .await
            .unwrap();
    }
    let waited = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|mut child| child.wait().unwrap().success())
            .collect::<Vec<_>>()
    });
    assert_eq!(waited.await.unwrap(), [true; 8]);
    // The merchant, 8 campaigns and 8 programme versions.
    let log = entries(&app).await;
    assert_eq!(log.len(), 17);
    assert_eq!(
        app.state
            .checkout
            .programmes
            .campaigns(Some(&creds.client_id))
            .await
            .unwrap()
            .len(),
        8
    );
    let verified: Value =
        serde_json::from_str(&saifu(&app, &["audit", "verify", "--json"]).await).unwrap();
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(verified["head"]["sequence"], 17);
}

/// An app whose log holds `n` entries: a merchant's creation, then its status changes.
async fn app_with_entries(n: usize) -> (TestApp, String) {
    let app = spawn_app().await;
    let creds = merchant(&app, "Chain Shop", false).await;
    for i in 1..n {
        let status = [
            saifu::merchants::MerchantStatus::Verified,
            saifu::merchants::MerchantStatus::Suspended,
        ][i % 2];
        app.state
            .checkout
            .merchants
            .set_status(
                &creds.client_id,
                status,
                Some(saifu::merchants::StatusReason::parse("the chain test").unwrap()),
                &Actor::Cli,
                saifu::clock::unix_now(),
            )
            .await
            .unwrap();
    }
    assert_eq!(entries(&app).await.len(), n);
    (app, creds.client_id)
}

/// `saifu audit verify --json` fails; returns its (sequence, reason) and the stderr message.
async fn broken(app: &TestApp, extra: &[&str]) -> (i64, String, String) {
    let mut args = vec!["audit", "verify", "--json"];
    args.extend_from_slice(extra);
    let (stdout, stderr) = saifu_fails(app, &args).await;
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["ok"], false);
    (
        result["sequence"].as_i64().unwrap(),
        result["reason"].as_str().unwrap().to_string(),
        stderr,
    )
}

#[tokio::test]
async fn an_edited_entry_fails_verify_naming_its_sequence() {
    let (app, _) = app_with_entries(5).await;
    let out = saifu(&app, &["audit", "verify"]).await;
    assert!(out.contains("intact: 5 entries"), "{out}");
    tamper(
        &app,
        r#"UPDATE audit_log SET details = '{"status":"pending"}' WHERE sequence = 3"#,
        &[],
    )
    .await;
    let (sequence, reason, stderr) = broken(&app, &[]).await;
    assert_eq!((sequence, reason.as_str()), (3, "hash_mismatch"));
    let (_, text_err) = saifu_fails(&app, &["audit", "verify"]).await;
    assert!(
        text_err.contains("entry 3") && text_err.contains("hash mismatch"),
        "{text_err}"
    );
    assert!(stderr.contains("entry 3"), "{stderr}");
}

#[tokio::test]
async fn a_deleted_entry_fails_verify_naming_the_gap() {
    let (app, _) = app_with_entries(5).await;
    tamper(&app, "DELETE FROM audit_log WHERE sequence = 3", &[]).await;
    let (sequence, reason, stderr) = broken(&app, &[]).await;
    assert_eq!((sequence, reason.as_str()), (3, "sequence_gap"));
    assert!(
        stderr.contains("entry 3 is missing") && stderr.contains("gap in sequence"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_resealed_entry_fails_verify_at_the_next_entry() {
    let (app, _) = app_with_entries(5).await;
    let mut third = entries(&app).await.remove(2);
    third.target = "mch_someone_else".into();
    third.hash = seal(&third.link());
    tamper(
        &app,
        "UPDATE audit_log SET target = $1, hash = $2 WHERE sequence = 3",
        &[&third.target, &third.hash],
    )
    .await;
    let (sequence, reason, stderr) = broken(&app, &[]).await;
    assert_eq!((sequence, reason.as_str()), (4, "prev_hash_mismatch"));
    assert!(stderr.contains("entry 4"), "{stderr}");
}

#[tokio::test]
async fn a_checkpoint_detects_a_rewritten_or_cut_history() {
    let (app, _) = app_with_entries(5).await;
    let head: Value =
        serde_json::from_str(&saifu(&app, &["audit", "head", "--json"]).await).unwrap();
    assert_eq!(head["sequence"], 5);
    let checkpoint = format!("5:{}", head["hash"].as_str().unwrap());
    assert_eq!(saifu(&app, &["audit", "head"]).await.trim(), checkpoint);
    saifu(&app, &["audit", "verify", "--expect-head", &checkpoint]).await;

    // Someone rewrites entry 2 and reseals every entry after it: the chain alone is whole
    // again, but the checkpoint's hash is gone.
    let mut log = entries(&app).await;
    log[1].details = r#"{"status":"pending"}"#.into();
    for i in 1..log.len() {
        log[i].prev_hash = log[i - 1].hash.clone();
        log[i].hash = seal(&log[i].link());
        let sql = format!(
            "UPDATE audit_log SET details = $1, prev_hash = $2, hash = $3 WHERE sequence = {}",
            log[i].sequence
        );
        tamper(
            &app,
            &sql,
            &[&log[i].details, &log[i].prev_hash, &log[i].hash],
        )
        .await;
    }
    saifu(&app, &["audit", "verify"]).await;
    let (sequence, reason, _) = broken(&app, &["--expect-head", &checkpoint]).await;
    assert_eq!((sequence, reason.as_str()), (5, "checkpoint_mismatch"));

    // Cutting the tail leaves a whole but shorter chain: the checkpoint notices that too.
    tamper(&app, "DELETE FROM audit_log WHERE sequence >= 4", &[]).await;
    saifu(&app, &["audit", "verify"]).await;
    let (sequence, reason, _) = broken(&app, &["--expect-head", &checkpoint]).await;
    assert_eq!((sequence, reason.as_str()), (5, "checkpoint_missing"));
}

#[tokio::test]
async fn audit_list_filters_by_action_and_target() {
    let (app, id) = app_with_entries(4).await;
    let other = merchant(&app, "Other Shop", true).await;
    let listed: Value = serde_json::from_str(
        &saifu(
            &app,
            &[
                "audit",
                "list",
                "--action",
                "merchant.status_changed",
                "--target",
                &id,
                "--json",
            ],
        )
        .await,
    )
    .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|e| e["target"] == id.as_str()));
    let created: Value = serde_json::from_str(
        &saifu(
            &app,
            &[
                "audit",
                "list",
                "--action",
                "merchant.created",
                "--actor",
                "cli",
                "--json",
            ],
        )
        .await,
    )
    .unwrap();
    let targets: Vec<&str> = created
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, [id.as_str(), other.client_id.as_str()]);
}
