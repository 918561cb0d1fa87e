//! `saifu risk show` and `saifu risk set`: a change names only the limits it changes, is
//! checked as the console checks its form, applies at once to the running wallet, and is
//! audited with the actor `cli`; a refused value exits non-zero with `invalid_risk_limit`.

use saifu::money::{Currency, Money};
use serde_json::{json, Value};

use super::limit_changes;
use crate::helpers::{assert_success, spawn_app, TestApp};

fn saifu_risk(app: &TestApp, args: &[&str]) -> std::process::Output {
    app.cli().arg("risk").args(args).output().unwrap()
}

fn printed(out: &std::process::Output) -> Value {
    assert_success(out);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn saifu_risk_set_changes_only_the_limits_it_names_and_show_prints_them_audited_as_cli() {
    let app = spawn_app().await;
    let set = saifu_risk(
        &app,
        &[
            "set",
            "--currency",
            "JPY",
            "--per-payment",
            "50000",
            "--hourly-count",
            "10",
            "--json",
        ],
    );
    assert_eq!(
        printed(&set),
        json!({"currency": "JPY", "per_payment": "50000", "per_payment_unverified": null,
               "daily_total": null, "hourly_count": 10})
    );

    // `none` removes a limit; the ones not named stay.
    let set = saifu_risk(
        &app,
        &[
            "set",
            "--currency",
            "JPY",
            "--per-payment",
            "none",
            "--daily-total",
            "200000",
            "--json",
        ],
    );
    assert_eq!(
        printed(&set),
        json!({"currency": "JPY", "per_payment": null, "per_payment_unverified": null,
               "daily_total": "200000", "hourly_count": 10})
    );
    let set = saifu_risk(
        &app,
        &[
            "set",
            "--currency",
            "USD",
            "--per-payment-unverified",
            "120.50",
        ],
    );
    assert_success(&set);

    // The running wallet reads them at once.
    let jpy = app.state.risk.limits(Currency::Jpy).await.unwrap();
    assert_eq!(jpy.per_payment, None);
    assert_eq!(jpy.daily_total, Some(Money::new(Currency::Jpy, 200_000)));
    assert_eq!(jpy.hourly_count, Some(10));

    let shown = printed(&saifu_risk(&app, &["show", "--json"]));
    assert_eq!(
        shown,
        json!([
            {"currency": "JPY", "per_payment": null, "per_payment_unverified": null,
             "daily_total": "200000", "hourly_count": 10},
            {"currency": "USD", "per_payment": null, "per_payment_unverified": "120.50",
             "daily_total": null, "hourly_count": null},
        ])
    );
    let table = saifu_risk(&app, &["show"]);
    assert_success(&table);
    let table = String::from_utf8_lossy(&table.stdout);
    let usd = table.lines().find(|l| l.starts_with("USD")).unwrap();
    assert_eq!(
        usd.split_whitespace().collect::<Vec<_>>(),
        ["USD", "none", "120.50", "none", "none"],
        "{table}"
    );

    let changes = limit_changes(&app).await;
    assert_eq!(changes.len(), 3);
    assert!(changes.iter().all(|e| e.actor == "cli"), "{changes:?}");
    assert_eq!(changes[2].target, "USD");
}

#[tokio::test]
async fn saifu_risk_set_refuses_an_invalid_value_with_invalid_risk_limit_and_changes_nothing() {
    let app = spawn_app().await;
    let cases: [&[&str]; 6] = [
        &["--currency", "USD", "--per-payment", "120"],
        &["--currency", "JPY", "--daily-total", "100.5"],
        &["--currency", "JPY", "--per-payment", "0"],
        &["--currency", "JPY", "--hourly-count", "-5"],
        &["--currency", "JPY", "--hourly-count", "many"],
        &["--currency", "EUR", "--per-payment", "1"],
    ];
    for args in cases {
        let out = saifu_risk(&app, &[&["set"], args].concat());
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("invalid_risk_limit: "),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    for currency in [Currency::Jpy, Currency::Usd] {
        let limits = app.state.risk.limits(currency).await.unwrap();
        assert!(!limits.any(), "{limits:?}");
    }
    assert!(limit_changes(&app).await.is_empty());
}
