//! `authorization_details` of type `payment` (RFC 9396), parsed once at the edge: one payment,
//! a supported currency, amounts with exactly the currency's minor digits and within the
//! wallet's limit, line items that sum to the total (in checked arithmetic), and no text the
//! consent page could show as something else (control and format characters are refused).
//! `shipping` is `{"required": true}` or `{"required": false}` (the same as leaving it out);
//! its `address` is the wallet's to fill in, at approval.

use saifu_sdk::checkout::{Amount, LineItem, PaymentDetails, Shipping, PAYMENT_TYPE};

use crate::money::{AmountLimits, Currency, Money, ParseAmountError};
use crate::text::{code_point, hidden_character};

/// A validated payment request. `details` is the normalized form that is stored and granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRequest {
    pub amount: Money,
    pub order_reference: String,
    pub details: PaymentDetails,
    /// The merchant asks for a shipping address.
    pub shipping_required: bool,
}

/// Why `authorization_details` were refused; the text goes to the merchant.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DetailsError(pub String);

fn refuse(message: impl Into<String>) -> DetailsError {
    DetailsError(message.into())
}

const MAX_ITEMS: usize = 100;
const MAX_QUANTITY: u32 = 100_000;

impl PaymentRequest {
    /// A merchant's `authorization_details`, with the amount within `limits`.
    pub fn parse(raw: &str, limits: &AmountLimits) -> Result<Self, DetailsError> {
        let entries: Vec<serde_json::Value> = serde_json::from_str(raw)
            .map_err(|_| refuse("authorization_details must be a JSON array"))?;
        let [entry] = entries.as_slice() else {
            return Err(refuse("authorization_details must hold exactly one entry"));
        };
        match entry.get("type").and_then(|t| t.as_str()) {
            Some(PAYMENT_TYPE) => {}
            Some(other) => {
                return Err(refuse(format!(
                    "unsupported authorization_details type {other:?}"
                )))
            }
            None => return Err(refuse("authorization_details entry has no type")),
        }
        let details: PaymentDetails = serde_json::from_value(entry.clone())
            .map_err(|e| refuse(format!("malformed payment details: {e}")))?;
        let request = Self::from_details(details)?;
        limits.check(request.amount).map_err(|over| {
            refuse(format!(
                "instructed_amount.amount is over the wallet's limit: {over}"
            ))
        })?;
        Ok(request)
    }

    /// Details as granted: like a request, but `points_redeemed` and the shipping address
    /// may be set.
    pub fn from_granted(mut details: PaymentDetails) -> Result<Self, DetailsError> {
        let points = details.points_redeemed.take();
        let address = details.shipping.as_mut().and_then(|s| s.address.take());
        let mut parsed = Self::from_details(details)?;
        parsed.details.points_redeemed = points;
        if let Some(shipping) = parsed.details.shipping.as_mut() {
            shipping.address = address;
        }
        Ok(parsed)
    }

    pub fn from_details(details: PaymentDetails) -> Result<Self, DetailsError> {
        if details.points_redeemed.is_some() {
            return Err(refuse(
                "points_redeemed is set by the wallet, not in a request",
            ));
        }
        let amount = parse_amount(&details.instructed_amount)?;
        let reference = parse_reference(&details.order_reference)?;
        let items = parse_line_items(amount, &details.line_items)?;
        let shipping = parse_shipping(details.shipping.as_ref())?;
        let normalized = PaymentDetails {
            type_: PAYMENT_TYPE.into(),
            instructed_amount: Amount {
                currency: amount.currency.code().into(),
                amount: amount.to_major_string(),
            },
            order_reference: reference.clone(),
            line_items: items,
            points_redeemed: None,
            shipping: shipping.then_some(Shipping {
                required: true,
                address: None,
            }),
        };
        Ok(Self {
            amount,
            order_reference: reference,
            details: normalized,
            shipping_required: shipping,
        })
    }
}

/// A supported currency and an amount greater than zero, with the currency's minor digits.
fn parse_amount(instructed: &Amount) -> Result<Money, DetailsError> {
    let currency = Currency::parse(&instructed.currency)
        .ok_or_else(|| refuse(format!("unsupported currency {:?}", instructed.currency)))?;
    let amount = Money::parse_major_exact(currency, &instructed.amount).map_err(|e| match e {
        ParseAmountError::TooLarge => refuse("instructed_amount.amount is too large"),
        ParseAmountError::Malformed => refuse(format!(
            "malformed amount {:?}: {} amounts have {} decimal places",
            truncated(&instructed.amount),
            currency.code(),
            currency.minor_digits()
        )),
    })?;
    if amount.minor <= 0 {
        return Err(refuse("the amount must be greater than zero"));
    }
    Ok(amount)
}

/// Whether the merchant asks for a shipping address. Unknown members of `shipping` were
/// refused when the details were read; an `address` is the wallet's to add.
fn parse_shipping(shipping: Option<&Shipping>) -> Result<bool, DetailsError> {
    match shipping {
        None => Ok(false),
        Some(s) if s.address.is_some() => Err(refuse(
            "shipping.address is set by the wallet, not in a request",
        )),
        Some(s) => Ok(s.required),
    }
}

fn parse_reference(raw: &str) -> Result<String, DetailsError> {
    let reference = raw.trim();
    shown_text("order_reference", reference)?;
    if reference.is_empty() || reference.chars().count() > 128 {
        return Err(refuse(
            "order_reference must have 1 to 128 printable characters",
        ));
    }
    Ok(reference.to_string())
}

/// Refuses text the consent page or a receipt would show with a control or format character
/// in it (a bidi override could show "Frames" where "semarF" is stored), naming the field.
fn shown_text(field: &str, text: &str) -> Result<(), DetailsError> {
    match hidden_character(text) {
        Some(c) => Err(refuse(format!(
            "{field} contains {}, a control or invisible formatting character; such characters are not allowed",
            code_point(c)
        ))),
        None => Ok(()),
    }
}

/// At most the first 40 characters of a refused value, for the description.
fn truncated(raw: &str) -> String {
    raw.chars().take(40).collect()
}

/// Normalized line items; when there are any, they sum to `amount`.
fn parse_line_items(amount: Money, raw: &[LineItem]) -> Result<Vec<LineItem>, DetailsError> {
    if raw.len() > MAX_ITEMS {
        return Err(refuse(format!("at most {MAX_ITEMS} line items")));
    }
    let currency = amount.currency;
    let mut items = Vec::with_capacity(raw.len());
    let mut sum = Money::new(currency, 0);
    for (index, item) in raw.iter().enumerate() {
        let (line, unit) = parse_line_item(currency, index, item)?;
        sum = sum
            .checked_add(line)
            .ok_or_else(|| refuse("line items sum to more than an amount can hold"))?;
        items.push(unit);
    }
    if !items.is_empty() && sum != amount {
        return Err(refuse(format!(
            "line items sum to {} but instructed_amount is {}",
            sum.to_major_string(),
            amount.to_major_string()
        )));
    }
    Ok(items)
}

/// One line item (the `index`th), normalized, with its total.
fn parse_line_item(
    currency: Currency,
    index: usize,
    item: &LineItem,
) -> Result<(Money, LineItem), DetailsError> {
    let name = item.name.trim();
    shown_text(&format!("line_items[{index}].name"), name)?;
    if name.is_empty() || name.chars().count() > 200 {
        return Err(refuse(
            "each line item needs a name of 1 to 200 printable characters",
        ));
    }
    if item.quantity == 0 || item.quantity > MAX_QUANTITY {
        return Err(refuse(format!(
            "line item quantities are 1 to {MAX_QUANTITY}"
        )));
    }
    let unit = Money::parse_major_exact(currency, &item.unit_amount).map_err(|e| match e {
        ParseAmountError::TooLarge => {
            refuse(format!("line_items[{index}].unit_amount is too large"))
        }
        ParseAmountError::Malformed => refuse(format!(
            "malformed unit_amount {:?} for {}",
            truncated(&item.unit_amount),
            currency.code()
        )),
    })?;
    let line = unit.checked_mul(i64::from(item.quantity)).ok_or_else(|| {
        refuse(format!(
            "line_items[{index}]: quantity times unit_amount is too large"
        ))
    })?;
    Ok((
        line,
        LineItem {
            name: name.to_string(),
            quantity: item.quantity,
            unit_amount: unit.to_major_string(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<PaymentRequest, DetailsError> {
        PaymentRequest::parse(json, &AmountLimits::default())
    }

    #[test]
    fn accepts_the_design_example() {
        let p = parse(r#"[{"type":"payment","instructed_amount":{"currency":"JPY","amount":"12800"},"order_reference":"A-1001","line_items":[{"name":"Frames","quantity":1,"unit_amount":"12800"}]}]"#).unwrap();
        assert_eq!(
            p.amount,
            Money {
                currency: Currency::Jpy,
                minor: 12800
            }
        );
        assert_eq!(p.details.line_items.len(), 1);
        let usd = parse(r#"[{"type":"payment","instructed_amount":{"currency":"USD","amount":"12.50"},"order_reference":"B-7","line_items":[{"name":"Tea","quantity":2,"unit_amount":"6.25"}]}]"#).unwrap();
        assert_eq!(usd.amount.minor, 1250);
    }

    #[test]
    fn refuses_malformed_details() {
        let cases = [
            (r#"{"type":"payment"}"#, "JSON array"),
            (r#"[]"#, "exactly one"),
            (
                r#"[{"type":"account_information","instructed_amount":{"currency":"JPY","amount":"1"},"order_reference":"x"}]"#,
                "unsupported authorization_details type",
            ),
            (
                r#"[{"type":"payment","instructed_amount":{"currency":"XYZ","amount":"1"},"order_reference":"x"}]"#,
                "unsupported currency",
            ),
            (
                r#"[{"type":"payment","instructed_amount":{"currency":"JPY","amount":"12.50"},"order_reference":"x"}]"#,
                "decimal places",
            ),
            (
                r#"[{"type":"payment","instructed_amount":{"currency":"USD","amount":"12.5"},"order_reference":"x"}]"#,
                "decimal places",
            ),
            (
                r#"[{"type":"payment","instructed_amount":{"currency":"USD","amount":"abc"},"order_reference":"x"}]"#,
                "malformed amount",
            ),
            (
                r#"[{"type":"payment","instructed_amount":{"currency":"JPY","amount":"0"},"order_reference":"x"}]"#,
                "greater than zero",
            ),
            (
                r#"[{"type":"payment","instructed_amount":{"currency":"JPY","amount":"-5"},"order_reference":"x"}]"#,
                "malformed amount",
            ),
            (
                r#"[{"type":"payment","instructed_amount":{"currency":"JPY","amount":"100"},"order_reference":"x","line_items":[{"name":"A","quantity":1,"unit_amount":"90"}]}]"#,
                "sum to",
            ),
            (
                r#"[{"type":"payment","instructed_amount":{"currency":"JPY","amount":"100"},"order_reference":" "}]"#,
                "order_reference",
            ),
            (
                r#"[{"type":"payment","instructed_amount":{"currency":"JPY","amount":"100"},"order_reference":"x","points_redeemed":5}]"#,
                "points_redeemed",
            ),
        ];
        for (json, expected) in cases {
            let err = parse(json).unwrap_err();
            assert!(err.0.contains(expected), "{json}: {err}");
        }
    }

    fn with(reference: &str, item_name: &str) -> String {
        serde_json::json!([{
            "type": "payment",
            "instructed_amount": {"currency": "JPY", "amount": "100"},
            "order_reference": reference,
            "line_items": [
                {"name": "Mug", "quantity": 1, "unit_amount": "50"},
                {"name": item_name, "quantity": 1, "unit_amount": "50"}
            ]
        }])
        .to_string()
    }

    #[test]
    fn format_and_control_characters_are_refused_naming_the_field() {
        for c in [
            '\u{202E}', '\u{200B}', '\u{2066}', '\u{2069}', '\u{FEFF}', '\u{7}', '\n',
        ] {
            let err = parse(&with("A-1", &format!("Fra{c}mes"))).unwrap_err();
            assert!(err.0.starts_with("line_items[1].name contains U+"), "{err}");
            assert!(err.0.contains("not allowed"), "{err}");
            let err = parse(&with(&format!("A-{c}1"), "Frames")).unwrap_err();
            assert!(err.0.starts_with("order_reference contains U+"), "{err}");
        }
        let err = parse(&with("A-1", "\u{202E}semarF")).unwrap_err();
        assert_eq!(
            err.0,
            "line_items[1].name contains U+202E, a control or invisible formatting character; such characters are not allowed"
        );
        assert!(
            parse(&with("注文-1", "Café 財布")).is_ok(),
            "any script is fine"
        );
    }

    fn shipping(member: serde_json::Value) -> Result<PaymentRequest, DetailsError> {
        parse(&serde_json::json!([{"type": "payment", "instructed_amount": {"currency": "JPY", "amount": "100"},
            "order_reference": "A-1", "shipping": member}]).to_string())
    }

    #[test]
    fn shipping_is_required_true_or_false_and_nothing_else() {
        let asked = shipping(serde_json::json!({"required": true})).unwrap();
        assert!(asked.shipping_required);
        assert_eq!(
            serde_json::to_value(&asked.details).unwrap()["shipping"],
            serde_json::json!({"required": true})
        );
        let not = shipping(serde_json::json!({"required": false})).unwrap();
        assert!(!not.shipping_required);
        assert!(not.details.shipping.is_none(), "normalized away");
        assert!(!parse(&amount("JPY", "100")).unwrap().shipping_required);
        for (member, expected) in [
            (
                serde_json::json!({"required": true, "gift": true}),
                "unknown field `gift`",
            ),
            (serde_json::json!({}), "missing field `required`"),
            (serde_json::json!({"required": "yes"}), "invalid type"),
            (serde_json::json!(true), "invalid type"),
            (
                serde_json::json!({"required": true, "address": {"name": "A", "postal_code": "100-0001",
                    "prefecture": "Tokyo", "city": "Chiyoda", "line1": "1-1", "phone": "0312345678", "country": "JP"}}),
                "shipping.address is set by the wallet",
            ),
        ] {
            let err = shipping(member.clone()).unwrap_err();
            assert!(err.0.contains(expected), "{member}: {err}");
        }
    }

    fn amount(currency: &str, amount: &str) -> String {
        serde_json::json!([{"type": "payment", "instructed_amount": {"currency": currency, "amount": amount}, "order_reference": "A-1"}]).to_string()
    }

    #[test]
    fn amounts_over_the_limit_or_past_i64_are_refused() {
        let err = parse(&amount("JPY", "9223372036854775807")).unwrap_err();
        assert_eq!(
            err.0,
            "instructed_amount.amount is over the wallet's limit: JPY amounts are limited to 10000000"
        );
        let err = parse(&amount("JPY", &"9".repeat(4_000))).unwrap_err();
        assert_eq!(err.0, "instructed_amount.amount is too large");
        assert!(parse(&amount("JPY", "10000000")).is_ok());
        assert!(parse(&amount("USD", "100000.01")).is_err());
        let tight = AmountLimits::parse("USD=5.00").unwrap();
        let err = PaymentRequest::parse(&amount("USD", "5.01"), &tight).unwrap_err();
        assert!(err.0.ends_with("USD amounts are limited to 5.00"), "{err}");
    }

    #[test]
    fn line_item_totals_that_overflow_are_refused_not_wrapped() {
        let items = |unit: &str, quantity: u32| {
            serde_json::json!([{"type": "payment", "instructed_amount": {"currency": "JPY", "amount": "100"}, "order_reference": "A-1",
                "line_items": [{"name": "A", "quantity": quantity, "unit_amount": unit}, {"name": "B", "quantity": 1, "unit_amount": "9223372036854775807"}]}]).to_string()
        };
        let err = parse(&items("9223372036854775807", 2)).unwrap_err();
        assert_eq!(
            err.0,
            "line_items[0]: quantity times unit_amount is too large"
        );
        let err = parse(&items("1", 1)).unwrap_err();
        assert_eq!(err.0, "line items sum to more than an amount can hold");
        let err = parse(&items("99999999999999999999", 1)).unwrap_err();
        assert_eq!(err.0, "line_items[0].unit_amount is too large");
    }
}
