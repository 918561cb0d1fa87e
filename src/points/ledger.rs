//! The points ledger's vocabulary: accounts, entry kinds, hold states, lots, postings and the
//! plans the rules hand to the store. Types only: the decisions live in `points::rules`, and
//! the store, which applies these inside its transactions, imports this file and never them.

use std::fmt;

/// An account of the double-entry points ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Account {
    /// The issuer's liability: where earned points come from and where spent ones go back.
    Issuer,
    /// A shopper's points they can use.
    Available(String),
    /// A shopper's points held for a consent until its payment captures or lapses.
    Held(String),
    /// What a merchant's campaign funds beyond the issuer's base rate.
    Campaign(String),
}

impl Account {
    /// The account's key in `points_entries` and `points_balances`.
    pub fn key(&self) -> String {
        match self {
            Account::Issuer => "issuer:liability".into(),
            Account::Available(user) => format!("shopper:{user}:available"),
            Account::Held(user) => format!("shopper:{user}:held"),
            Account::Campaign(client) => format!("merchant:{client}:campaign"),
        }
    }
}

/// Why points moved: the `kind` of every entry of a posting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Hold,
    Release,
    Redeem,
    Earn,
    Reverse,
    Restore,
    Expire,
}

impl EntryKind {
    const ALL: [EntryKind; 7] = [
        EntryKind::Hold,
        EntryKind::Release,
        EntryKind::Redeem,
        EntryKind::Earn,
        EntryKind::Reverse,
        EntryKind::Restore,
        EntryKind::Expire,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Hold => "hold",
            EntryKind::Release => "release",
            EntryKind::Redeem => "redeem",
            EntryKind::Earn => "earn",
            EntryKind::Reverse => "reverse",
            EntryKind::Restore => "restore",
            EntryKind::Expire => "expire",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One balanced set of ledger entries; its legs sum to zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    pub kind: EntryKind,
    pub payment_id: Option<String>,
    pub legs: Vec<(Account, i64)>,
}

impl Posting {
    pub fn new(kind: EntryKind, payment_id: Option<&str>, legs: Vec<(Account, i64)>) -> Self {
        Self {
            kind,
            payment_id: payment_id.map(str::to_string),
            legs,
        }
    }

    pub fn is_balanced(&self) -> bool {
        // Summed in i128: legs near `i64::MAX` must not overflow the check itself.
        self.legs.iter().map(|(_, a)| i128::from(*a)).sum::<i128>() == 0
    }
}

/// Where a consent's held points are: `held → in_payment → posted | released`, and back from
/// `in_payment` to `held` when a payment is abandoned before any outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldState {
    Held,
    InPayment,
    Posted,
    Released,
}

impl HoldState {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldState::Held => "held",
            HoldState::InPayment => "in_payment",
            HoldState::Posted => "posted",
            HoldState::Released => "released",
        }
    }
}

/// A change of a hold's state, applied only if the hold is in `from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldMove {
    pub from: HoldState,
    pub to: HoldState,
}

/// A hold the store moved, as it read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldPoints {
    pub consent_id: String,
    pub user_id: String,
    pub points: i64,
}

/// A lot of earned (or given back) points, spent soonest-expiring first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lot {
    pub id: String,
    pub remaining: i64,
    pub expires_at: i64,
    pub created_at: i64,
}

/// Points taken from one lot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotTake {
    pub lot_id: String,
    pub points: i64,
}

/// Who pays for a lot's points: the issuer's programme, or the merchant whose campaign added
/// them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Funder {
    Issuer,
    Merchant(String),
}

impl Funder {
    /// The funder as `points_lots.funder` stores it.
    pub fn key(&self) -> String {
        match self {
            Funder::Issuer => "issuer".into(),
            Funder::Merchant(client) => format!("merchant:{client}"),
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "issuer" => Some(Funder::Issuer),
            _ => raw
                .strip_prefix("merchant:")
                .filter(|c| !c.is_empty())
                .map(|c| Funder::Merchant(c.to_string())),
        }
    }

    /// The ledger account the funder's points come from, and go back to.
    pub fn account(&self) -> Account {
        match self {
            Funder::Issuer => Account::Issuer,
            Funder::Merchant(client) => Account::Campaign(client.clone()),
        }
    }
}

/// How a lot came to be: earned on a payment, or given back by a refund of redeemed points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LotSource {
    Earn,
    Restore,
}

impl LotSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LotSource::Earn => "earn",
            LotSource::Restore => "restore",
        }
    }
}

/// A fresh lot to add with a crediting posting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLot {
    pub user_id: String,
    pub points: i64,
    pub expires_at: i64,
    pub funder: Funder,
    pub payment_id: String,
    pub source: LotSource,
}

/// A posting that credits a shopper, the lots (one per funder) that carry the credited
/// points, and, under rolling expiry, the date every lot of the shopper's moves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credit {
    pub posting: Posting,
    pub lots: Vec<NewLot>,
    pub extend_to: Option<i64>,
}

impl Credit {
    /// The points the credit gives the shopper.
    pub fn points(&self) -> i64 {
        self.lots.iter().map(|l| l.points).sum()
    }
}

/// A lot earned on a payment, as a refund of that payment sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentLot {
    pub id: String,
    pub funder: Funder,
    /// The points credited when it was earned.
    pub points: i64,
    pub remaining: i64,
    /// What refunds took back, and what they could not because the shopper had spent it.
    pub reversed: i64,
    pub unreversed: i64,
}

/// What one refund does to one lot of its payment: points taken back, and the part of the
/// lot's share already spent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotReversal {
    pub lot_id: String,
    pub taken: i64,
    pub unreversed: i64,
}

/// A refund's reversal of earned points, lot by lot: the posting (none when nothing could be
/// taken) and each lot's part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reversal {
    pub posting: Option<Posting>,
    pub lots: Vec<LotReversal>,
}

impl Reversal {
    /// The refund's share of the earned points: taken back or not.
    pub fn share(&self) -> i64 {
        self.lots.iter().map(|l| l.taken + l.unreversed).sum()
    }

    /// The part of the share the shopper had already spent.
    pub fn unreversed(&self) -> i64 {
        self.lots.iter().map(|l| l.unreversed).sum()
    }
}

/// A posting that debits a shopper's available points, and the lots it takes them from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Debit {
    pub posting: Posting,
    pub takes: Vec<LotTake>,
}

/// A lot past its date, with what is left of it, whose it is and who funded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiringLot {
    pub id: String,
    pub user_id: String,
    pub remaining: i64,
    pub funder: Funder,
}

/// Why the ledger refused a move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointsRefusal {
    /// The shopper has fewer points available than the move takes.
    Insufficient,
}

/// The ledger's decisions that need rows read inside the store's transaction. The store
/// hands it the rows and applies what it answers, in the same transaction.
pub trait Ledger: Send + Sync {
    /// Holding `points` of the shopper's for a consent, from `lots` (in any order).
    fn hold(&self, user_id: &str, points: i64, lots: Vec<Lot>) -> Result<Debit, PointsRefusal>;
    /// Giving held points back to the shopper (the payment did not happen).
    fn release(&self, hold: &HeldPoints) -> Posting;
    /// Spending held points on the payment `payment_id`.
    fn redeem(&self, hold: &HeldPoints, payment_id: &str) -> Posting;
    /// Taking back the points earned on `payment_id` that a refund bringing its refunded total
    /// to `refunded_minor` of `captured_minor` reverses: from the payment's own `lots`, each
    /// its pro-rata share, as far as the lot still holds it, back to the lot's funder.
    fn reverse(
        &self,
        user_id: &str,
        payment_id: &str,
        lots: &[PaymentLot],
        refunded_minor: i64,
        captured_minor: i64,
    ) -> Reversal;
    /// Expiring what is left of a lot past its date, back to its funder.
    fn expire(&self, lot: &ExpiringLot) -> Posting;
}
