//! Why the shopper's own settings for a shop refused a payment: a stable code, the plain words
//! the shopper reads on the consent page, and the description the merchant gets with
//! `access_denied`.

use crate::error::Error;
use crate::money::Money;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShopRefusal {
    /// The shopper blocked this shop.
    Blocked { shop: String },
    /// The payment would take the month's spending at the shop past the shopper's cap.
    Cap {
        shop: String,
        cap: Money,
        /// The month's spending with this payment.
        after: Money,
    },
}

impl ShopRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            ShopRefusal::Blocked { .. } => "shop_blocked",
            ShopRefusal::Cap { .. } => "shop_cap_exceeded",
        }
    }

    /// For the shopper, on the consent page.
    pub fn message(&self) -> String {
        match self {
            ShopRefusal::Blocked { shop } => format!(
                "You have blocked {shop}, so payments to it are turned down. You can unblock it in Connected shops."
            ),
            ShopRefusal::Cap { shop, cap, after } => format!(
                "This payment would take your spending at {shop} this month to {}, over the {} limit you set. You can change the limit in Connected shops.",
                after.format_display(),
                cap.format_display()
            ),
        }
    }

    /// For the merchant, as `error_description` with `access_denied`: the code and what it
    /// means, without the shopper's own amounts.
    pub fn description(&self) -> String {
        let what = match self {
            ShopRefusal::Blocked { .. } => "the shopper has blocked this shop",
            ShopRefusal::Cap { .. } => {
                "the payment is past the monthly limit the shopper set for this shop"
            }
        };
        format!("{}: {what}", self.code())
    }

    /// The refusal as an error: 403 with its code and the shopper's words.
    pub fn error(&self) -> Error {
        match self {
            ShopRefusal::Blocked { .. } => Error::forbidden("shop_blocked", self.message()),
            ShopRefusal::Cap { .. } => Error::forbidden("shop_cap_exceeded", self.message()),
        }
    }

    /// Whether an error was made by [`ShopRefusal::error`].
    pub fn is_refusal(err: &Error) -> bool {
        matches!(err.code(), "shop_blocked" | "shop_cap_exceeded")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn the_shopper_reads_the_amounts_and_the_merchant_does_not() {
        let refused = ShopRefusal::Cap {
            shop: "Frame Shop".into(),
            cap: Money::new(Currency::Jpy, 30_000),
            after: Money::new(Currency::Jpy, 30_001),
        };
        assert_eq!(
            refused.message(),
            "This payment would take your spending at Frame Shop this month to ¥30,001, over the ¥30,000 limit you set. You can change the limit in Connected shops."
        );
        assert!(!refused.description().contains("30"));
        assert!(refused.description().starts_with("shop_cap_exceeded: "));
        assert!(ShopRefusal::is_refusal(&refused.error()));
    }
}
