//! Risk limits: each limit passes a payment exactly at its cap and refuses one over, with its
//! code, on the consent page (and `access_denied` naming it at the merchant's callback), and
//! again at `POST /v1/payments` after it was lowered; the daily total starts afresh at UTC
//! midnight; concurrent approvals on two nodes never pass a cap together; changes in the
//! console are audited. `confirmation` checks a limit set while the passkey is asked refuses
//! the approval as the consent page does, `redemption` the redemption's re-check is made in the
//! transaction that consumes the grant, `first_run` the limits the settings give a new
//! database, `cli` the `saifu risk` commands.

mod cli;
mod confirmation;
mod first_run;
mod redemption;

use reqwest::StatusCode;
use saifu::admin::Role;
use saifu::audit::{Actor, Query};
use saifu::checkout::approval::{ApprovalRequest, ApprovalStart, PaymentChoice};
use saifu::clock::unix_now;
use saifu::money::{Currency, Money};
use saifu::risk::{day_start, hour_start, Limits};
use saifu::store::audit::StoredAuditEntry;
use saifu_sdk::checkout::PaymentDetails;
use saifu_sdk::{Error as SdkError, SaifuClient};
use url::Url;

use crate::helpers::{
    add_passkey, consent_browser, count_rows, grant, jpy, merchant, offered_cards, open_consent,
    param, problem_code, sdk, shopper, signed_in_admin, spawn_app, spawn_node, user_id_by_email,
    Browser, Shopper, TestApp,
};

fn yen(minor: i64) -> Option<Money> {
    Some(Money::new(Currency::Jpy, minor))
}

/// Sets the JPY limits as an operator at the command line would.
async fn set_jpy(app: &TestApp, f: impl FnOnce(&mut Limits)) {
    let mut limits = app.state.risk.limits(Currency::Jpy).await.unwrap();
    f(&mut limits);
    app.state
        .risk
        .set(&limits, &Actor::Cli, unix_now())
        .await
        .unwrap();
}

/// A checkout of `amount` yen started by `client`.
async fn checkout(client: &SaifuClient, amount: &str, order: &str) -> Url {
    let details = PaymentDetails::new("JPY", amount, order).with_item("Frames", 1, amount);
    client.start_checkout(&details).await.unwrap().0
}

/// Opens the checkout and approves it through the checkout service at `now` (the consent,
/// the ceremony and the limits all see `now`); the redirect to the merchant, or the error.
async fn approve_at(
    app: &TestApp,
    s: &mut Shopper,
    email: &str,
    url: &Url,
    now: i64,
) -> saifu::error::Result<Url> {
    // The card from the vault: the consent page (at the real time) may offer none.
    let consent = open_consent(&s.browser, url).await;
    let consent_id = consent.rsplit('/').next().unwrap().to_string();
    let id = user_id_by_email(app, email).await;
    let user = app.state.accounts.user(id).await.unwrap().unwrap();
    let card = app.state.vault.cards(id).await.unwrap().remove(0).id;
    let choice = PaymentChoice {
        card_id: card,
        points: 0,
        address_id: None,
    };
    let browser = consent_browser(app, &consent_id).await;
    let ceremony_id = uuid::Uuid::new_v4().to_string();
    let start = ApprovalStart {
        consent_id: &consent_id,
        browser: &browser,
        ceremony_id: &ceremony_id,
    };
    let options = app
        .state
        .checkout
        .begin_approval(start, &user, choice, now)
        .await?;
    let credential = s.key.assert(&s.origin, options).unwrap();
    let request = ApprovalRequest {
        consent_id,
        ceremony_id,
        choice,
        credential,
    };
    app.state
        .checkout
        .approve(&user, &browser, &request, now)
        .await
}

/// Every change of the limits in the audit log, oldest first.
async fn limit_changes(app: &TestApp) -> Vec<StoredAuditEntry> {
    let query = Query {
        action: Some("risk.limits_changed".into()),
        ..Query::default()
    };
    app.state.audit.list(&query, 100).await.unwrap()
}

fn sdk_problem(err: SdkError) -> (u16, String) {
    match err {
        SdkError::Problem { status, code, .. } => (status, code),
        other => panic!("expected a problem, got {other:?}"),
    }
}

/// Opens the checkout over HTTP: the consent page's text and the begin step's refusal.
async fn refused_on_consent(s: &Shopper, url: &Url) -> (String, String, (StatusCode, String)) {
    let consent = open_consent(&s.browser, url).await;
    let html = s.browser.html(&consent).await;
    let begin = s
        .browser
        .post_json(
            &format!("{consent}/begin"),
            &serde_json::json!({ "card_id": "00000000-0000-4000-8000-000000000000" }),
        )
        .await;
    (consent, html, problem_code(begin).await)
}

/// The shopper goes back to the shop from a refused consent: the merchant's callback.
async fn back_to_shop(s: &Shopper, consent: &str) -> Url {
    let r = s.browser.post_form(&format!("{consent}/cancel"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    Url::parse(r.headers()["location"].to_str().unwrap()).unwrap()
}

#[tokio::test]
async fn the_per_payment_cap_passes_a_payment_at_the_cap_and_refuses_one_yen_over() {
    let app = spawn_app().await;
    let client = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let mut s = shopper(&app, "cap@example.com").await;
    set_jpy(&app, |l| l.per_payment = yen(10_000)).await;

    let callback = s.pay(&checkout(&client, "10000", "A-1").await).await;
    assert!(param(&callback, "code").is_some(), "{callback}");

    let url = checkout(&client, "10001", "A-2").await;
    let (consent, html, refused) = refused_on_consent(&s, &url).await;
    assert_eq!(refused, (StatusCode::FORBIDDEN, "limit_per_payment".into()));
    assert!(html.contains("id=\"limit-refusal\""), "{html}");
    assert!(html.contains("limit of ¥10,000 per payment"), "{html}");
    assert!(!html.contains("id=\"pay-form\""), "no pay button");

    let callback = back_to_shop(&s, &consent).await;
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    let description = param(&callback, "error_description").unwrap();
    assert!(
        description.starts_with("limit_per_payment: "),
        "{description}"
    );
    assert!(description.contains("10000"), "{description}");
    assert_eq!(count_rows(&app, "auth_codes").await, 1);
}

#[tokio::test]
async fn merchants_that_are_not_verified_have_the_lower_cap_and_verified_ones_do_not() {
    let app = spawn_app().await;
    let pending = sdk(&app, &merchant(&app, "New Shop", false).await).await;
    let verified = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let mut s = shopper(&app, "unverified@example.com").await;
    set_jpy(&app, |l| {
        l.per_payment = yen(50_000);
        l.per_payment_unverified = yen(5_000);
    })
    .await;

    let callback = s.pay(&checkout(&pending, "5000", "U-1").await).await;
    assert!(param(&callback, "code").is_some(), "{callback}");

    let (consent, html, refused) =
        refused_on_consent(&s, &checkout(&pending, "5001", "U-2").await).await;
    assert_eq!(
        refused,
        (StatusCode::FORBIDDEN, "limit_unverified_merchant".into())
    );
    assert!(html.contains("limited to ¥5,000 each"), "{html}");
    let callback = back_to_shop(&s, &consent).await;
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    assert!(param(&callback, "error_description")
        .unwrap()
        .starts_with("limit_unverified_merchant: "));

    let callback = s.pay(&checkout(&verified, "5001", "V-1").await).await;
    assert!(param(&callback, "code").is_some(), "{callback}");
    // Above the per-payment cap, the per-payment limit is the one named.
    let (_, _, refused) = refused_on_consent(&s, &checkout(&pending, "50001", "U-3").await).await;
    assert_eq!(refused, (StatusCode::FORBIDDEN, "limit_per_payment".into()));
}

#[tokio::test]
async fn the_daily_total_passes_at_the_cap_refuses_one_over_and_starts_afresh_at_utc_midnight() {
    let app = spawn_app().await;
    let client = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let email = "daily@example.com";
    let mut s = shopper(&app, email).await;
    set_jpy(&app, |l| l.daily_total = yen(10_000)).await;
    // The last seconds of yesterday (UTC), and the first of today.
    let midnight = day_start(unix_now());

    approve_at(
        &app,
        &mut s,
        email,
        &checkout(&client, "6000", "D-1").await,
        midnight - 2,
    )
    .await
    .unwrap();
    approve_at(
        &app,
        &mut s,
        email,
        &checkout(&client, "4000", "D-2").await,
        midnight - 1,
    )
    .await
    .expect("exactly at the daily total");
    let err = approve_at(
        &app,
        &mut s,
        email,
        &checkout(&client, "1", "D-3").await,
        midnight - 1,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "limit_daily_total");
    let message = err.public_message();
    assert!(message.contains("daily limit of ¥10,000"), "{message}");
    assert!(message.contains("paid ¥10,000 today"), "{message}");

    // A new UTC day: the whole total again, and then no more.
    approve_at(
        &app,
        &mut s,
        email,
        &checkout(&client, "10000", "D-4").await,
        midnight,
    )
    .await
    .expect("a new day");
    let err = approve_at(
        &app,
        &mut s,
        email,
        &checkout(&client, "1", "D-5").await,
        midnight + 1,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "limit_daily_total");
    assert_eq!(count_rows(&app, "auth_codes").await, 3);
}

#[tokio::test]
async fn the_hourly_count_passes_at_the_cap_and_refuses_one_more_in_the_same_utc_hour() {
    let app = spawn_app().await;
    let client = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let email = "hourly@example.com";
    let mut s = shopper(&app, email).await;
    set_jpy(&app, |l| l.hourly_count = Some(2)).await;
    let hour = hour_start(unix_now()) - 3600;

    for (i, at) in [hour + 10, hour + 20].into_iter().enumerate() {
        approve_at(
            &app,
            &mut s,
            email,
            &checkout(&client, "100", &format!("H-{i}")).await,
            at,
        )
        .await
        .expect("within the hourly count");
    }
    let err = approve_at(
        &app,
        &mut s,
        email,
        &checkout(&client, "100", "H-3").await,
        hour + 3599,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "limit_hourly_count");
    assert!(err
        .public_message()
        .contains("limit of 2 payments per hour"));
    approve_at(
        &app,
        &mut s,
        email,
        &checkout(&client, "100", "H-4").await,
        hour + 3600,
    )
    .await
    .expect("the next hour");

    // Over HTTP, in the current hour (one approval counted so far): the second passes, the
    // third is refused on the consent page.
    let callback = s.pay(&checkout(&client, "100", "H-5").await).await;
    assert!(param(&callback, "code").is_some(), "{callback}");
    let (consent, html, refused) =
        refused_on_consent(&s, &checkout(&client, "100", "H-6").await).await;
    assert_eq!(
        refused,
        (StatusCode::FORBIDDEN, "limit_hourly_count".into())
    );
    assert!(html.contains("limit of 2 payments per hour"), "{html}");
    let callback = back_to_shop(&s, &consent).await;
    assert!(param(&callback, "error_description")
        .unwrap()
        .starts_with("limit_hourly_count: "));
}

#[tokio::test]
async fn a_limit_lowered_after_the_approval_refuses_the_redemption_with_its_code_and_spends_nothing(
) {
    let app = spawn_app().await;
    let client = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let mut s = shopper(&app, "lowered@example.com").await;
    // Approved while there is no limit: frames() is 12800 yen.
    let g = grant(&client, &mut s).await;
    let effects = app.state.simulator.effects().await.unwrap();

    set_jpy(&app, |l| l.per_payment = yen(12_799)).await;
    let err = client.pay(&g, &jpy("12800"), true, None).await.unwrap_err();
    assert_eq!(sdk_problem(err), (403, "limit_per_payment".into()));

    set_jpy(&app, |l| {
        l.per_payment = yen(12_800);
        l.daily_total = yen(12_799);
    })
    .await;
    let err = client.pay(&g, &jpy("12800"), true, None).await.unwrap_err();
    assert_eq!(sdk_problem(err), (403, "limit_daily_total".into()));

    set_jpy(&app, |l| {
        l.daily_total = yen(12_800);
        l.hourly_count = Some(1);
    })
    .await;
    assert_eq!(count_rows(&app, "payments").await, 0, "no payment row");
    assert_eq!(
        count_rows(&app, "grants WHERE consumed_at IS NOT NULL").await,
        0,
        "the grant is not used up"
    );
    assert_eq!(app.state.simulator.effects().await.unwrap(), effects);

    // Exactly at every current limit, the grant pays.
    let payment = client.pay(&g, &jpy("12800"), true, None).await.unwrap();
    assert_eq!(payment.amount, "12800");
}

/// `n` checkouts of `amount` yen, each opened in its own browser session of the shopper
/// (alternately on each node) and confirmed with the passkey, ready to be approved.
async fn confirmed(
    app: &TestApp,
    node: &TestApp,
    client: &SaifuClient,
    s: &mut Shopper,
    n: usize,
    amount: &str,
) -> Vec<(Browser, String, String, serde_json::Value)> {
    let mut ready = Vec::new();
    for i in 0..n {
        // A passkey of its own for each approval: their signature counters stay apart.
        let mut key = add_passkey(app, &s.browser, &format!("Key {i}")).await;
        let browser = if i % 2 == 0 {
            app.browser()
        } else {
            app.browser().on(node)
        };
        let r = browser.sign_in(&mut key, &s.origin).await;
        assert!(r.status().is_success() || r.status().is_redirection());
        let url = checkout(client, amount, &format!("C-{i}")).await;
        let consent = open_consent(&browser, &url).await;
        let card = offered_cards(&browser, &consent).await.remove(0);
        let r = browser
            .post_json(
                &format!("{consent}/begin"),
                &serde_json::json!({ "card_id": card, "points": 0 }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let options = r.json().await.unwrap();
        let assertion = serde_json::to_value(key.assert(&s.origin, options).unwrap()).unwrap();
        ready.push((browser, consent, card, assertion));
    }
    ready
}

#[tokio::test]
async fn concurrent_approvals_on_two_nodes_never_pass_the_daily_total_together() {
    let app = spawn_app().await;
    let issuer = app.base.clone();
    let node = spawn_node(&app, move |c| c.issuer = issuer).await;
    let client = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let mut s = shopper(&app, "concurrent@example.com").await;
    set_jpy(&app, |l| {
        l.daily_total = yen(30_000);
        l.hourly_count = Some(4);
    })
    .await;

    // Six consents of 10,000 yen, each confirmed with the passkey, approved all at once on
    // alternating nodes: three fit in the daily total.
    let ready = confirmed(&app, &node, &client, &mut s, 6, "10000").await;
    let mut approvals = tokio::task::JoinSet::new();
    for (browser, consent, card, assertion) in ready {
        approvals.spawn(async move {
            let r = browser
                .post_form(
                    &format!("{consent}/approve"),
                    &[
                        ("card_id", card.as_str()),
                        ("points", "0"),
                        ("credential", &assertion.to_string()),
                    ],
                )
                .await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            let location = r.headers()["location"].to_str().unwrap().to_string();
            // A refused one says why on its consent page.
            let page = match location == consent {
                true => browser.html(&consent).await,
                false => String::new(),
            };
            (consent, location, page)
        });
    }
    let outcomes = approvals.join_all().await;
    let approved = outcomes
        .iter()
        .filter(|(_, to, _)| to.contains("code="))
        .count();
    let refused: Vec<_> = outcomes
        .iter()
        .filter(|(consent, to, _)| to == consent)
        .collect();
    assert_eq!(approved, 3, "{outcomes:?}");
    assert_eq!(refused.len(), 3, "{outcomes:?}");
    assert_eq!(count_rows(&app, "auth_codes").await, 3);

    for (_, _, page) in refused {
        assert!(page.contains("daily limit of ¥30,000"), "{page}");
    }
}

#[tokio::test]
async fn concurrent_approvals_never_pass_the_hourly_count_together() {
    let app = spawn_app().await;
    let issuer = app.base.clone();
    let node = spawn_node(&app, move |c| c.issuer = issuer).await;
    let client = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let mut s = shopper(&app, "concurrent-hour@example.com").await;
    set_jpy(&app, |l| l.hourly_count = Some(2)).await;

    let ready = confirmed(&app, &node, &client, &mut s, 5, "500").await;
    let mut approvals = tokio::task::JoinSet::new();
    for (browser, consent, card, assertion) in ready {
        approvals.spawn(async move {
            let r = browser
                .post_form(
                    &format!("{consent}/approve"),
                    &[
                        ("card_id", card.as_str()),
                        ("points", "0"),
                        ("credential", &assertion.to_string()),
                    ],
                )
                .await;
            r.headers()["location"].to_str().unwrap().contains("code=")
        });
    }
    let approved = approvals
        .join_all()
        .await
        .into_iter()
        .filter(|ok| *ok)
        .count();
    assert_eq!(approved, 2);
    assert_eq!(count_rows(&app, "auth_codes").await, 2);
}

#[tokio::test]
async fn an_operator_changes_the_limits_in_the_console_audited_and_support_cannot() {
    let app = spawn_app().await;
    let operator = signed_in_admin(&app, Role::Operator).await;
    let r = operator
        .admin_post_form(
            "/admin/risk",
            &[
                ("currency", "USD"),
                ("per_payment", "500.00"),
                ("per_payment_unverified", "50.00"),
                ("daily_total", ""),
                ("hourly_count", "10"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let limits = app.state.risk.limits(Currency::Usd).await.unwrap();
    assert_eq!(limits.per_payment, Some(Money::new(Currency::Usd, 50_000)));
    assert_eq!(
        limits.per_payment_unverified,
        Some(Money::new(Currency::Usd, 5_000))
    );
    assert_eq!(limits.daily_total, None, "blank is no limit");
    assert_eq!(limits.hourly_count, Some(10));
    let html = operator.html("/admin/risk").await;
    assert!(html.contains("value=\"500.00\""), "{html}");
    assert!(html.contains("href=\"/admin/risk\""), "in the nav");

    let entries = app
        .state
        .audit
        .list(
            &Query {
                action: Some("risk.limits_changed".into()),
                ..Query::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0].actor.starts_with("admin:"),
        "{}",
        entries[0].actor
    );
    assert_eq!(entries[0].target, "USD");
    assert!(
        entries[0].details.contains("500.00"),
        "{}",
        entries[0].details
    );

    // Amounts are typed in the currency: yen have no decimals, dollars have cents.
    for (currency, amount) in [
        ("JPY", "100.5"),
        ("USD", "100"),
        ("JPY", "-5"),
        ("JPY", "0"),
    ] {
        let r = operator
            .admin_post_form(
                "/admin/risk",
                &[("currency", currency), ("per_payment", amount)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{currency} {amount}");
    }

    let support = signed_in_admin(&app, Role::Support).await;
    let r = support
        .admin_post_form(
            "/admin/risk",
            &[("currency", "USD"), ("per_payment", "1.00")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.state
            .risk
            .limits(Currency::Usd)
            .await
            .unwrap()
            .per_payment,
        Some(Money::new(Currency::Usd, 50_000))
    );
    let html = support.html("/admin/risk").await;
    assert!(html.contains("500.00") && !html.contains("Save USD limits"));

    // The CLI's changes name `cli`.
    set_jpy(&app, |l| l.per_payment = yen(1)).await;
    let entries = app
        .state
        .audit
        .list(
            &Query {
                action: Some("risk.limits_changed".into()),
                ..Query::default()
            },
            10,
        )
        .await
        .unwrap();
    assert!(entries
        .iter()
        .any(|e| e.actor == "cli" && e.target == "JPY"));
}
