//! The demo shop's HTML, written as format strings. Every dynamic value goes through `Esc`;
//! the pages load one stylesheet from the shop and run no script.

use std::fmt;

use super::shop::{Cart, Line, Product, Yen};
use super::store::{Order, OrderState};
use crate::payments::Payment;

pub(crate) const SHOP_NAME: &str = "Saifu Demo Shop";

/// HTML-escapes text for element content and quoted attribute values.
pub(crate) struct Esc<'a>(pub(crate) &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

/// What every page shows around its content.
pub(crate) struct Chrome<'a> {
    /// The shop's path, ending in `/`: links are `{base}cart` and so on.
    pub(crate) base: &'a str,
    pub(crate) cart_count: u32,
}

/// A link to follow after a message.
pub(crate) struct Next<'a> {
    pub(crate) href: String,
    pub(crate) label: &'a str,
}

pub(crate) fn layout(chrome: &Chrome, title: &str, main: &str) -> String {
    let base = Esc(chrome.base);
    let count = chrome.cart_count;
    let items = if count == 1 { "item" } else { "items" };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {SHOP_NAME}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{base}style.css">
</head>
<body>
<header class="site">
<a class="brand" href="{base}">{SHOP_NAME}</a>
<nav aria-label="Shop"><a href="{base}cart">Cart <span class="count">{count}</span><span class="visually-hidden"> {items}</span></a></nav>
</header>
<main>
{main}
</main>
<footer class="site"><p>A demonstration merchant for Saifu. The wallet's simulated processor is in test mode: no real money moves.</p></footer>
</body>
</html>
"#,
        title = Esc(title),
    )
}

pub(crate) fn home(chrome: &Chrome, products: &[Product]) -> String {
    let base = Esc(chrome.base);
    let mut list = String::new();
    for p in products {
        list.push_str(&format!(
            r#"<li class="product">
<h2 id="product-{id}">{name}</h2>
<p>{description}</p>
<p class="price">{price}</p>
<form method="post" action="{base}cart/add">
<input type="hidden" name="product" value="{id}">
<button type="submit" aria-label="Add to cart: {name}">Add to cart</button>
</form>
</li>
"#,
            id = Esc(p.id),
            name = Esc(p.name),
            description = Esc(p.description),
            price = p.price,
        ));
    }
    let main = format!(
        r#"<h1>Small things for slow mornings</h1>
<p class="lede">Pay with your Saifu wallet: you confirm the exact amount with a passkey, and this shop never sees your card.</p>
<ul class="products">
{list}</ul>"#
    );
    layout(chrome, "Products", &main)
}

/// The items of a cart or an order; `remove` adds a remove button to each line.
fn lines_table(base: &str, lines: &[Line], total: Yen, caption: &str, remove: bool) -> String {
    let base = Esc(base);
    let mut rows = String::new();
    for line in lines {
        let action = if remove {
            format!(
                r#"<td><form method="post" action="{base}cart/remove"><input type="hidden" name="product" value="{id}"><button type="submit" class="secondary">Remove<span class="visually-hidden"> {name}</span></button></form></td>"#,
                id = Esc(line.product.id),
                name = Esc(line.product.name),
            )
        } else {
            String::new()
        };
        rows.push_str(&format!(
            r#"<tr><th scope="row">{name}<span class="unit">{unit} each</span></th><td class="num">{quantity}</td><td class="num">{subtotal}</td>{action}</tr>
"#,
            name = Esc(line.product.name),
            unit = line.product.price,
            quantity = line.quantity,
            subtotal = line.subtotal(),
        ));
    }
    let (action_head, action_foot) = if remove {
        (
            r#"<th scope="col"><span class="visually-hidden">Remove</span></th>"#,
            "<td></td>",
        )
    } else {
        ("", "")
    };
    format!(
        r#"<table class="lines">
<caption>{caption}</caption>
<thead><tr><th scope="col">Item</th><th scope="col" class="num">Quantity</th><th scope="col" class="num">Price</th>{action_head}</tr></thead>
<tbody>
{rows}</tbody>
<tfoot><tr><th scope="row" colspan="2">Total</th><td class="num total">{total}</td>{action_foot}</tr></tfoot>
</table>"#,
        caption = Esc(caption),
    )
}

pub(crate) fn cart(chrome: &Chrome, cart: &Cart, orders: &[&Order]) -> String {
    let base = Esc(chrome.base);
    let mut main = String::from("<h1>Your cart</h1>\n");
    if cart.is_empty() {
        main.push_str(&format!(
            r#"<p>Your cart is empty.</p>
<p><a href="{base}">Browse the products</a></p>
"#
        ));
    } else {
        main.push_str(&lines_table(
            chrome.base,
            cart.lines(),
            cart.total(),
            "Items in your cart",
            true,
        ));
        main.push_str(&format!(
            r#"
<form method="post" action="{base}checkout" class="pay">
<button type="submit" class="pay">Pay with Saifu ({total})</button>
</form>
<p class="hint">Saifu opens to show you exactly this payment. Confirm it there with your passkey, and you come straight back here.</p>
<p><a href="{base}">Continue shopping</a></p>
"#,
            total = cart.total(),
        ));
    }
    if !orders.is_empty() {
        main.push_str("<h2>Your orders</h2>\n<ul class=\"orders\">\n");
        for order in orders {
            main.push_str(&format!(
                r#"<li><a href="{base}orders/{reference}">Order {reference}</a>: {total}, {status}</li>
"#,
                reference = Esc(&order.reference),
                total = order.total,
                status = Esc(order_status(order)),
            ));
        }
        main.push_str("</ul>\n");
    }
    layout(chrome, "Your cart", &main)
}

/// The payment's status as the order page states it: the API's word, except that a refund
/// shows (the API keeps `captured` and counts the refunded amount).
pub(crate) fn payment_status(payment: &Payment) -> &'static str {
    let captured = Yen::parse(&payment.captured_amount).unwrap_or_default();
    let refunded = Yen::parse(&payment.refunded_amount).unwrap_or_default();
    match payment.status.as_str() {
        "captured" if refunded.0 > 0 && refunded >= captured => "refunded",
        "captured" if refunded.0 > 0 => "partially refunded",
        "captured" => "captured",
        "authorized" => "authorized",
        "voided" => "voided",
        "declined" => "declined",
        _ => "unknown",
    }
}

fn order_status(order: &Order) -> &'static str {
    match &order.state {
        OrderState::Unpaid { .. } => "not paid yet",
        OrderState::Paid(payment) => payment_status(payment),
        OrderState::Declined { .. } => "declined",
        OrderState::Failed { .. } => "not paid",
    }
}

/// What is left to refund of a payment: the captured amount less earlier refunds.
pub(crate) fn refundable(payment: &Payment) -> Option<Yen> {
    if payment.status != "captured" {
        return None;
    }
    let captured = Yen::parse(&payment.captured_amount)?;
    let refunded = Yen::parse(&payment.refunded_amount)?;
    Some(Yen(captured.0.checked_sub(refunded.0)?)).filter(|left| left.0 > 0)
}

/// An amount of the payment, in yen when it is (the shop only sells in yen).
fn money(payment: &Payment, amount: &str) -> String {
    match Yen::parse(amount) {
        Some(yen) if payment.currency == super::shop::CURRENCY => yen.to_string(),
        _ => format!("{} {}", Esc(amount), Esc(&payment.currency)),
    }
}

fn points(n: i64) -> String {
    if n == 1 {
        "1 point".into()
    } else {
        format!("{n} points")
    }
}

/// A sentence for a card decline that names the decline code (plain text: escape it).
pub(crate) fn decline_sentence(decline_code: &str) -> String {
    let why = match decline_code {
        "insufficient_funds" => "the card does not have enough funds",
        "expired_card" => "the card has expired",
        "incorrect_cvc" => "the card's security code did not match",
        "processing_error" => "the card network had a problem processing it",
        _ => "the card issuer would not approve it",
    };
    format!("Your card was declined because {why} (decline code: {decline_code}).")
}

/// The order page. `webhooks`: whether the shop takes the wallet's webhooks, so that a paid
/// order says whether the wallet's signed confirmation has arrived.
pub(crate) fn order(chrome: &Chrome, order: &Order, webhooks: bool) -> String {
    let base = Esc(chrome.base);
    let reference = Esc(&order.reference);
    let items = lines_table(
        chrome.base,
        &order.lines,
        order.total,
        "Items in this order",
        false,
    );
    let cart_link = format!(r#"<p><a href="{base}cart">Back to your cart</a></p>"#);
    let main = match &order.state {
        OrderState::Paid(payment) => {
            let status = payment_status(payment);
            let refunded = Yen::parse(&payment.refunded_amount).is_some_and(|r| r.0 > 0);
            let (heading, notice) = if status == "refunded" {
                ("Order refunded", refund_sentence(payment))
            } else {
                (
                    "Thank you for your order",
                    format!(
                        "Your payment of {} went through.",
                        money(payment, &payment.captured_amount)
                    ),
                )
            };
            let mut summary = format!(
                r#"<dl class="summary">
<dt>Order</dt><dd>{reference}</dd>
<dt>Payment status</dt><dd>{status}</dd>
<dt>Paid with</dt><dd>{brand} ending in {last4}</dd>
<dt>Points earned</dt><dd>{earned}</dd>
"#,
                brand = Esc(&brand_name(&payment.card.brand)),
                last4 = Esc(&payment.card.last4),
                earned = points(payment.points_earned),
            );
            if payment.points_redeemed > 0 {
                summary.push_str(&format!(
                    "<dt>Points redeemed</dt><dd>{}</dd>\n",
                    points(payment.points_redeemed)
                ));
            }
            if refunded {
                summary.push_str(&format!(
                    "<dt>Refunded</dt><dd>{}</dd>\n",
                    money(payment, &payment.refunded_amount)
                ));
            }
            summary.push_str("</dl>\n");
            let refund = refundable(payment).map_or_else(String::new, |left| {
                format!(
                    r#"<form method="post" action="{base}orders/{reference}/refund" class="refund">
<button type="submit" class="secondary">Refund this order ({left})</button>
</form>
"#
                )
            });
            let confirmation = match (webhooks, &order.wallet.captured_event) {
                (false, _) => "",
                (true, Some(_)) => {
                    "<p class=\"confirmation\">Payment confirmed by Saifu (signed webhook).</p>\n"
                }
                (true, None) => {
                    "<p class=\"confirmation\">Awaiting the wallet's confirmation.</p>\n"
                }
            };
            format!(
                r#"<h1>{heading}</h1>
<p class="notice success" role="status">{notice}</p>
{confirmation}{summary}{items}
{refund}<p><a href="{base}">Continue shopping</a></p>"#
            )
        }
        OrderState::Unpaid { problem, .. } => {
            let problem = problem
                .as_deref()
                .unwrap_or("Your payment has not gone through yet.");
            format!(
                r#"<h1>Payment not completed</h1>
<p class="notice error" role="alert">{problem} Nothing has been charged. Please try again.</p>
<form method="post" action="{base}orders/{reference}/pay" class="pay">
<button type="submit" class="pay">Try the payment again</button>
</form>
{items}
{cart_link}"#,
                problem = Esc(problem),
            )
        }
        OrderState::Declined { decline_code } => format!(
            r#"<h1>Payment declined</h1>
<p class="notice error" role="alert">{sentence} Nothing was charged. Your items are still in your cart, so you can pay again with another card.</p>
{items}
{cart_link}"#,
            sentence = Esc(&decline_sentence(decline_code)),
        ),
        OrderState::Failed { reason } => format!(
            r#"<h1>Payment not completed</h1>
<p class="notice error" role="alert">{reason} Nothing was charged. Your items are still in your cart: please pay again from there.</p>
{items}
{cart_link}"#,
            reason = Esc(reason),
        ),
    };
    layout(chrome, &format!("Order {}", order.reference), &main)
}

/// A page that says what happened and where to go next: cancellations and errors.
pub(crate) fn message(chrome: &Chrome, title: &str, text: &str, next: &Next) -> String {
    let main = format!(
        r#"<h1>{title}</h1>
<p class="notice" role="alert">{text}</p>
<p><a href="{href}">{label}</a></p>"#,
        title = Esc(title),
        text = Esc(text),
        href = Esc(&next.href),
        label = Esc(next.label),
    );
    layout(chrome, title, &main)
}

/// Phone first: one column, large tap targets; wider screens get a grid of products.
pub(crate) const STYLE: &str = include_str!("style.css");

/// A card brand as shoppers know it.
fn brand_name(brand: &str) -> String {
    match brand {
        "visa" => "Visa".into(),
        "mastercard" => "Mastercard".into(),
        "amex" => "American Express".into(),
        "jcb" => "JCB".into(),
        "diners" => "Diners Club".into(),
        "discover" => "Discover".into(),
        "unionpay" => "UnionPay".into(),
        other => other.to_string(),
    }
}

/// What went back where: the card gets what it paid, the wallet gets the points back.
fn refund_sentence(payment: &Payment) -> String {
    let refunded =
        Yen::parse(&payment.refunded_amount).map_or(0, |y| i64::try_from(y.0).unwrap_or(i64::MAX));
    let points_back = payment.points_redeemed.min(refunded).max(0);
    let to_card = refunded - points_back;
    let card = format!(
        "your {} ending in {}",
        Esc(&brand_name(&payment.card.brand)),
        Esc(&payment.card.last4)
    );
    match (to_card > 0, points_back > 0) {
        (true, true) => format!(
            "We refunded {} to {card} and returned {} to your Saifu wallet.",
            money(payment, &to_card.to_string()),
            points(points_back)
        ),
        (false, true) => format!("We returned {} to your Saifu wallet.", points(points_back)),
        _ => format!(
            "We refunded {} to {card}.",
            money(payment, &payment.refunded_amount)
        ),
    }
}
