//! The points programme and merchants' campaigns in the console and the CLI: a change makes a
//! new version (audited, kept in the history) that applies to new payments only; a refused
//! field is shown next to it and writes nothing; campaigns show in the consent's earn preview
//! only while active, never overlap, and end at once; only owners and operators change any of
//! it.

use reqwest::StatusCode;
use saifu::admin::Role;
use saifu::points::{CampaignState, ProgrammeForm};
use saifu::store::audit::StoredAuditEntry;
use saifu_sdk::checkout::{Amount, PaymentDetails};
use saifu_sdk::SaifuClient;
use serde_json::Value;
use time::macros::format_description;

use crate::helpers::{merchant, open_consent, sdk, shopper, signed_in_admin, spawn_app, TestApp};
use crate::points::grant_with_points;

async fn entries(app: &TestApp) -> Vec<StoredAuditEntry> {
    app.state.store.audit_chain_page(0, 10_000).await.unwrap()
}

/// The programme form filled in with the version in force, with `changes` made.
async fn programme_form(app: &TestApp, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let current = app.state.checkout.programmes.current().await.unwrap();
    let f = ProgrammeForm::from_rules(&current.rules);
    let mut fields: Vec<(String, String)> = [
        ("earn_jpy", f.earn_jpy),
        ("earn_usd", f.earn_usd),
        ("value_jpy", f.value_jpy),
        ("value_usd", f.value_usd),
        ("expiry_months", f.expiry_months),
        ("expiry", f.expiry),
        ("min_redeem_points", f.min_redeem_points),
        ("max_redeem_points", f.max_redeem_points),
        ("max_redeem_percent", f.max_redeem_percent),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (name, value) in changes {
        let field = fields.iter_mut().find(|(k, _)| k == name).unwrap();
        field.1 = value.to_string();
    }
    fields
}

fn borrowed(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// `unix` as a `datetime-local` input sends it (UTC, to the minute).
fn local(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap()
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]"))
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn an_operator_makes_a_new_version_audited_and_kept_in_the_history() {
    let app = spawn_app().await;
    let operator = signed_in_admin(&app, Role::Operator).await;
    let page = operator.html("/admin/points").await;
    assert!(page.contains("In force: version 1"), "{page}");
    assert!(page.contains(
        "A change applies to new payments only; payments already approved keep the version they used."
    ));
    assert!(page.contains(r#"id="programme-form""#));
    assert!(
        page.contains(r#"href="/admin/points""#),
        "the nav names Points"
    );

    let fields = programme_form(
        &app,
        &[
            ("value_jpy", "2"),
            ("expiry", "rolling"),
            ("max_redeem_points", "500"),
        ],
    )
    .await;
    let saved = operator
        .admin_post_form("/admin/points", &borrowed(&fields))
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/admin/points?saved=1");

    let current = app.state.checkout.programmes.current().await.unwrap();
    assert_eq!(current.version, 2);
    assert_eq!(current.rules.rates.value_jpy, 2);
    assert!(current.rules.expiry.rolling);
    assert_eq!(current.rules.redemption.max_points, Some(500));
    assert!(current.created_by.starts_with("admin:"));

    let last = entries(&app).await.pop().unwrap();
    assert_eq!(
        (
            last.actor.as_str(),
            last.action.as_str(),
            last.target.as_str()
        ),
        (
            current.created_by.as_str(),
            "points.programme_changed",
            "programme"
        )
    );
    let details: Value = serde_json::from_str(&last.details).unwrap();
    assert_eq!(details["value_jpy"], 2);
    assert_eq!(details["expiry_rolling"], true);
    assert_eq!(details["max_redeem_points"], 500);

    let page = operator.html("/admin/points?saved=1").await;
    assert!(page.contains("Saved: version 2 is in force."), "{page}");
    assert!(page.contains("In force: version 2"));
    assert!(page.contains(r#"id="p-expiry-rolling" value="rolling" checked"#));
    let history = &page[page.find(r#"id="programme-history""#).unwrap()..];
    let v2 = history
        .find(r#"data-label="Version">2<"#)
        .expect("version 2 in the history");
    let v1 = history
        .find(r#"data-label="Version">1<"#)
        .expect("version 1 in the history");
    assert!(v2 < v1, "newest first");
    assert!(history.contains("the settings, at the first start"));
    assert!(history.contains("Value of a point: ¥2 or $0.01"));
    assert!(history.contains("Value of a point: ¥1 or $0.01"));
}

#[tokio::test]
async fn a_refused_field_is_shown_next_to_it_and_nothing_is_written() {
    let app = spawn_app().await;
    let operator = signed_in_admin(&app, Role::Operator).await;
    let before = entries(&app).await;
    let fields = programme_form(&app, &[("expiry_months", "0"), ("value_jpy", "3")]).await;
    let refused = operator
        .admin_post_form("/admin/points", &borrowed(&fields))
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains(r#"<p class="field-error" id="p-expiry_months-error" role="alert" data-code="invalid_points_programme">Type a whole number of months from 1 to 120.</p>"#),
        "{page}"
    );
    assert!(page.contains(r#"value="0" aria-describedby="p-expiry_months-hint p-expiry_months-error" aria-invalid="true""#));
    assert!(
        page.contains(
            r#"id="p-value_jpy" name="value_jpy" type="text" inputmode="numeric" autocomplete="off"
               value="3""#
        ),
        "what was typed is kept"
    );
    assert_eq!(
        app.state
            .checkout
            .programmes
            .current()
            .await
            .unwrap()
            .version,
        1
    );
    assert_eq!(entries(&app).await, before);

    // A maximum below the minimum is refused on the maximum.
    let fields = programme_form(
        &app,
        &[("min_redeem_points", "100"), ("max_redeem_points", "50")],
    )
    .await;
    let refused = operator
        .admin_post_form("/admin/points", &borrowed(&fields))
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains(r#"id="p-max_redeem_points-error" role="alert" data-code="invalid_points_programme">The maximum must not be below the minimum."#));
    assert_eq!(entries(&app).await, before);
}

#[tokio::test]
async fn support_reads_the_points_pages_without_forms_and_its_changes_are_403() {
    let app = spawn_app().await;
    let shop = merchant(&app, "Frame Shop", true).await;
    let now = saifu::clock::unix_now();
    let campaign = app
        .state
        .checkout
        .programmes
        .add_campaign(
            &saifu::points::NewCampaign {
                client_id: shop.client_id.clone(),
                multiplier_percent: 200,
                starts_at: now - 60,
                ends_at: now + 86_400,
            },
            &saifu::audit::Actor::Cli,
            now,
        )
        .await
        .unwrap();
    let support = signed_in_admin(&app, Role::Support).await;
    let before = entries(&app).await;
    let page = support.html("/admin/points").await;
    assert!(page.contains("In force: version 1"));
    assert!(!page.contains("<form method=\"post\" action=\"/admin/points\""));
    let list = support.get_html("/admin/points/campaigns").await;
    assert_eq!(list.status(), StatusCode::OK);
    let list = list.text().await.unwrap();
    assert!(list.contains("200 % (2× points)"), "{list}");
    assert!(!list.contains("End now"));
    assert!(!list.contains(r#"id="campaign-form""#));

    let fields = programme_form(&app, &[("value_jpy", "2")]).await;
    for (path, fields) in [
        ("/admin/points".to_string(), borrowed(&fields)),
        (
            "/admin/points/campaigns".to_string(),
            vec![
                ("client_id", shop.client_id.as_str()),
                ("multiplier_percent", "150"),
                ("ends", "2099-01-01T00:00"),
            ],
        ),
        (
            format!("/admin/points/campaigns/{}/end", campaign.id),
            vec![],
        ),
    ] {
        let r = support.admin_post_form(&path, &fields).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {path}");
        assert!(r.text().await.unwrap().contains("role_forbidden"));
    }
    assert_eq!(entries(&app).await, before, "nothing written");
    assert_eq!(
        app.state
            .checkout
            .programmes
            .current()
            .await
            .unwrap()
            .version,
        1
    );
}

fn jpy(amount: i64) -> Amount {
    Amount {
        currency: "JPY".into(),
        amount: amount.to_string(),
    }
}

/// What the card network was asked to authorize for `payment_id`, and the programme version
/// the payment recorded.
async fn charged(app: &TestApp, payment_id: &str) -> (i64, Option<i64>) {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let row = sqlx::query(
        "SELECT s.amount_minor, p.points_programme_version FROM payments p
         JOIN sim_authorizations s ON s.reference = p.authorization_ref WHERE p.id = $1",
    )
    .bind(payment_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let result = (row.get("amount_minor"), row.get("points_programme_version"));
    pool.close().await;
    result
}

#[tokio::test]
async fn a_change_applies_to_new_payments_only() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client: SaifuClient = sdk(&app, &creds).await;
    let mut s = shopper(&app, "programme-versions@example.com").await;
    let g = grant_with_points(&client, &mut s, 50_000, 0).await;
    let earned = client.pay(&g, &jpy(50_000), true, None).await.unwrap();
    assert_eq!(earned.points_earned, 500);

    // Approved under version 1 (a point is worth ¥1), redeemed after the change to ¥2.
    let approved = grant_with_points(&client, &mut s, 1_000, 100).await;
    let operator = signed_in_admin(&app, Role::Operator).await;
    let fields = programme_form(&app, &[("value_jpy", "2")]).await;
    let saved = operator
        .admin_post_form("/admin/points", &borrowed(&fields))
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.state
            .checkout
            .programmes
            .current()
            .await
            .unwrap()
            .version,
        2
    );

    let old = client
        .pay(&approved, &jpy(1_000), true, None)
        .await
        .unwrap();
    assert_eq!((old.points_redeemed, old.points_earned), (100, 9));
    assert_eq!(
        charged(&app, &old.id).await,
        (900, Some(1)),
        "the card pays ¥1,000 less 100 points at version 1's ¥1"
    );

    // A checkout approved after the change uses version 2.
    let g = grant_with_points(&client, &mut s, 1_000, 100).await;
    let new = client.pay(&g, &jpy(1_000), true, None).await.unwrap();
    assert_eq!((new.points_redeemed, new.points_earned), (100, 8));
    assert_eq!(
        charged(&app, &new.id).await,
        (800, Some(2)),
        "the card pays ¥1,000 less 100 points at version 2's ¥2"
    );
}

/// The consent page's earn preview for a ¥1,000 checkout (a shopper without points).
async fn preview(client: &SaifuClient, browser: &crate::helpers::Browser) -> String {
    let details = PaymentDetails::new(
        "JPY",
        "1000",
        &format!("P-{}", uuid::Uuid::new_v4().simple()),
    );
    let (url, _) = client.start_checkout(&details).await.unwrap();
    let consent = open_consent(browser, &url).await;
    let page = browser.html(&consent).await;
    let at = page.find("You earn about ").expect("an earn preview");
    page[at..at + page[at..].find('\n').unwrap_or(60)].to_string()
}

#[tokio::test]
async fn a_campaign_shows_in_the_earn_preview_only_while_active_and_ends_now() {
    let app = spawn_app().await;
    let creds = merchant(&app, "Campaign Shop", true).await;
    let client = sdk(&app, &creds).await;
    let s = shopper(&app, "campaign-console@example.com").await;
    let operator = signed_in_admin(&app, Role::Operator).await;
    let now = saifu::clock::unix_now();
    let base = "You earn about 10 points on this payment.";
    assert!(preview(&client, &s.browser).await.starts_with(base));

    // A campaign that starts later is scheduled, and not in the preview.
    let later = operator
        .admin_post_form(
            "/admin/points/campaigns",
            &[
                ("client_id", creds.client_id.as_str()),
                ("multiplier_percent", "500"),
                ("starts", &local(now + 2 * 86_400)),
                ("ends", &local(now + 3 * 86_400)),
            ],
        )
        .await;
    assert_eq!(later.status(), StatusCode::SEE_OTHER);
    assert!(location(&later).ends_with("&added=1"));
    assert!(preview(&client, &s.browser).await.starts_with(base));

    // One in force from a minute ago: tripled.
    let added = operator
        .admin_post_form(
            "/admin/points/campaigns",
            &[
                ("client_id", creds.client_id.as_str()),
                ("multiplier_percent", "300"),
                ("starts", &local(now - 120)),
                ("ends", &local(now + 86_400)),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let listed = operator.html(&location(&added)).await;
    assert!(listed.contains("Campaign added."));
    assert!(
        listed.contains(r#"data-state="active""#) && listed.contains(r#"data-state="scheduled""#),
        "{listed}"
    );
    assert!(preview(&client, &s.browser)
        .await
        .starts_with("You earn about 30 points on this payment."));
    let campaigns = app
        .state
        .checkout
        .programmes
        .campaigns(Some(&creds.client_id))
        .await
        .unwrap();
    let active = campaigns
        .iter()
        .find(|c| c.state(saifu::clock::unix_now()) == CampaignState::Active)
        .unwrap();
    let last = entries(&app).await.pop().unwrap();
    assert_eq!(
        (
            last.actor.starts_with("admin:"),
            last.action.as_str(),
            last.target.as_str()
        ),
        (true, "points.campaign_added", creds.client_id.as_str())
    );
    assert_eq!(
        serde_json::from_str::<Value>(&last.details).unwrap()["campaign_id"],
        active.id.as_str()
    );

    // Another over the same days is refused, with the dates kept in the form.
    let before = entries(&app).await;
    let overlap = operator
        .admin_post_form(
            "/admin/points/campaigns",
            &[
                ("client_id", creds.client_id.as_str()),
                ("multiplier_percent", "200"),
                ("starts", &local(now + 3_600)),
                ("ends", &local(now + 7_200)),
            ],
        )
        .await;
    assert_eq!(overlap.status(), StatusCode::CONFLICT);
    let page = overlap.text().await.unwrap();
    assert!(
        page.contains(
            r#"data-code="campaign_overlaps">This merchant already has a campaign in that time."#
        ),
        "{page}"
    );
    assert!(page.contains(&format!(r#"value="{}""#, local(now + 7_200))));
    assert_eq!(entries(&app).await, before);

    // A refused field is shown next to it.
    let bad = operator
        .admin_post_form(
            "/admin/points/campaigns",
            &[
                ("client_id", creds.client_id.as_str()),
                ("multiplier_percent", "100"),
                ("ends", &local(now + 7_200)),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains(
        r#"<p class="field-error" id="c-multiplier_percent-error" role="alert">Type the multiplier"#
    ));

    // End now: audited, and the preview is back to the base points.
    let ended = operator
        .admin_post_form(&format!("/admin/points/campaigns/{}/end", active.id), &[])
        .await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    assert!(location(&ended).ends_with("&ended=1"));
    let last = entries(&app).await.pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.target.as_str()),
        ("points.campaign_ended", active.id.as_str())
    );
    assert!(last.actor.starts_with("admin:"));
    assert!(preview(&client, &s.browser).await.starts_with(base));
    let listed = operator.html(&location(&ended)).await;
    assert!(listed.contains("Campaign ended."));
    assert!(listed.contains(r#"data-state="ended""#));

    // Ending it again is refused with its code.
    let again = operator
        .admin_post_form(&format!("/admin/points/campaigns/{}/end", active.id), &[])
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains(r#"data-code="campaign_ended""#));
}

/// Runs the CLI on the app's database off the runtime's thread.
async fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    let mut cmd = app.cli();
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

async fn cli_ok(app: &TestApp, args: &[&str]) -> String {
    let out = cli(app, args).await;
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn cli_refused(app: &TestApp, args: &[&str]) -> String {
    let out = cli(app, args).await;
    assert!(!out.status.success(), "{args:?} must fail");
    String::from_utf8(out.stderr).unwrap()
}

#[tokio::test]
async fn the_cli_shows_and_sets_the_programme_and_manages_campaigns() {
    let app = spawn_app().await;
    let shown: Value =
        serde_json::from_str(&cli_ok(&app, &["points", "show", "--json"]).await).unwrap();
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["value_jpy"], "1");
    assert_eq!(shown["max_redeem_points"], Value::Null);

    let set: Value = serde_json::from_str(
        &cli_ok(
            &app,
            &[
                "points",
                "set",
                "--value-jpy",
                "2",
                "--max-redeem",
                "300",
                "--expiry",
                "rolling",
                "--json",
            ],
        )
        .await,
    )
    .unwrap();
    assert_eq!(set["version"], 2);
    assert_eq!(set["created_by"], "cli");
    assert_eq!(
        (set["value_jpy"].as_str(), set["max_redeem_points"].as_i64()),
        (Some("2"), Some(300))
    );
    assert_eq!(set["expiry"], "rolling");
    assert_eq!(
        set["earn_jpy"], shown["earn_jpy"],
        "flags not given keep their value"
    );
    let shown: Value =
        serde_json::from_str(&cli_ok(&app, &["points", "show", "--json"]).await).unwrap();
    assert_eq!(shown, set);
    let text = cli_ok(&app, &["points", "show"]).await;
    assert!(text.starts_with("Points programme version 2"), "{text}");
    assert!(text.contains("1 point = ¥2"));
    let last = entries(&app).await.pop().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("cli", "points.programme_changed")
    );

    let set: Value = serde_json::from_str(
        &cli_ok(&app, &["points", "set", "--max-redeem", "none", "--json"]).await,
    )
    .unwrap();
    assert_eq!(
        (set["version"].as_i64(), &set["max_redeem_points"]),
        (Some(3), &Value::Null)
    );

    // Bad input: a non-zero exit naming the code and the flag, and nothing written.
    let before = entries(&app).await;
    let err = cli_refused(&app, &["points", "set", "--expiry-months", "0"]).await;
    assert!(err.contains("invalid_points_programme: --expiry-months: Type a whole number of months from 1 to 120."), "{err}");
    let err = cli_refused(&app, &["points", "set", "--max-redeem", "lots"]).await;
    assert!(
        err.contains("invalid_points_programme: --max-redeem:"),
        "{err}"
    );
    assert_eq!(entries(&app).await, before);

    // Campaigns.
    let shop = merchant(&app, "Frame Shop", true).await;
    let now = saifu::clock::unix_now();
    let added: Value = serde_json::from_str(
        &cli_ok(
            &app,
            &[
                "points",
                "campaign",
                "add",
                "--client-id",
                &shop.client_id,
                "--multiplier-percent",
                "200",
                "--starts",
                &local(now - 3_600),
                "--ends",
                &local(now + 86_400),
                "--json",
            ],
        )
        .await,
    )
    .unwrap();
    let id = added["id"].as_str().unwrap().to_string();
    assert_eq!(
        (
            added["multiplier_percent"].as_i64(),
            added["state"].as_str()
        ),
        (Some(200), Some("active"))
    );
    assert_eq!(added["merchant"], "Frame Shop");
    let err = cli_refused(
        &app,
        &[
            "points",
            "campaign",
            "add",
            "--client-id",
            &shop.client_id,
            "--multiplier-percent",
            "150",
            "--ends",
            &local(now + 7_200),
        ],
    )
    .await;
    assert!(err.contains("campaign_overlaps: "), "{err}");
    let err = cli_refused(
        &app,
        &[
            "points",
            "campaign",
            "add",
            "--client-id",
            &shop.client_id,
            "--multiplier-percent",
            "100",
            "--ends",
            "2099-01-01",
        ],
    )
    .await;
    assert!(
        err.contains("invalid_points_campaign: --multiplier-percent: "),
        "{err}"
    );
    let err = cli_refused(
        &app,
        &[
            "points",
            "campaign",
            "add",
            "--client-id",
            "mch_nobody",
            "--multiplier-percent",
            "150",
            "--ends",
            "2099-01-01",
        ],
    )
    .await;
    assert!(err.contains("merchant_not_found: "), "{err}");

    let listed: Value = serde_json::from_str(
        &cli_ok(
            &app,
            &[
                "points",
                "campaign",
                "list",
                "--client-id",
                &shop.client_id,
                "--json",
            ],
        )
        .await,
    )
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    let none: Value = serde_json::from_str(
        &cli_ok(
            &app,
            &[
                "points",
                "campaign",
                "list",
                "--client-id",
                "mch_nobody",
                "--json",
            ],
        )
        .await,
    )
    .unwrap();
    assert_eq!(none, Value::Array(vec![]));
    assert!(cli_ok(&app, &["points", "campaign", "list"])
        .await
        .contains(&format!("{id}\t{}\t200%", shop.client_id)));

    let out = cli_ok(&app, &["points", "campaign", "end", "--id", &id]).await;
    assert!(out.starts_with(&format!("{id} ended at ")), "{out}");
    let last = entries(&app).await.pop().unwrap();
    assert_eq!(
        (
            last.actor.as_str(),
            last.action.as_str(),
            last.target.as_str()
        ),
        ("cli", "points.campaign_ended", id.as_str())
    );
    let listed: Value =
        serde_json::from_str(&cli_ok(&app, &["points", "campaign", "list", "--json"]).await)
            .unwrap();
    assert_eq!(listed[0]["state"], "ended");
    let err = cli_refused(&app, &["points", "campaign", "end", "--id", &id]).await;
    assert!(err.contains("campaign_ended: "), "{err}");
    let err = cli_refused(&app, &["points", "campaign", "end", "--id", "cmp_nope"]).await;
    assert!(err.contains("campaign_not_found: "), "{err}");
}
