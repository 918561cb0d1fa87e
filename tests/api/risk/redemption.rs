//! The redemption's re-check is made in the transaction that consumes the grant: a change of
//! the limits still being written when a redemption starts is the one it is checked against,
//! and its refusal leaves the grant unspent and the card uncharged.

use std::time::Duration;

use sqlx::{Connection, Executor};

use super::sdk_problem;
use crate::helpers::{count_rows, grant, jpy, merchant, sdk, shopper, spawn_app};

#[tokio::test]
async fn a_limit_lowered_in_a_transaction_still_open_when_a_redemption_starts_refuses_it_once_committed(
) {
    let app = spawn_app().await;
    let client = sdk(&app, &merchant(&app, "Frame Shop", true).await).await;
    let mut s = shopper(&app, "atomic@example.com").await;
    // Approved while there is no limit: frames() is 12800 yen.
    let g = grant(&client, &mut s).await;
    let effects = app.state.simulator.effects().await.unwrap();

    // An admin's change, written but not yet committed: the per-payment cap one yen below.
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let begin = match app.database_url.starts_with("postgres") {
        true => "BEGIN",
        false => "BEGIN IMMEDIATE",
    };
    admin.execute(begin).await.unwrap();
    admin
        .execute(
            "UPDATE risk_limits SET per_payment = 12799, updated_at = 1 WHERE currency = 'JPY'",
        )
        .await
        .unwrap();

    let pay = tokio::spawn(async move { client.pay(&g, &jpy("12800"), true, None).await });
    // A check made before the transaction, or outside it, would have read no limit by now
    // and paid.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!pay.is_finished(), "the redemption waits for the change");
    admin.execute("COMMIT").await.unwrap();

    let err = pay.await.unwrap().unwrap_err();
    assert_eq!(sdk_problem(err), (403, "limit_per_payment".into()));
    assert_eq!(count_rows(&app, "payments").await, 0, "no payment row");
    assert_eq!(
        count_rows(&app, "grants WHERE consumed_at IS NOT NULL").await,
        0,
        "the grant is not used up"
    );
    assert_eq!(app.state.simulator.effects().await.unwrap(), effects);
}
