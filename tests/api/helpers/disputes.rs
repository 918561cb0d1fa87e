//! Dispute fixtures shared by the page tests and the role table: a captured payment, a problem
//! reported from the shopper's Activity, and the merchant's answer through the API.

use reqwest::{Response, StatusCode};
use saifu_sdk::checkout::MerchantCredentials;
use serde_json::Value;

use super::{grant, jpy, merchant, sdk, shopper, Shopper, TestApp};

/// A verified merchant, a shopper, and the shopper's captured ¥12,800 payment's id.
pub struct PaidOrder {
    pub creds: MerchantCredentials,
    pub shopper: Shopper,
    pub payment_id: String,
}

pub async fn paid_order(app: &TestApp, email: &str) -> PaidOrder {
    let creds = merchant(app, "Frame Shop", true).await;
    let client = sdk(app, &creds).await;
    let mut shopper = shopper(app, email).await;
    let g = grant(&client, &mut shopper).await;
    let payment = client.pay(&g, &jpy("12800"), true, None).await.unwrap();
    PaidOrder {
        creds,
        shopper,
        payment_id: payment.id,
    }
}

/// Sends the "Report a problem" form of a payment, as the shopper's browser does.
pub async fn report_problem(
    shopper: &Shopper,
    payment_id: &str,
    reason: &str,
    description: &str,
    amount: &str,
) -> Response {
    shopper
        .browser
        .post_form(
            &format!("/activity/{payment_id}/dispute"),
            &[
                ("reason", reason),
                ("description", description),
                ("amount", amount),
            ],
        )
        .await
}

/// Reports "not received" for `amount` and returns the new dispute's id.
pub async fn open_dispute(shopper: &Shopper, payment_id: &str, amount: &str) -> String {
    let r = report_problem(
        shopper,
        payment_id,
        "not_received",
        "The frames never arrived.",
        amount,
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let to = r.headers()["location"].to_str().unwrap();
    to.strip_prefix("/disputes/")
        .expect("the form leads to the dispute's page")
        .to_string()
}

/// The merchant's answer to a dispute, sent raw to `POST /v1/disputes/{id}/respond`.
pub async fn respond(
    app: &TestApp,
    creds: &MerchantCredentials,
    dispute_id: &str,
    body: &Value,
) -> Response {
    reqwest::Client::new()
        .post(
            app.base
                .join(&format!("/v1/disputes/{dispute_id}/respond"))
                .unwrap(),
        )
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(body)
        .send()
        .await
        .unwrap()
}
