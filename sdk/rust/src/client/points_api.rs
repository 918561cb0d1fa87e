//! The points statements API from the merchant's server: your monthly statement of the points
//! issued and redeemed at your shop, and what they are worth.

use reqwest::header::{ACCEPT, AUTHORIZATION};

use super::payments_api::read_payment;
use super::{Error, SaifuClient};
use crate::points::PointsStatement;

impl SaifuClient {
    /// Your statement for `month` (`YYYY-MM`, a UTC calendar month): per currency, the points
    /// issued at your shop that your campaigns fund, the points redeemed there that the
    /// programme reimburses, and the net amount. A month without activity has no lines; a
    /// month not written `YYYY-MM`, before 2000-01 or after next month is `invalid_month`.
    pub async fn points_statement(&self, month: &str) -> Result<PointsStatement, Error> {
        let issuer =
            url::Url::parse(&self.metadata().issuer).map_err(|e| Error::Metadata(e.to_string()))?;
        let mut url = issuer
            .join("/v1/points/statements")
            .map_err(|e| Error::Metadata(e.to_string()))?;
        url.query_pairs_mut().append_pair("month", month);
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.client_authentication())
            .header(ACCEPT, "application/json")
            .send()
            .await?;
        read_payment(response).await
    }
}
