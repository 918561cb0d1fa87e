//! The demo shop's memory: carts by session id and orders by reference. It is a demo, so both
//! live in maps that are bounded (idle entries expire, the oldest go first) and vanish on exit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::shop::{Cart, Line, Yen};
use crate::client::{random_token, PendingCheckout};
use crate::payments::Payment;

/// Carts and orders untouched for this long are forgotten.
const IDLE: Duration = Duration::from_secs(24 * 60 * 60);
/// Caps on what a stream of cookie-less requests can make the shop remember.
const MAX_SESSIONS: usize = 10_000;
const MAX_ORDERS: usize = 10_000;

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
    created: Instant,
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
    /// The wallet refused the payment for good (the grant expired, say).
    Failed {
        reason: String,
    },
}

#[derive(Default)]
pub(crate) struct Store {
    sessions: HashMap<String, Session>,
    orders: HashMap<String, Order>,
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
        let total = super::shop::total(&lines);
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

    /// Records a successful payment on the order and takes what it bought out of the cart.
    pub(crate) fn paid(&mut self, reference: &str, payment: Payment) {
        let Some(order) = self.orders.get_mut(reference) else {
            return;
        };
        order.state = OrderState::Paid(Box::new(payment));
        if let Some(session) = self.sessions.get_mut(&order.owner) {
            session.cart.remove_ordered(&order.lines);
        }
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
