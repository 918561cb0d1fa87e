//! First-run limits from the settings (`SAIFU_RISK_*`): set when the wallet starts on a
//! database whose limits were never set, audited as the wallet itself, and ignored once the
//! limits were set; an invalid one stops start-up naming it.

use reqwest::StatusCode;
use saifu::admin::Role;
use saifu::money::{Currency, Money};

use super::limit_changes;
use crate::helpers::{saifu_command, signed_in_admin, spawn_app_with, spawn_node};

#[tokio::test]
async fn first_run_settings_set_the_limits_of_a_new_database_audited_as_the_wallet() {
    let app = spawn_app_with(|c| {
        c.risk_per_payment_jpy = Some("50000".into());
        c.risk_per_payment_unverified_jpy = Some("10000".into());
        c.risk_daily_total_usd = Some("120.50".into());
        c.risk_hourly_count = Some(10);
    })
    .await;

    let jpy = app.state.risk.limits(Currency::Jpy).await.unwrap();
    assert_eq!(jpy.per_payment, Some(Money::new(Currency::Jpy, 50_000)));
    assert_eq!(
        jpy.per_payment_unverified,
        Some(Money::new(Currency::Jpy, 10_000))
    );
    assert_eq!(jpy.daily_total, None);
    assert_eq!(jpy.hourly_count, Some(10), "the count is every currency's");
    let usd = app.state.risk.limits(Currency::Usd).await.unwrap();
    assert_eq!(usd.per_payment, None);
    assert_eq!(usd.daily_total, Some(Money::new(Currency::Usd, 12_050)));
    assert_eq!(usd.hourly_count, Some(10));

    let changes = limit_changes(&app).await;
    let targets: Vec<_> = changes
        .iter()
        .map(|e| (e.actor.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(targets, [("system", "JPY"), ("system", "USD")]);
    assert!(
        changes[1].details.contains("120.50"),
        "{}",
        changes[1].details
    );
}

#[tokio::test]
async fn first_run_settings_are_ignored_once_the_limits_were_set() {
    let mut app = spawn_app_with(|c| c.risk_per_payment_jpy = Some("50000".into())).await;
    assert_eq!(limit_changes(&app).await.len(), 1, "JPY only");

    // Restarted with other values: JPY's limits were set (by the first start), USD's never.
    app.stop();
    let restarted = spawn_node(&app, |c| {
        c.risk_per_payment_jpy = Some("90000".into());
        c.risk_per_payment_usd = Some("500.00".into());
    })
    .await;
    let jpy = restarted.state.risk.limits(Currency::Jpy).await.unwrap();
    assert_eq!(jpy.per_payment, Some(Money::new(Currency::Jpy, 50_000)));
    let usd = restarted.state.risk.limits(Currency::Usd).await.unwrap();
    assert_eq!(usd.per_payment, Some(Money::new(Currency::Usd, 50_000)));

    // An operator changes JPY's limits in the console; the next start leaves them.
    let operator = signed_in_admin(&restarted, Role::Operator).await;
    let r = operator
        .admin_post_form(
            "/admin/risk",
            &[("currency", "JPY"), ("per_payment", "30000")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let again = spawn_node(&app, |c| {
        c.risk_per_payment_jpy = Some("70000".into());
        c.risk_per_payment_usd = Some("700.00".into());
    })
    .await;
    let jpy = again.state.risk.limits(Currency::Jpy).await.unwrap();
    assert_eq!(jpy.per_payment, Some(Money::new(Currency::Jpy, 30_000)));
    let usd = again.state.risk.limits(Currency::Usd).await.unwrap();
    assert_eq!(usd.per_payment, Some(Money::new(Currency::Usd, 50_000)));

    let actors: Vec<_> = limit_changes(&again)
        .await
        .into_iter()
        .map(|e| (e.actor.split(':').next().unwrap().to_string(), e.target))
        .collect();
    assert_eq!(
        actors,
        [
            ("system".to_string(), "JPY".to_string()),
            ("system".to_string(), "USD".to_string()),
            ("admin".to_string(), "JPY".to_string()),
        ]
    );
}

#[test]
fn an_invalid_first_run_setting_stops_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("SAIFU_RISK_PER_PAYMENT_USD", "120.5", "cents"),
        ("SAIFU_RISK_DAILY_TOTAL_JPY", "100.5", "whole amount of yen"),
        ("SAIFU_RISK_PER_PAYMENT_UNVERIFIED_JPY", "0", "above zero"),
        ("SAIFU_RISK_HOURLY_COUNT", "0", "whole number of payments"),
    ];
    for (setting, value, expected) in cases {
        let out = saifu_command()
            .arg("serve")
            .env("SAIFU_DATA_DIR", dir.path())
            .env("SAIFU_LISTEN", "127.0.0.1:0")
            .env(setting, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{setting}={value} must not start");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(setting) && stderr.contains(expected),
            "{setting}={value}: {stderr}"
        );
    }
    assert!(
        !dir.path().join("saifu.db").exists(),
        "refused before the database is opened"
    );
}
