//! The demo shop's pages: askama templates from `demo-shop/templates`, which HTML-escape every
//! value, and the views they show. The pages load one stylesheet from the shop and run no script.

use askama::Template;
use saifu_sdk::Payment;

use crate::shop::{Cart, Line, Product, Yen, CURRENCY};
use crate::store::{Order, OrderState};

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

/// The items of a cart or an order (`templates/lines.html`).
struct LinesTable<'a> {
    lines: &'a [Line],
    total: Yen,
    caption: &'a str,
    /// A remove button on each line.
    remove: bool,
}

/// The page as a string. Rendering only writes strings and numbers into a `String`, which
/// cannot fail.
fn render(page: &impl Template) -> String {
    page.render()
        .expect("a demo shop page renders into a String")
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    chrome: &'a Chrome<'a>,
    products: &'a [Product],
}

pub(crate) fn home(chrome: &Chrome, products: &[Product]) -> String {
    render(&HomePage { chrome, products })
}

/// One line of "Your orders".
struct OrderLink<'a> {
    reference: &'a str,
    total: Yen,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "cart.html")]
struct CartPage<'a> {
    chrome: &'a Chrome<'a>,
    empty: bool,
    table: LinesTable<'a>,
    orders: Vec<OrderLink<'a>>,
    /// "Which wallet do you use?" (`templates/wallet_field.html`).
    chooser: bool,
}

#[cfg(test)]
pub(crate) fn cart(chrome: &Chrome, cart: &Cart, orders: &[&Order]) -> String {
    cart_page(chrome, cart, orders, false)
}

/// The cart, asking for the shopper's wallet when `chooser` is set.
pub(crate) fn cart_page(chrome: &Chrome, cart: &Cart, orders: &[&Order], chooser: bool) -> String {
    render(&CartPage {
        chooser,
        chrome,
        empty: cart.is_empty(),
        table: LinesTable {
            lines: cart.lines(),
            total: cart.total(),
            caption: "Items in your cart",
            remove: true,
        },
        orders: orders
            .iter()
            .map(|order| OrderLink {
                reference: &order.reference,
                total: order.total,
                status: order_status(order),
            })
            .collect(),
    })
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
        Some(yen) if payment.currency == CURRENCY => yen.to_string(),
        _ => format!("{amount} {}", payment.currency),
    }
}

fn points(n: i64) -> String {
    if n == 1 {
        "1 point".into()
    } else {
        format!("{n} points")
    }
}

/// A sentence for a card decline that names the decline code.
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

/// Whether a paid order says that the wallet's signed confirmation has arrived.
enum Confirmation {
    /// The shop takes no webhooks: nothing to say.
    NotAsked,
    Confirmed,
    Awaiting,
}

/// A paid order's summary.
struct PaidView {
    heading: &'static str,
    notice: String,
    confirmation: Confirmation,
    status: &'static str,
    brand: String,
    last4: String,
    earned: String,
    redeemed: Option<String>,
    refunded: Option<String>,
    /// What the "Refund this order" button refunds, while something is left.
    refund_left: Option<Yen>,
}

/// What the order page says, by the order's state.
enum Outcome<'a> {
    Paid(Box<PaidView>),
    /// Why the last attempt did not go through.
    Unpaid(&'a str),
    /// The decline sentence.
    Declined(String),
    /// Why the wallet refused the payment.
    Failed(&'a str),
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage<'a> {
    chrome: &'a Chrome<'a>,
    reference: &'a str,
    table: LinesTable<'a>,
    outcome: Outcome<'a>,
}

fn paid_view(order: &Order, payment: &Payment, webhooks: bool) -> PaidView {
    let status = payment_status(payment);
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
    let confirmation = match (webhooks, &order.wallet.captured_event) {
        (false, _) => Confirmation::NotAsked,
        (true, Some(_)) => Confirmation::Confirmed,
        (true, None) => Confirmation::Awaiting,
    };
    PaidView {
        heading,
        notice,
        confirmation,
        status,
        brand: brand_name(&payment.card.brand),
        last4: payment.card.last4.clone(),
        earned: points(payment.points_earned),
        redeemed: (payment.points_redeemed > 0).then(|| points(payment.points_redeemed)),
        refunded: Yen::parse(&payment.refunded_amount)
            .is_some_and(|r| r.0 > 0)
            .then(|| money(payment, &payment.refunded_amount)),
        refund_left: refundable(payment),
    }
}

/// The order page. `webhooks`: whether the shop takes the wallet's webhooks, so that a paid
/// order says whether the wallet's signed confirmation has arrived.
pub(crate) fn order(chrome: &Chrome, order: &Order, webhooks: bool) -> String {
    let outcome = match &order.state {
        OrderState::Paid(payment) => Outcome::Paid(Box::new(paid_view(order, payment, webhooks))),
        OrderState::Unpaid { problem, .. } => Outcome::Unpaid(
            problem
                .as_deref()
                .unwrap_or("Your payment has not gone through yet."),
        ),
        OrderState::Declined { decline_code } => Outcome::Declined(decline_sentence(decline_code)),
        OrderState::Failed { reason } => Outcome::Failed(reason),
    };
    render(&OrderPage {
        chrome,
        reference: &order.reference,
        table: LinesTable {
            lines: &order.lines,
            total: order.total,
            caption: "Items in this order",
            remove: false,
        },
        outcome,
    })
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    chrome: &'a Chrome<'a>,
    title: &'a str,
    text: &'a str,
    next: &'a Next<'a>,
}

/// A page that says what happened and where to go next: cancellations and errors.
pub(crate) fn message(chrome: &Chrome, title: &str, text: &str, next: &Next) -> String {
    render(&MessagePage {
        chrome,
        title,
        text,
        next,
    })
}

/// Phone first: one column, large tap targets; wider screens get a grid of products.
pub(crate) const STYLE: &str = include_str!("../static/style.css");

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
        brand_name(&payment.card.brand),
        payment.card.last4
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
