//! The demo shop's memory: carts by session id, orders by reference, and the ids of the
//! webhook events already applied. It is a demo, so all live in maps that are bounded (idle
//! entries expire, the oldest go first) and vanish on exit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use saifu_sdk::webhooks::{Event, EventType};
use saifu_sdk::{random_token, Payment, PendingCheckout};
use secrecy::SecretString;

use crate::shop::{Cart, Line, Yen};

/// Carts and orders untouched for this long are forgotten.
const IDLE: Duration = Duration::from_secs(24 * 60 * 60);
/// Caps on what a stream of cookie-less requests can make the shop remember.
const MAX_SESSIONS: usize = 10_000;
const MAX_ORDERS: usize = 10_000;
/// Webhook event ids are remembered as long as orders, so a redelivery of any event about a
/// remembered order is recognised.
const MAX_EVENTS: usize = 100_000;

/// One shopper's browser: the cart, and a checkout on its way through the wallet.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) cart: Cart,
    pub(crate) checkout: Option<CheckoutInProgress>,
    last_seen: Instant,
}

/// Kept from `POST /checkout` until the wallet redirects back. It holds the PKCE verifier, whose
/// `Debug` is redacted.
#[derive(Debug)]
pub(crate) struct CheckoutInProgress {
    pub(crate) reference: String,
    pub(crate) pending: PendingCheckout,
    /// The cart as it was sent to the wallet: the order is what the shopper approved.
    pub(crate) lines: Vec<Line>,
}

pub(crate) struct Order {
    pub(crate) reference: String,
    /// The session that placed it: only that browser may see or refund it.
    pub(crate) owner: String,
    pub(crate) lines: Vec<Line>,
    pub(crate) total: Yen,
    pub(crate) state: OrderState,
    /// What the wallet's signed webhooks said about the payment.
    pub(crate) wallet: WalletNotices,
    /// When the order was placed, as the order pages show it.
    pub(crate) placed_at: jiff::Timestamp,
    created: Instant,
}

/// What verified webhooks told the shop about an order's payment, independently of the
/// payments API's answers.
#[derive(Debug, Default)]
pub(crate) struct WalletNotices {
    /// The id of the `payment.captured` event: the wallet confirmed the payment.
    pub(crate) captured_event: Option<String>,
    /// The refunded amount in `payment.refunded` events: the largest, as refunds only add up.
    pub(crate) refunded: Option<Yen>,
    /// The id of the `payment.voided` event.
    pub(crate) voided_event: Option<String>,
}

/// What a verified webhook did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WebhookOutcome {
    Applied,
    /// The event id was seen before: at-least-once delivery sent it again.
    Duplicate,
    /// About a payment for no order the shop remembers.
    UnknownOrder,
    /// Not a payment event the shop acts on, or about another payment than the order's.
    Ignored,
}

pub(crate) enum OrderState {
    /// Granted but not paid yet. The wallet gives a grant back when the card network fails, so
    /// it is kept for "try again"; `problem` says why the last attempt did not go through.
    Unpaid {
        grant: SecretString,
        problem: Option<String>,
    },
    Paid(Box<Payment>),
    /// The card was declined; the grant is spent.
    Declined {
        decline_code: String,
    },
    /// The wallet refused the payment for good (the grant expired, say): its problem code, and
    /// its explanation (in English) when it gave one.
    Failed {
        code: String,
        reason: Option<String>,
    },
}

#[derive(Default)]
pub(crate) struct Store {
    sessions: HashMap<String, Session>,
    orders: HashMap<String, Order>,
    /// Webhook event ids applied (or ignored), with when they arrived.
    events: HashMap<String, Instant>,
}

impl Store {
    /// The session behind a cookie value, if the shop knows it.
    pub(crate) fn session(&mut self, id: &str, now: Instant) -> Option<&mut Session> {
        let session = self.sessions.get_mut(id)?;
        session.last_seen = now;
        Some(session)
    }

    /// Starts a session with an unguessable id, to be set as the cart cookie.
    pub(crate) fn new_session(&mut self, now: Instant) -> String {
        self.sessions
            .retain(|_, s| now.duration_since(s.last_seen) < IDLE);
        evict_oldest(&mut self.sessions, MAX_SESSIONS - 1, |s| s.last_seen);
        let id = random_token();
        self.sessions.insert(
            id.clone(),
            Session {
                cart: Cart::default(),
                checkout: None,
                last_seen: now,
            },
        );
        id
    }

    pub(crate) fn insert_order(
        &mut self,
        reference: String,
        owner: String,
        lines: Vec<Line>,
        grant: SecretString,
        now: Instant,
    ) {
        self.orders
            .retain(|_, o| now.duration_since(o.created) < IDLE);
        evict_oldest(&mut self.orders, MAX_ORDERS - 1, |o| o.created);
        let total = crate::shop::total(&lines);
        self.orders.insert(
            reference.clone(),
            Order {
                reference,
                owner,
                lines,
                total,
                state: OrderState::Unpaid {
                    grant,
                    problem: None,
                },
                wallet: WalletNotices::default(),
                placed_at: jiff::Timestamp::now(),
                created: now,
            },
        );
    }

    /// The order, if it exists and `session` placed it: to anyone else it does not exist.
    pub(crate) fn order(&mut self, reference: &str, session: Option<&str>) -> Option<&mut Order> {
        self.orders
            .get_mut(reference)
            .filter(|o| Some(o.owner.as_str()) == session)
    }

    /// The order, whoever placed it: for the shop's own bookkeeping, never to answer a request.
    pub(crate) fn order_by_reference(&mut self, reference: &str) -> Option<&mut Order> {
        self.orders.get_mut(reference)
    }

    /// The session's orders, newest first.
    pub(crate) fn orders_of(&self, session: &str) -> Vec<&Order> {
        let mut orders: Vec<&Order> = self
            .orders
            .values()
            .filter(|o| o.owner == session)
            .collect();
        orders.sort_by_key(|o| std::cmp::Reverse(o.created));
        orders
    }

    /// Records a successful payment on the order and takes what it bought out of the cart. The
    /// payments API's answer and the `payment.captured` webhook may both report it: the first
    /// stands, and the cart is emptied once.
    pub(crate) fn paid(&mut self, reference: &str, payment: Payment) {
        let Some(order) = self.orders.get_mut(reference) else {
            return;
        };
        if matches!(order.state, OrderState::Paid(_)) {
            return;
        }
        order.state = OrderState::Paid(Box::new(payment));
        if let Some(session) = self.sessions.get_mut(&order.owner) {
            session.cart.remove_ordered(&order.lines);
        }
    }

    /// Applies a verified webhook to the order of its payment, once per event id.
    pub(crate) fn webhook(&mut self, event: &Event, now: Instant) -> WebhookOutcome {
        self.events.retain(|_, at| now.duration_since(*at) < IDLE);
        if self.events.contains_key(&event.id) {
            return WebhookOutcome::Duplicate;
        }
        evict_oldest(&mut self.events, MAX_EVENTS - 1, |at| *at);
        self.events.insert(event.id.clone(), now);

        let (Some(kind), Some(payment)) = (event.kind(), event.payment()) else {
            return WebhookOutcome::Ignored;
        };
        let reference = payment.order_reference.clone();
        let Some(order) = self.orders.get_mut(&reference) else {
            return WebhookOutcome::UnknownOrder;
        };
        if let OrderState::Paid(known) = &order.state {
            if known.id != payment.id {
                return WebhookOutcome::Ignored;
            }
        }
        match kind {
            EventType::PaymentCaptured => {
                order
                    .wallet
                    .captured_event
                    .get_or_insert_with(|| event.id.clone());
                // The payments API's answer was lost (the order offers "try again"): the
                // wallet says it went through, so the order is paid.
                if matches!(order.state, OrderState::Unpaid { .. }) {
                    self.paid(&reference, payment);
                }
            }
            EventType::PaymentRefunded => {
                let Some(refunded) = Yen::parse(&payment.refunded_amount) else {
                    return WebhookOutcome::Ignored;
                };
                if order.wallet.refunded.is_some_and(|known| known >= refunded) {
                    return WebhookOutcome::Applied;
                }
                order.wallet.refunded = Some(refunded);
                // A refund made elsewhere (by the issuer deciding a dispute, say) shows on the
                // order page; an older event never undoes a newer refund.
                if let OrderState::Paid(known) = &mut order.state {
                    if Yen::parse(&known.refunded_amount).is_none_or(|k| k < refunded) {
                        known.refunded_amount = payment.refunded_amount;
                    }
                }
            }
            EventType::PaymentVoided => {
                order
                    .wallet
                    .voided_event
                    .get_or_insert_with(|| event.id.clone());
                if let OrderState::Paid(known) = &mut order.state {
                    known.status = payment.status;
                }
            }
            _ => return WebhookOutcome::Ignored,
        }
        WebhookOutcome::Applied
    }
}

/// Removes the entries with the oldest `stamp` until at most `keep` remain.
pub(super) fn evict_oldest<V>(
    map: &mut HashMap<String, V>,
    keep: usize,
    stamp: impl Fn(&V) -> Instant,
) {
    if map.len() <= keep {
        return;
    }
    let mut by_age: Vec<(Instant, String)> =
        map.iter().map(|(k, v)| (stamp(v), k.clone())).collect();
    by_age.sort();
    for (_, key) in by_age.into_iter().take(map.len() - keep) {
        map.remove(&key);
    }
}
