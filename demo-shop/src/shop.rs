//! The demo shop's rules, with no HTTP: the catalogue, yen amounts, the cart, order references
//! and the `authorization_details` a cart becomes.

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};

use saifu_sdk::PaymentDetails;

/// The shop sells in yen only: no minor unit, so an amount is a whole number of yen.
pub(crate) const CURRENCY: &str = "JPY";

/// At most this many of one product per cart, which also bounds every total far below `u64`.
pub(crate) const MAX_QUANTITY: u32 = 10;

/// An amount in yen. On the wire it is the decimal string `"1800"`; for people, `¥1,800`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Yen(pub(crate) u64);

impl Yen {
    /// A wire amount: ASCII digits only (JPY has no decimals), as the payments API writes them.
    pub(crate) fn parse(amount: &str) -> Option<Self> {
        if amount.is_empty() || !amount.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        amount.parse().ok().map(Yen)
    }

    /// The wire form: `"1800"`.
    pub(crate) fn amount_string(self) -> String {
        self.0.to_string()
    }
}

impl fmt::Display for Yen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        write!(f, "¥{grouped}")
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Product {
    /// The form value of `POST /cart/add` and `/cart/remove`.
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) price: Yen,
}

pub(crate) const CATALOG: &[Product] = &[
    Product {
        id: "mug",
        name: "Ceramic mug",
        description: "Hand-thrown in Mashiko, glazed in ash white. 300 ml.",
        price: Yen(1800),
    },
    Product {
        id: "tote",
        name: "Linen tote",
        description: "Heavy Ōmi linen with an inside pocket. Carries a week of groceries.",
        price: Yen(3200),
    },
    Product {
        id: "kettle",
        name: "Pour-over kettle",
        description: "Stainless steel with a gooseneck spout for a slow, even pour. 0.9 l.",
        price: Yen(6400),
    },
];

pub(crate) fn product(id: &str) -> Option<&'static Product> {
    CATALOG.iter().find(|p| p.id == id)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) product: &'static Product,
    pub(crate) quantity: u32,
}

impl Line {
    pub(crate) fn subtotal(&self) -> Yen {
        Yen(self.product.price.0 * u64::from(self.quantity))
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CartError {
    /// Adding would take the product past `MAX_QUANTITY`.
    TooMany,
}

/// Products and quantities, in the order they were first added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cart {
    lines: Vec<Line>,
}

impl Cart {
    pub(crate) fn add(&mut self, product: &'static Product) -> Result<(), CartError> {
        match self.lines.iter_mut().find(|l| l.product.id == product.id) {
            Some(line) if line.quantity >= MAX_QUANTITY => Err(CartError::TooMany),
            Some(line) => {
                line.quantity += 1;
                Ok(())
            }
            None => {
                self.lines.push(Line {
                    product,
                    quantity: 1,
                });
                Ok(())
            }
        }
    }

    /// Takes the product out of the cart, whatever its quantity.
    pub(crate) fn remove(&mut self, product_id: &str) {
        self.lines.retain(|l| l.product.id != product_id);
    }

    /// Takes out what an order bought, so that anything added during the checkout (in another
    /// tab, say) stays in the cart.
    pub(crate) fn remove_ordered(&mut self, ordered: &[Line]) {
        for bought in ordered {
            if let Some(line) = self
                .lines
                .iter_mut()
                .find(|l| l.product.id == bought.product.id)
            {
                line.quantity = line.quantity.saturating_sub(bought.quantity);
            }
        }
        self.lines.retain(|l| l.quantity > 0);
    }

    pub(crate) fn lines(&self) -> &[Line] {
        &self.lines
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The number of items, counting quantities.
    pub(crate) fn count(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity).sum()
    }

    pub(crate) fn total(&self) -> Yen {
        total(&self.lines)
    }
}

pub(crate) fn total(lines: &[Line]) -> Yen {
    Yen(lines.iter().map(|l| l.subtotal().0).sum())
}

/// Crockford's base32 alphabet: no I, L, O or U, so a reference read out over the phone or
/// copied by hand survives.
const REFERENCE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub(crate) const REFERENCE_PREFIX: &str = "DEMO-";
/// 12 characters of 5 bits: 60 random bits, so references never collide in practice.
pub(crate) const REFERENCE_RANDOM_CHARS: usize = 12;

/// A fresh order reference, `DEMO-` and 12 random base32 characters: `DEMO-7K2M9QXD4RTA`.
pub(crate) fn order_reference() -> String {
    let mut bytes = [0u8; REFERENCE_RANDOM_CHARS];
    // The system RNG only fails when the OS has none; nothing sensible can be done then.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random number generator failed");
    let random: String = bytes
        .iter()
        // 256 is a multiple of 32, so every character is equally likely.
        .map(|b| char::from(REFERENCE_ALPHABET[usize::from(b % 32)]))
        .collect();
    format!("{REFERENCE_PREFIX}{random}")
}

/// Whether `value` has the shape `order_reference` makes; anything else is no order of ours.
pub(crate) fn is_order_reference(value: &str) -> bool {
    value.strip_prefix(REFERENCE_PREFIX).is_some_and(|random| {
        random.len() == REFERENCE_RANDOM_CHARS
            && random.bytes().all(|b| REFERENCE_ALPHABET.contains(&b))
    })
}

/// The payment the wallet is asked for: one line item per cart line, summing to the total. The
/// items are named in the shopper's language, as the shop's pages name them.
pub(crate) fn payment_details(reference: &str, lines: &[Line]) -> PaymentDetails {
    let tr = crate::i18n::Tr::current();
    lines.iter().fold(
        PaymentDetails::new(CURRENCY, &total(lines).amount_string(), reference),
        |details, line| {
            details.with_item(
                &tr.product_name(line.product),
                line.quantity,
                &line.product.price.amount_string(),
            )
        },
    )
}
