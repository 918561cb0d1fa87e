//! The demo shop's pages: askama templates from `demo-shop/templates`, which HTML-escape every
//! value, and the views they show, in the request's language (`crate::i18n`). The pages load one
//! stylesheet, one icon and one small script (`zone.js`, which adds the device's time zone to
//! the footer's chooser) from the shop, and no inline script.

use askama::Template;
use saifu_sdk::Payment;

use crate::i18n::Tr;
use crate::shop::{Cart, Line, Product, Yen, CURRENCY};
use crate::store::{Order, OrderState};

/// What one point is worth at the shop's checkout. The payments API reports points, not their
/// worth; the wallet's programme values a point at ¥1, as its consent shows.
pub(crate) const POINT_VALUE_YEN: u64 = 1;

/// What every page shows around its content.
pub(crate) struct Chrome<'a> {
    /// The shop's path, ending in `/`: links are `{base}cart` and so on.
    pub(crate) base: &'a str,
    pub(crate) cart_count: u32,
    /// The request's language and time zone.
    pub(crate) tr: Tr,
    /// Where the language switcher comes back to: the page's own path (the shop's home when
    /// the page answers a form).
    pub(crate) here: String,
}

impl<'a> Chrome<'a> {
    /// The chrome of the request being answered.
    pub(crate) fn new(base: &'a str, cart_count: u32) -> Self {
        Self {
            base,
            cart_count,
            tr: Tr::current(),
            here: crate::i18n::current_path().unwrap_or_else(|| base.to_owned()),
        }
    }

    /// "1 item", "3 items", for the cart's count.
    fn items(&self) -> String {
        self.tr
            .count("shop-cart-items", "count", i64::from(self.cart_count))
    }
}

/// A link to follow after a message.
pub(crate) struct Next {
    pub(crate) href: String,
    pub(crate) label: String,
}

/// One line of an items table, with its words in the page's language.
struct LineView {
    id: &'static str,
    name: String,
    each: String,
    quantity: u32,
    subtotal: Yen,
}

/// The items of a cart or an order (`templates/lines.html`).
struct LinesTable {
    lines: Vec<LineView>,
    total: Yen,
    caption: String,
    /// A remove button on each line.
    remove: bool,
}

impl LinesTable {
    fn new(tr: &Tr, lines: &[Line], total: Yen, caption: &str, remove: bool) -> Self {
        Self {
            lines: lines
                .iter()
                .map(|line| LineView {
                    id: line.product.id,
                    name: tr.product_name(line.product),
                    each: tr.args(
                        "shop-lines-each",
                        [("price", tr.yen(line.product.price).as_str())],
                    ),
                    quantity: line.quantity,
                    subtotal: line.subtotal(),
                })
                .collect(),
            total,
            caption: tr.t(caption),
            remove,
        }
    }
}

/// The page as a string. Rendering only writes strings and numbers into a `String`, which
/// cannot fail.
fn render(page: &impl Template) -> String {
    page.render()
        .expect("a demo shop page renders into a String")
}

/// A product as the products page shows it.
struct ProductView {
    id: &'static str,
    name: String,
    description: String,
    price: Yen,
    add_label: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    chrome: &'a Chrome<'a>,
    products: Vec<ProductView>,
}

pub(crate) fn home(chrome: &Chrome, products: &[Product]) -> String {
    let tr = &chrome.tr;
    let products = products
        .iter()
        .map(|p| {
            let name = tr.product_name(p);
            ProductView {
                id: p.id,
                add_label: tr.args("shop-add-to-cart-label", [("product", name.as_str())]),
                name,
                description: tr.product_description(p),
                price: p.price,
            }
        })
        .collect();
    render(&HomePage { chrome, products })
}

#[derive(Template)]
#[template(path = "cart.html")]
struct CartPage<'a> {
    chrome: &'a Chrome<'a>,
    empty: bool,
    table: LinesTable,
    pay_label: String,
    /// How many orders this browser placed: the page links to them.
    orders: usize,
    /// "Which wallet do you use?" (`templates/wallet_field.html`).
    chooser: bool,
}

#[cfg(test)]
pub(crate) fn cart(chrome: &Chrome, cart: &Cart, orders: &[&Order]) -> String {
    cart_page(chrome, cart, orders, false)
}

/// The cart, asking for the shopper's wallet when `chooser` is set.
pub(crate) fn cart_page(chrome: &Chrome, cart: &Cart, orders: &[&Order], chooser: bool) -> String {
    let tr = &chrome.tr;
    render(&CartPage {
        chooser,
        chrome,
        empty: cart.is_empty(),
        table: LinesTable::new(tr, cart.lines(), cart.total(), "shop-cart-caption", true),
        pay_label: tr.args(
            "shop-pay-with-saifu",
            [("amount", tr.yen(cart.total()).as_str())],
        ),
        orders: orders.len(),
    })
}

/// A payment's state in the shopper's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Paid,
    /// Part of the payment was refunded: this much.
    PartlyRefunded(Yen),
    Refunded,
    /// Approved, not yet taken.
    Pending,
    Cancelled,
    Declined,
    /// Not paid yet; "try again" may pay it.
    NotPaidYet,
    /// The wallet refused it for good.
    NotPaid,
    Unknown,
}

impl Status {
    /// The words: "Paid", "Refunded ¥500 of ¥1,800", "支払い済み".
    pub(crate) fn words(self, tr: &Tr, total: Yen) -> String {
        match self {
            Status::Paid => tr.t("shop-status-paid"),
            Status::PartlyRefunded(amount) => tr.args(
                "shop-status-partly-refunded",
                [
                    ("amount", tr.yen(amount).as_str()),
                    ("total", tr.yen(total).as_str()),
                ],
            ),
            Status::Refunded => tr.t("shop-status-refunded"),
            Status::Pending => tr.t("shop-status-pending"),
            Status::Cancelled => tr.t("shop-status-cancelled"),
            Status::Declined => tr.t("shop-status-declined"),
            Status::NotPaidYet => tr.t("shop-status-not-paid-yet"),
            Status::NotPaid => tr.t("shop-status-not-paid"),
            Status::Unknown => tr.t("shop-status-unknown"),
        }
    }

    /// The CSS class of its badge.
    fn tone(self) -> &'static str {
        match self {
            Status::Paid => "ok",
            Status::Declined | Status::NotPaid | Status::NotPaidYet => "bad",
            _ => "neutral",
        }
    }
}

/// The payment's status as the shop's pages state it (the API keeps `captured` after a refund
/// and counts the refunded amount).
pub(crate) fn payment_status(payment: &Payment) -> Status {
    let captured = Yen::parse(&payment.captured_amount).unwrap_or_default();
    let refunded = Yen::parse(&payment.refunded_amount).unwrap_or_default();
    match payment.status.as_str() {
        "captured" if refunded.0 > 0 && refunded >= captured => Status::Refunded,
        "captured" if refunded.0 > 0 => Status::PartlyRefunded(refunded),
        "captured" => Status::Paid,
        "authorized" => Status::Pending,
        "voided" => Status::Cancelled,
        "declined" => Status::Declined,
        _ => Status::Unknown,
    }
}

pub(crate) fn order_status(order: &Order) -> Status {
    match &order.state {
        OrderState::Unpaid { .. } => Status::NotPaidYet,
        OrderState::Paid(payment) => payment_status(payment),
        OrderState::Declined { .. } => Status::Declined,
        OrderState::Failed { .. } => Status::NotPaid,
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

/// How a payment was made up: the total, what points paid and what the card paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Split {
    pub(crate) total: Yen,
    pub(crate) points: i64,
    /// What the points were worth.
    pub(crate) points_value: Yen,
    pub(crate) card: Yen,
}

impl Split {
    pub(crate) fn of(payment: &Payment) -> Option<Split> {
        if payment.currency != CURRENCY {
            return None;
        }
        let total = Yen::parse(&payment.amount)?;
        let points = payment.points_redeemed.max(0);
        let points_value = Yen(u64::try_from(points)
            .ok()?
            .checked_mul(POINT_VALUE_YEN)?
            .min(total.0));
        Some(Split {
            total,
            points,
            points_value,
            card: Yen(total.0 - points_value.0),
        })
    }

    /// Where `amount` (the next refund, after `refunded` earlier) goes: points back first, as
    /// far as points paid and were not given back yet, the rest to the card.
    pub(crate) fn refund(&self, refunded: Yen, amount: Yen) -> (Yen, Yen) {
        let points_given_back = refunded.0.min(self.points_value.0);
        let points_left = self.points_value.0 - points_given_back;
        let to_points = amount.0.min(points_left);
        (Yen(amount.0 - to_points), Yen(to_points))
    }
}

/// Points worth `value` yen.
fn points_for(value: Yen) -> i64 {
    i64::try_from(value.0 / POINT_VALUE_YEN).unwrap_or(i64::MAX)
}

/// One order of the orders page.
struct OrderRow {
    reference: String,
    placed: String,
    status: String,
    tone: &'static str,
    total: Yen,
    /// "¥1,736 by card + 64 points", when points paid part of it.
    split: Option<String>,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage<'a> {
    chrome: &'a Chrome<'a>,
    orders: Vec<OrderRow>,
}

fn split_words(tr: &Tr, split: &Split) -> String {
    tr.args(
        "shop-orders-card-and-points",
        [
            ("card", tr.yen(split.card).as_str()),
            ("points", tr.points(split.points).as_str()),
        ],
    )
}

/// The shopper's orders, newest first.
pub(crate) fn orders(chrome: &Chrome, orders: &[&Order]) -> String {
    let tr = &chrome.tr;
    let orders = orders
        .iter()
        .map(|order| {
            let status = order_status(order);
            let split = match &order.state {
                OrderState::Paid(payment) => Split::of(payment).filter(|s| s.points > 0),
                _ => None,
            };
            OrderRow {
                reference: order.reference.clone(),
                placed: tr.time(order.placed_at),
                status: status.words(tr, order.total),
                tone: status.tone(),
                total: order.total,
                split: split.map(|s| split_words(tr, &s)),
            }
        })
        .collect();
    render(&OrdersPage { chrome, orders })
}

/// A sentence for a card decline, in the shopper's words.
pub(crate) fn decline_sentence(tr: &Tr, decline_code: &str) -> String {
    let why = tr.t_or(
        &format!("shop-decline-{decline_code}"),
        &tr.t("shop-decline-other"),
    );
    tr.args("shop-decline", [("why", why.as_str())])
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
    heading: String,
    notice: String,
    confirmation: Confirmation,
    status: String,
    card: String,
    split: Option<Split>,
    points_used: String,
    earned: String,
    refunded: Option<Yen>,
    /// What is left to refund, while something is.
    refund_left: Option<Yen>,
    refund_label: String,
}

/// What the order page says, by the order's state.
enum Outcome {
    Paid(Box<PaidView>),
    /// Why the last attempt did not go through.
    Unpaid(String),
    /// The decline sentence.
    Declined(String),
    /// Why the wallet refused the payment.
    Failed(String),
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage<'a> {
    chrome: &'a Chrome<'a>,
    title: String,
    reference: &'a str,
    placed: String,
    table: LinesTable,
    outcome: Outcome,
}

/// "Visa ending in 4242".
fn card_words(tr: &Tr, payment: &Payment) -> String {
    tr.args(
        "shop-card-ending",
        [
            ("brand", brand_name(&payment.card.brand).as_str()),
            ("last4", payment.card.last4.as_str()),
        ],
    )
}

fn paid_view(tr: &Tr, order: &Order, payment: &Payment, webhooks: bool) -> PaidView {
    let status = payment_status(payment);
    let (heading, notice) = if status == Status::Refunded {
        (
            tr.t("shop-order-refunded-heading"),
            refund_sentence(tr, payment),
        )
    } else {
        (
            tr.t("shop-order-thanks"),
            tr.args(
                "shop-order-paid-notice",
                [(
                    "amount",
                    money(tr, payment, &payment.captured_amount).as_str(),
                )],
            ),
        )
    };
    let confirmation = match (webhooks, &order.wallet.captured_event) {
        (false, _) => Confirmation::NotAsked,
        (true, Some(_)) => Confirmation::Confirmed,
        (true, None) => Confirmation::Awaiting,
    };
    let split = Split::of(payment).filter(|s| s.points > 0);
    let refund_left = refundable(payment);
    PaidView {
        heading,
        notice,
        confirmation,
        status: status.words(tr, order.total),
        card: card_words(tr, payment),
        points_used: split.map_or_else(String::new, |s| {
            tr.args(
                "shop-order-points-used",
                [("points", tr.points(s.points).as_str())],
            )
        }),
        split,
        earned: tr.points(payment.points_earned),
        refunded: Yen::parse(&payment.refunded_amount).filter(|r| r.0 > 0),
        refund_label: refund_left.map_or_else(String::new, |left| {
            tr.args("shop-refund-link", [("amount", tr.yen(left).as_str())])
        }),
        refund_left,
    }
}

/// The order page. `webhooks`: whether the shop takes the wallet's webhooks, so that a paid
/// order says whether the wallet's signed confirmation has arrived.
pub(crate) fn order(chrome: &Chrome, order: &Order, webhooks: bool) -> String {
    let tr = &chrome.tr;
    let outcome = match &order.state {
        OrderState::Paid(payment) => {
            Outcome::Paid(Box::new(paid_view(tr, order, payment, webhooks)))
        }
        OrderState::Unpaid { problem, .. } => Outcome::Unpaid(
            tr.args(
                "shop-unpaid-text",
                [(
                    "problem",
                    tr.t(problem.as_deref().unwrap_or("shop-problem-pending"))
                        .as_str(),
                )],
            ),
        ),
        OrderState::Declined { decline_code } => Outcome::Declined(tr.args(
            "shop-declined-text",
            [("sentence", decline_sentence(tr, decline_code).as_str())],
        )),
        OrderState::Failed { code, reason } => {
            let generic = tr.t("shop-failed-generic");
            // The wallet explains in English: an English page shows its words.
            let why = match (tr.locale(), reason) {
                (crate::i18n::Locale::En, Some(reason)) => reason.clone(),
                _ => tr.t_or(&format!("shop-error-{code}"), &generic),
            };
            Outcome::Failed(tr.args("shop-failed-text", [("reason", why.as_str())]))
        }
    };
    render(&OrderPage {
        chrome,
        title: tr.args(
            "shop-order-title",
            [("reference", order.reference.as_str())],
        ),
        reference: &order.reference,
        placed: tr.time(order.placed_at),
        table: LinesTable::new(tr, &order.lines, order.total, "shop-order-caption", false),
        outcome,
    })
}

#[derive(Template)]
#[template(path = "refund.html")]
struct RefundPage<'a> {
    chrome: &'a Chrome<'a>,
    title: String,
    reference: &'a str,
    amount: Yen,
    intro: String,
    /// What goes where: each a sentence.
    effects: Vec<String>,
    confirm: String,
}

/// The confirmation before a refund of `left`, what is left to refund of `payment`.
pub(crate) fn refund_confirmation(
    chrome: &Chrome,
    order: &Order,
    payment: &Payment,
    left: Yen,
) -> String {
    let tr = &chrome.tr;
    let amount = tr.yen(left);
    let mut effects = Vec::new();
    let refunded = Yen::parse(&payment.refunded_amount).unwrap_or_default();
    let (to_card, to_points) = match Split::of(payment) {
        Some(split) => split.refund(refunded, left),
        None => (left, Yen(0)),
    };
    if to_card.0 > 0 {
        effects.push(tr.args(
            "shop-refund-to-card",
            [
                ("amount", tr.yen(to_card).as_str()),
                ("card", card_words(tr, payment).as_str()),
            ],
        ));
    }
    if to_points.0 > 0 {
        effects.push(tr.args(
            "shop-refund-to-points",
            [("points", tr.points(points_for(to_points)).as_str())],
        ));
    }
    if payment.points_earned > 0 && refunded.0 == 0 {
        effects.push(tr.args(
            "shop-refund-earned-back",
            [("points", tr.points(payment.points_earned).as_str())],
        ));
    }
    render(&RefundPage {
        chrome,
        title: tr.args(
            "shop-refund-title",
            [("reference", order.reference.as_str())],
        ),
        reference: &order.reference,
        amount: left,
        intro: tr.args(
            "shop-refund-intro",
            [
                ("amount", amount.as_str()),
                ("reference", order.reference.as_str()),
            ],
        ),
        effects,
        confirm: tr.args("shop-refund-confirm", [("amount", amount.as_str())]),
    })
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    chrome: &'a Chrome<'a>,
    title: &'a str,
    text: &'a str,
    next: &'a Next,
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
/// The shop's icon, served from the shop so that the CSP's `img-src 'self'` covers it.
pub(crate) const ICON: &str = include_str!("../static/icon.svg");
/// The pages' only script: it offers the device's time zone in the footer's chooser, which
/// works without it.
pub(crate) const ZONE_JS: &str = include_str!("../static/zone.js");

/// An amount of the payment, in yen when it is (the shop only sells in yen).
fn money(tr: &Tr, payment: &Payment, amount: &str) -> String {
    match Yen::parse(amount) {
        Some(yen) if payment.currency == CURRENCY => tr.yen(yen),
        _ => format!("{amount} {}", payment.currency),
    }
}

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
fn refund_sentence(tr: &Tr, payment: &Payment) -> String {
    let refunded = Yen::parse(&payment.refunded_amount).unwrap_or_default();
    let (to_card, to_points) = match Split::of(payment) {
        Some(split) => split.refund(Yen(0), refunded),
        None => (refunded, Yen(0)),
    };
    let card = card_words(tr, payment);
    let points = tr.points(points_for(to_points));
    match (to_card.0 > 0, to_points.0 > 0) {
        (true, true) => tr.args(
            "shop-refund-done-card-and-points",
            [
                ("amount", tr.yen(to_card).as_str()),
                ("card", card.as_str()),
                ("points", points.as_str()),
            ],
        ),
        (false, true) => tr.args("shop-refund-done-points", [("points", points.as_str())]),
        _ => tr.args(
            "shop-refund-done-card",
            [
                (
                    "amount",
                    money(tr, payment, &payment.refunded_amount).as_str(),
                ),
                ("card", card.as_str()),
            ],
        ),
    }
}
