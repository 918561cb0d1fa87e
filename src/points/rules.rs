//! How points move: the postings that go with each step of a hold and a payment (hold,
//! capture, void, decline, refund, expiry), the order lots are spent in, and the pro-rata
//! shares of a refund. Pure functions over `points::ledger` types; no SQL.

use super::ledger::{
    Account, Debit, EntryKind, ExpiringLot, HeldPoints, HoldMove, HoldState, Ledger, Lot, LotTake,
    PaymentLot, PointsRefusal, Posting, Reversal,
};
use super::policy::PointsPolicy;

/// The points ledger's rules, for the store to apply inside its transactions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rules;

/// Takes `points` from `lots`, soonest-expiring first (then oldest, then by id), refusing when
/// the lots hold fewer.
pub fn take_oldest_first(mut lots: Vec<Lot>, points: i64) -> Result<Vec<LotTake>, PointsRefusal> {
    lots.sort_by(|a, b| {
        (a.expires_at, a.created_at, &a.id).cmp(&(b.expires_at, b.created_at, &b.id))
    });
    let mut left = points;
    let mut taken = Vec::new();
    for lot in lots.into_iter().filter(|l| l.remaining > 0) {
        if left == 0 {
            break;
        }
        let take = left.min(lot.remaining);
        taken.push(LotTake {
            lot_id: lot.id,
            points: take,
        });
        left -= take;
    }
    if left > 0 {
        return Err(PointsRefusal::Insufficient);
    }
    Ok(taken)
}

/// A payment starts with the grant's held points (so they no longer lapse with the grant);
/// only a grant that redeemed points has a hold.
pub fn payment_started(points_redeemed: i64) -> Option<HoldMove> {
    (points_redeemed > 0).then_some(HoldMove {
        from: HoldState::Held,
        to: HoldState::InPayment,
    })
}

/// The payment did not happen after all (no outcome): the grant's points are held again.
pub const PAYMENT_ABANDONED: HoldMove = HoldMove {
    from: HoldState::InPayment,
    to: HoldState::Held,
};

/// The payment was declined or voided: its held points go back to the shopper.
pub const PAYMENT_FAILED: HoldMove = HoldMove {
    from: HoldState::InPayment,
    to: HoldState::Released,
};

/// The grant lapsed without a payment: its held points go back to the shopper.
pub const GRANT_LAPSED: HoldMove = HoldMove {
    from: HoldState::Held,
    to: HoldState::Released,
};

/// The payment captured: the points it held are spent; `None` when it redeemed none.
pub fn payment_captured(points_redeemed: i64) -> Option<HoldMove> {
    (points_redeemed > 0).then_some(HoldMove {
        from: HoldState::InPayment,
        to: HoldState::Posted,
    })
}

/// Points a refund moves back, given what earlier refunds of the payment already moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefundShares {
    /// Earned points to take back.
    pub reverse: i64,
    /// Redeemed points to give back.
    pub restore: i64,
}

/// What a payment's points stand at when one of its refunds is made.
#[derive(Clone, Copy, Debug)]
pub struct RefundedPayment {
    pub points_earned: i64,
    pub points_redeemed: i64,
    pub captured_minor: i64,
    /// Refunded so far, this refund included.
    pub refunded_minor: i64,
    /// Points earlier refunds already reversed and restored.
    pub reversed: i64,
    pub restored: i64,
}

/// A refund's pro-rata shares of the payment's earned and redeemed points; once refunds reach
/// the captured amount, everything is back exactly.
pub fn refund_shares(p: RefundedPayment) -> RefundShares {
    RefundShares {
        reverse: PointsPolicy::pro_rata(p.points_earned, p.refunded_minor, p.captured_minor)
            .saturating_sub(p.reversed),
        restore: PointsPolicy::pro_rata(p.points_redeemed, p.refunded_minor, p.captured_minor)
            .saturating_sub(p.restored),
    }
}

/// The card's part of a refund of `amount`: the card gets back what it paid first (less what
/// earlier refunds gave it); redeemed points cover the rest.
pub fn card_share_of_refund(card_captured: i64, refunded_before: i64, amount: i64) -> i64 {
    let card_left = card_captured
        .saturating_sub(refunded_before.clamp(0, card_captured.max(0)))
        .max(0);
    amount.min(card_left)
}

impl Ledger for Rules {
    fn hold(&self, user_id: &str, points: i64, lots: Vec<Lot>) -> Result<Debit, PointsRefusal> {
        let takes = take_oldest_first(lots, points)?;
        let legs = vec![
            (Account::Available(user_id.to_string()), -points),
            (Account::Held(user_id.to_string()), points),
        ];
        Ok(Debit {
            posting: Posting::new(EntryKind::Hold, None, legs),
            takes,
        })
    }

    fn release(&self, hold: &HeldPoints) -> Posting {
        let legs = vec![
            (Account::Held(hold.user_id.clone()), -hold.points),
            (Account::Available(hold.user_id.clone()), hold.points),
        ];
        Posting::new(EntryKind::Release, None, legs)
    }

    fn redeem(&self, hold: &HeldPoints, payment_id: &str) -> Posting {
        let legs = vec![
            (Account::Held(hold.user_id.clone()), -hold.points),
            (Account::Issuer, hold.points),
        ];
        Posting::new(EntryKind::Redeem, Some(payment_id), legs)
    }

    fn reverse(
        &self,
        user_id: &str,
        payment_id: &str,
        lots: &[PaymentLot],
        refunded_minor: i64,
        captured_minor: i64,
    ) -> Reversal {
        super::lots::reverse(user_id, payment_id, lots, refunded_minor, captured_minor)
    }

    fn expire(&self, lot: &ExpiringLot) -> Posting {
        let legs = vec![
            (Account::Available(lot.user_id.clone()), -lot.remaining),
            (lot.funder.account(), lot.remaining),
        ];
        Posting::new(EntryKind::Expire, None, legs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lot(id: &str, remaining: i64, expires_at: i64, created_at: i64) -> Lot {
        Lot {
            id: id.into(),
            remaining,
            expires_at,
            created_at,
        }
    }

    fn taken(takes: &[LotTake]) -> Vec<(&str, i64)> {
        takes
            .iter()
            .map(|t| (t.lot_id.as_str(), t.points))
            .collect()
    }

    #[test]
    fn lots_are_spent_soonest_expiring_first_then_oldest() {
        let lots = vec![
            lot("late", 50, 300, 1),
            lot("soon-new", 30, 100, 9),
            lot("soon-old", 20, 100, 2),
            lot("empty", 0, 50, 1),
        ];
        let takes = take_oldest_first(lots, 60).unwrap();
        assert_eq!(
            taken(&takes),
            vec![("soon-old", 20), ("soon-new", 30), ("late", 10)]
        );
    }

    #[test]
    fn taking_more_than_the_lots_hold_is_refused() {
        let lots = vec![lot("a", 10, 1, 1), lot("b", 5, 2, 1)];
        assert_eq!(
            take_oldest_first(lots.clone(), 16),
            Err(PointsRefusal::Insufficient)
        );
        assert_eq!(taken(&take_oldest_first(lots, 15).unwrap()).len(), 2);
    }

    #[test]
    fn every_posting_balances() {
        let hold = HeldPoints {
            consent_id: "c".into(),
            user_id: "u".into(),
            points: 40,
        };
        let postings = [
            Rules
                .hold("u", 40, vec![lot("a", 50, 1, 1)])
                .unwrap()
                .posting,
            Rules.release(&hold),
            Rules.redeem(&hold, "pay_1"),
            Rules.expire(&ExpiringLot {
                id: "a".into(),
                user_id: "u".into(),
                remaining: 12,
                funder: crate::points::ledger::Funder::Merchant("m".into()),
            }),
        ];
        for p in &postings {
            assert!(p.is_balanced(), "{:?} balances", p.kind);
        }
    }

    #[test]
    fn a_hold_moves_available_points_to_held() {
        let plan = Rules.hold("u", 40, vec![lot("a", 50, 1, 1)]).unwrap();
        assert_eq!(plan.posting.kind, EntryKind::Hold);
        assert_eq!(
            plan.posting.legs,
            vec![
                (Account::Available("u".into()), -40),
                (Account::Held("u".into()), 40)
            ]
        );
        assert_eq!(taken(&plan.takes), vec![("a", 40)]);
    }

    #[test]
    fn holds_move_through_their_lifecycle() {
        use HoldState::*;
        assert_eq!(payment_started(0), None, "no points, no hold");
        assert_eq!(
            payment_started(5),
            Some(HoldMove {
                from: Held,
                to: InPayment
            })
        );
        assert_eq!(
            payment_captured(5).map(|m| (m.from, m.to)),
            Some((InPayment, Posted))
        );
        assert_eq!(
            (PAYMENT_FAILED.from, PAYMENT_FAILED.to),
            (InPayment, Released)
        );
        assert_eq!(
            (PAYMENT_ABANDONED.from, PAYMENT_ABANDONED.to),
            (InPayment, Held)
        );
        assert_eq!((GRANT_LAPSED.from, GRANT_LAPSED.to), (Held, Released));
        assert_eq!(
            [Held, InPayment, Posted, Released].map(HoldState::as_str),
            ["held", "in_payment", "posted", "released"]
        );
    }

    #[test]
    fn the_card_gets_its_share_of_refunds_back_first() {
        // ¥5,000 captured, 100 points (¥100) redeemed: the card paid ¥4,900.
        assert_eq!(card_share_of_refund(4_900, 0, 2_500), 2_500);
        assert_eq!(card_share_of_refund(4_900, 2_500, 2_500), 2_400);
        assert_eq!(
            card_share_of_refund(4_900, 4_900, 100),
            0,
            "points cover the rest"
        );
        assert_eq!(card_share_of_refund(0, 0, 100), 0, "a points-only payment");
    }

    #[test]
    fn refunds_take_pro_rata_shares_and_the_last_one_the_rest() {
        let half = RefundedPayment {
            points_earned: 49,
            points_redeemed: 100,
            captured_minor: 5_000,
            refunded_minor: 2_500,
            reversed: 0,
            restored: 0,
        };
        assert_eq!(
            refund_shares(half),
            RefundShares {
                reverse: 24,
                restore: 50
            }
        );
        let rest = RefundedPayment {
            refunded_minor: 5_000,
            reversed: 24,
            restored: 50,
            ..half
        };
        assert_eq!(
            refund_shares(rest),
            RefundShares {
                reverse: 25,
                restore: 50
            }
        );
    }
}
