//! The payments API from the merchant's server: pay with a grant, capture, void, refund and
//! read payments. Every POST carries an idempotency key, generated unless the caller gives one
//! (give your own to retry safely after a lost answer).

use reqwest::header::{ACCEPT, AUTHORIZATION};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use super::{random_token, Error, SaifuClient};
use crate::checkout::Amount;
use crate::payments::{
    CapturePayment, CreatePayment, CreateRefund, Payment, IDEMPOTENCY_KEY_HEADER,
};
use crate::problem::Problem;

impl SaifuClient {
    fn payments_url(&self, suffix: &str) -> Result<Url, Error> {
        let issuer =
            Url::parse(&self.metadata().issuer).map_err(|e| Error::Metadata(e.to_string()))?;
        issuer
            .join(&format!("/v1/payments{suffix}"))
            .map_err(|e| Error::Metadata(e.to_string()))
    }

    async fn post_payment<B: Serialize, T: DeserializeOwned>(
        &self,
        suffix: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<T, Error> {
        let key = idempotency_key.map_or_else(random_token, str::to_string);
        let response = self
            .http
            .post(self.payments_url(suffix)?)
            .header(AUTHORIZATION, self.client_authentication())
            .header(ACCEPT, "application/json")
            .header(IDEMPOTENCY_KEY_HEADER, key)
            .json(body)
            .send()
            .await?;
        read_payment(response).await
    }

    /// Redeems a payment grant for `amount` (at most the granted amount), capturing at once
    /// when `capture` is true.
    pub async fn pay(
        &self,
        grant: &str,
        amount: &Amount,
        capture: bool,
        idempotency_key: Option<&str>,
    ) -> Result<Payment, Error> {
        let body = CreatePayment {
            grant: grant.to_string(),
            amount: amount.clone(),
            capture,
        };
        self.post_payment("", &body, idempotency_key).await
    }

    /// Captures an authorization: all of it, or `amount` (in the payment's currency).
    pub async fn capture(
        &self,
        payment_id: &str,
        amount: Option<&Amount>,
        idempotency_key: Option<&str>,
    ) -> Result<Payment, Error> {
        let body = CapturePayment {
            amount: amount.cloned(),
        };
        self.post_payment(
            &format!("/{}/capture", encode(payment_id)),
            &body,
            idempotency_key,
        )
        .await
    }

    pub async fn void(
        &self,
        payment_id: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Payment, Error> {
        self.post_payment(
            &format!("/{}/void", encode(payment_id)),
            &serde_json::json!({}),
            idempotency_key,
        )
        .await
    }

    /// Refunds part or all of a captured payment (`amount` in the payment's currency).
    pub async fn refund(
        &self,
        payment_id: &str,
        amount: &Amount,
        idempotency_key: Option<&str>,
    ) -> Result<Payment, Error> {
        let body = CreateRefund {
            amount: amount.clone(),
        };
        self.post_payment(
            &format!("/{}/refunds", encode(payment_id)),
            &body,
            idempotency_key,
        )
        .await
    }

    pub async fn get_payment(&self, payment_id: &str) -> Result<Payment, Error> {
        let response = self
            .http
            .get(self.payments_url(&format!("/{}", encode(payment_id)))?)
            .header(AUTHORIZATION, self.client_authentication())
            .send()
            .await?;
        read_payment(response).await
    }

    /// The latest payment for one of your order references.
    pub async fn payment_by_order(&self, order_reference: &str) -> Result<Payment, Error> {
        let mut url = self.payments_url("")?;
        url.query_pairs_mut()
            .append_pair("order_reference", order_reference);
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.client_authentication())
            .send()
            .await?;
        read_payment(response).await
    }
}

pub(super) fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

pub(super) async fn read_payment<T: DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, Error> {
    let status = response.status();
    if status.is_success() {
        return Ok(response.json().await?);
    }
    let body = response.bytes().await?;
    Err(match serde_json::from_slice::<Problem>(&body) {
        Ok(p) => Error::Problem {
            status: status.as_u16(),
            code: p.code,
            detail: p.detail,
            decline_code: p.decline_code,
        },
        Err(_) => Error::UnexpectedStatus(status.as_u16()),
    })
}
