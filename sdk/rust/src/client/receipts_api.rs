//! Receipts from the merchant's server: the wallet-signed receipt of one of your payments.

use reqwest::header::{ACCEPT, AUTHORIZATION};

use super::payments_api::{encode, read_payment};
use super::{Error, SaifuClient};
use crate::receipts::ReceiptResponse;

impl SaifuClient {
    /// The receipt the wallet signed when the shopper approved `payment_id` (a compact JWS;
    /// check it with [`crate::receipts::verify_receipt`] and the wallet's JWKS).
    pub async fn receipt(&self, payment_id: &str) -> Result<String, Error> {
        let issuer =
            url::Url::parse(&self.metadata().issuer).map_err(|e| Error::Metadata(e.to_string()))?;
        let url = issuer
            .join(&format!("/v1/payments/{}/receipt", encode(payment_id)))
            .map_err(|e| Error::Metadata(e.to_string()))?;
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.client_authentication())
            .header(ACCEPT, "application/json")
            .send()
            .await?;
        Ok(read_payment::<ReceiptResponse>(response).await?.receipt)
    }
}
