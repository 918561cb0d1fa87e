//! The payments API (`/v1/payments`) wire types, shared by the wallet and merchants' code.
//! Amounts are decimal strings in major units with the currency's minor digits, as in
//! `authorization_details`.

use serde::{Deserialize, Serialize};

use crate::checkout::Amount;

/// `POST /v1/payments`: redeem a payment grant.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatePayment {
    /// The grant JWT from the token endpoint.
    pub grant: String,
    /// At most the granted amount, in the granted currency.
    pub amount: Amount,
    /// `true` to capture at once; `false` to authorize only.
    pub capture: bool,
}

// The grant is a bearer credential: never in `{:?}` output.
impl std::fmt::Debug for CreatePayment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatePayment")
            .field("grant", &"[redacted]")
            .field("amount", &self.amount)
            .field("capture", &self.capture)
            .finish()
    }
}

/// `POST /v1/payments/{id}/capture`: the amount defaults to the whole authorization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapturePayment {
    /// At most the authorized amount, in the payment's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
}

/// `POST /v1/payments/{id}/refunds`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateRefund {
    /// In the payment's currency; all refunds together at most the captured amount.
    pub amount: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardSummary {
    pub brand: String,
    pub last4: String,
}

/// A payment as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payment {
    pub id: String,
    /// `authorized`, `captured`, `voided` or `declined`.
    #[cfg_attr(feature = "openapi", schema(example = "captured"))]
    pub status: String,
    pub amount: String,
    pub captured_amount: String,
    pub refunded_amount: String,
    pub currency: String,
    pub order_reference: String,
    pub card: CardSummary,
    pub points_earned: i64,
    pub points_redeemed: i64,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
}

/// Header carrying the idempotency key of a POST.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_and_refunds_send_the_amount_as_currency_and_amount_like_payments() {
        let capture = CapturePayment {
            amount: Some(Amount::new("JPY", "9000")),
        };
        let refund = CreateRefund {
            amount: Amount::new("USD", "12.50"),
        };
        assert_eq!(
            serde_json::to_value(&capture).unwrap(),
            serde_json::json!({"amount": {"currency": "JPY", "amount": "9000"}})
        );
        assert_eq!(
            serde_json::to_value(&refund).unwrap(),
            serde_json::json!({"amount": {"currency": "USD", "amount": "12.50"}})
        );
        assert_eq!(
            serde_json::to_value(CapturePayment::default()).unwrap(),
            serde_json::json!({}),
            "no amount captures the whole authorization"
        );
        assert!(serde_json::from_str::<CreateRefund>(r#"{"amount": "100"}"#).is_err());
    }
}
