//! The wire types of a Saifu checkout (OAuth 2.0 with PAR, PKCE and rich authorization
//! details of type `payment`), shared by the wallet and by merchants' code.

use serde::{Deserialize, Serialize};

/// `authorization_details` type for payments.
pub const PAYMENT_TYPE: &str = "payment";

/// An amount as it travels: ISO 4217 currency and a decimal string in major units with exactly
/// the currency's minor digits (JPY `"12800"`, USD `"12.50"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Amount {
    /// ISO 4217.
    #[cfg_attr(feature = "openapi", schema(example = "JPY", pattern = "^[A-Z]{3}$"))]
    pub currency: String,
    /// Major units, with exactly the currency's minor digits.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "12800", pattern = r"^[0-9]+(\.[0-9]+)?$")
    )]
    pub amount: String,
}

impl Amount {
    /// `Amount::new("JPY", "12800")`.
    pub fn new(currency: &str, amount: &str) -> Self {
        Self {
            currency: currency.into(),
            amount: amount.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineItem {
    pub name: String,
    pub quantity: u32,
    /// Price of one unit, in the payment's currency, formatted like `Amount::amount`.
    pub unit_amount: String,
}

/// One entry of `authorization_details` (RFC 9396) of type `payment`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentDetails {
    #[serde(rename = "type")]
    pub type_: String,
    pub instructed_amount: Amount,
    pub order_reference: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_items: Vec<LineItem>,
    /// Points the shopper redeemed at consent; only in granted details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points_redeemed: Option<i64>,
    /// `{"required": true}` asks the shopper for a shipping address; in granted details it
    /// also carries the address the shopper chose for this order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Shipping>,
}

/// The `shipping` member of payment details. Unknown members are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Shipping {
    /// The shopper must choose an address to approve the payment.
    pub required: bool,
    /// The address the shopper chose, as it was at approval; only in granted details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<ShippingAddress>,
}

/// A shipping address as the merchant receives it: a copy made when the shopper approved,
/// which later edits in the wallet do not change. Addresses are in Japan for now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShippingAddress {
    /// The recipient.
    pub name: String,
    /// `NNN-NNNN`.
    #[cfg_attr(feature = "openapi", schema(example = "100-0001"))]
    pub postal_code: String,
    /// One of the 47 prefectures, in romaji (`Tokyo`, `Hokkaido`, `Osaka`).
    pub prefecture: String,
    /// City, ward, town or village.
    pub city: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// Digits, with a leading `+` when international (`09012345678`, `+819012345678`).
    pub phone: String,
    /// ISO 3166-1 alpha-2; `JP`.
    #[cfg_attr(feature = "openapi", schema(example = "JP"))]
    pub country: String,
}

impl PaymentDetails {
    pub fn new(currency: &str, amount: &str, order_reference: &str) -> Self {
        Self {
            type_: PAYMENT_TYPE.into(),
            instructed_amount: Amount {
                currency: currency.into(),
                amount: amount.into(),
            },
            order_reference: order_reference.into(),
            line_items: Vec::new(),
            points_redeemed: None,
            shipping: None,
        }
    }

    /// Asks the shopper for a shipping address (`"shipping": {"required": true}`).
    pub fn require_shipping(mut self) -> Self {
        self.shipping = Some(Shipping {
            required: true,
            address: None,
        });
        self
    }

    /// In granted details: the address the shopper chose for this order.
    pub fn shipping_address(&self) -> Option<&ShippingAddress> {
        self.shipping.as_ref().and_then(|s| s.address.as_ref())
    }

    pub fn with_item(mut self, name: &str, quantity: u32, unit_amount: &str) -> Self {
        self.line_items.push(LineItem {
            name: name.into(),
            quantity,
            unit_amount: unit_amount.into(),
        });
        self
    }
}

/// `201` answer of the pushed authorization request endpoint (RFC 9126).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParResponse {
    pub request_uri: String,
    pub expires_in: u64,
}

/// Answer of the token endpoint: the payment grant is the `access_token`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub authorization_details: Vec<PaymentDetails>,
}

/// RFC 6749 error body of the OAuth endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// Claims of a payment grant: a JWT access token (RFC 9068), `typ: at+jwt`, signed ES256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantClaims {
    pub iss: String,
    /// The payments API: `{issuer origin}/v1/payments`.
    pub aud: String,
    /// Pairwise: the same shopper has a different `sub` at each merchant.
    pub sub: String,
    pub client_id: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub authorization_details: Vec<PaymentDetails>,
}

/// The JWT header `typ` of a payment grant.
pub const GRANT_TYP: &str = "at+jwt";

/// RFC 8414 metadata, as far as Saifu publishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub pushed_authorization_request_endpoint: String,
    pub jwks_uri: String,
    pub require_pushed_authorization_requests: bool,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub authorization_details_types_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
    /// Dynamic client registration (RFC 7591), while the wallet takes new shops; absent when
    /// its issuer has switched registration off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
}

/// One public key of `GET /oauth/jwks` (EC P-256).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub y: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// What `saifu merchant create --json` prints, and nothing else.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub webhook_secret: String,
}

// The grant and the secrets never reach logs through `{:?}`.
impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("authorization_details", &self.authorization_details)
            .finish()
    }
}

impl std::fmt::Debug for MerchantCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("webhook_secret", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_shipping_asks_and_granted_details_carry_the_address() {
        let asked = PaymentDetails::new("JPY", "3200", "A-1").require_shipping();
        let wire = serde_json::to_value(&asked).unwrap();
        assert_eq!(wire["shipping"], serde_json::json!({"required": true}));
        assert_eq!(asked.shipping_address(), None);
        let plain = serde_json::to_value(PaymentDetails::new("JPY", "3200", "A-1")).unwrap();
        assert!(plain.get("shipping").is_none());

        let granted: PaymentDetails = serde_json::from_value(serde_json::json!({
            "type": "payment", "instructed_amount": {"currency": "JPY", "amount": "3200"},
            "order_reference": "A-1",
            "shipping": {"required": true, "address": {"name": "Aiko Tanaka", "postal_code": "150-0001",
                "prefecture": "Tokyo", "city": "Shibuya-ku", "line1": "1-2-3 Jingumae",
                "phone": "09012345678", "country": "JP"}}
        }))
        .unwrap();
        let address = granted.shipping_address().unwrap();
        assert_eq!(
            (address.postal_code.as_str(), address.line2.as_deref()),
            ("150-0001", None)
        );
        let unknown =
            serde_json::from_value::<Shipping>(serde_json::json!({"required": true, "x": 1}));
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `x`"));
    }

    #[test]
    fn debug_output_hides_grants_and_secrets() {
        let token = TokenResponse {
            access_token: "eyJhbGciOiJFUzI1NiJ9.secret.sig".into(),
            token_type: "Bearer".into(),
            expires_in: 600,
            authorization_details: vec![],
        };
        assert!(!format!("{token:?}").contains("eyJ"));
        let creds = MerchantCredentials {
            client_id: "mch_x".into(),
            client_secret: "saifu_sk_abc".into(),
            webhook_secret: "whsec_def".into(),
        };
        let shown = format!("{creds:?}");
        assert!(
            shown.contains("mch_x")
                && !shown.contains("saifu_sk_abc")
                && !shown.contains("whsec_def")
        );
        let pay = crate::payments::CreatePayment {
            grant: "eyJhbGciOiJFUzI1NiJ9.secret.sig".into(),
            amount: Amount {
                currency: "JPY".into(),
                amount: "1".into(),
            },
            capture: true,
        };
        assert!(!format!("{pay:?}").contains("eyJ"));
    }
}
