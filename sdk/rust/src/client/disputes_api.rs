//! The disputes API from the merchant's server: list and read the disputes shoppers opened on
//! your payments, and answer one (accept, which refunds at once, or evidence). The answer
//! carries an idempotency key, generated unless the caller gives one.

use reqwest::header::{ACCEPT, AUTHORIZATION};
use url::Url;

use super::payments_api::{encode, read_payment};
use super::{random_token, Error, SaifuClient};
use crate::disputes::{Dispute, DisputeAnswer, DisputeList};
use crate::payments::IDEMPOTENCY_KEY_HEADER;

impl SaifuClient {
    fn disputes_url(&self, suffix: &str) -> Result<Url, Error> {
        let issuer =
            Url::parse(&self.metadata().issuer).map_err(|e| Error::Metadata(e.to_string()))?;
        issuer
            .join(&format!("/v1/disputes{suffix}"))
            .map_err(|e| Error::Metadata(e.to_string()))
    }

    /// Your disputes, newest first; `status` (`open`, `evidence_received`, `resolving`,
    /// `resolved`) keeps only those in it.
    pub async fn disputes(&self, status: Option<&str>) -> Result<Vec<Dispute>, Error> {
        let mut url = self.disputes_url("")?;
        if let Some(status) = status {
            url.query_pairs_mut().append_pair("status", status);
        }
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.client_authentication())
            .header(ACCEPT, "application/json")
            .send()
            .await?;
        Ok(read_payment::<DisputeList>(response).await?.disputes)
    }

    pub async fn dispute(&self, dispute_id: &str) -> Result<Dispute, Error> {
        let response = self
            .http
            .get(self.disputes_url(&format!("/{}", encode(dispute_id)))?)
            .header(AUTHORIZATION, self.client_authentication())
            .header(ACCEPT, "application/json")
            .send()
            .await?;
        read_payment(response).await
    }

    /// Answers a dispute by its `respond_by`: accept (the disputed amount is refunded now) or
    /// contest it with evidence (the issuer decides).
    pub async fn respond_to_dispute(
        &self,
        dispute_id: &str,
        answer: &DisputeAnswer,
        idempotency_key: Option<&str>,
    ) -> Result<Dispute, Error> {
        let key = idempotency_key.map_or_else(random_token, str::to_string);
        let response = self
            .http
            .post(self.disputes_url(&format!("/{}/respond", encode(dispute_id)))?)
            .header(AUTHORIZATION, self.client_authentication())
            .header(ACCEPT, "application/json")
            .header(IDEMPOTENCY_KEY_HEADER, key)
            .json(answer)
            .send()
            .await?;
        read_payment(response).await
    }
}
