//! Lots: every credit of points is carried by lots that know their funder, their payment and
//! their own expiry. An earn makes one lot per funder (the issuer's base, the merchant's
//! campaign extra); a refund gives redeemed points back in a fresh issuer lot and takes earned
//! points back from the payment's own lots, each to its funder. Pure functions; no SQL.

use super::ledger::{
    Account, Credit, EntryKind, Funder, LotReversal, LotSource, NewLot, PaymentLot, Posting,
    Reversal,
};
use super::policy::PointsPolicy;

/// Earned points: the base from the issuer and the campaign's extra from the merchant, each in
/// its own lot expiring at `expires_at`; under rolling expiry (`rolling`) every lot of the
/// shopper's moves to that date too. The extra is capped so that the points fit in an `i64`
/// (`PointsPolicy::checked_earned` never gives more), keeping the posting balanced.
pub fn earn(
    user_id: &str,
    client_id: &str,
    payment_id: &str,
    (base, extra): (i64, i64),
    expires_at: i64,
    rolling: bool,
) -> Credit {
    let base = base.max(0);
    let extra = extra.clamp(0, i64::MAX - base);
    let merchant = Funder::Merchant(client_id.to_string());
    let legs = vec![
        (Account::Issuer, -base),
        (merchant.account(), -extra),
        (Account::Available(user_id.to_string()), base + extra),
    ];
    let lot = |funder: Funder, points: i64| NewLot {
        user_id: user_id.to_string(),
        points,
        expires_at,
        funder,
        payment_id: payment_id.to_string(),
        source: LotSource::Earn,
    };
    Credit {
        posting: Posting::new(EntryKind::Earn, Some(payment_id), legs),
        lots: [lot(Funder::Issuer, base), lot(merchant, extra)]
            .into_iter()
            .filter(|l| l.points > 0)
            .collect(),
        extend_to: (rolling && base + extra > 0).then_some(expires_at),
    }
}

/// Redeemed points given back by a refund, in a fresh issuer lot; `None` when there are none.
pub fn restore(user_id: &str, payment_id: &str, points: i64, expires_at: i64) -> Option<Credit> {
    (points > 0).then(|| Credit {
        posting: Posting::new(
            EntryKind::Restore,
            Some(payment_id),
            vec![
                (Account::Issuer, -points),
                (Account::Available(user_id.to_string()), points),
            ],
        ),
        lots: vec![NewLot {
            user_id: user_id.to_string(),
            points,
            expires_at,
            funder: Funder::Issuer,
            payment_id: payment_id.to_string(),
            source: LotSource::Restore,
        }],
        extend_to: None,
    })
}

/// A refund's reversal of the points earned on its payment. Each lot's share is its pro-rata
/// part of the refunded total (the last refund takes the rest exactly), less what earlier
/// refunds already settled; the lot gives what it still holds, and what the shopper already
/// spent stays spent (recorded as unreversed). What is taken goes back to the lot's funder.
pub fn reverse(
    user_id: &str,
    payment_id: &str,
    lots: &[PaymentLot],
    refunded_minor: i64,
    captured_minor: i64,
) -> Reversal {
    let mut parts = Vec::new();
    let mut legs: Vec<(Account, i64)> = Vec::new();
    let mut taken_total: i64 = 0;
    for lot in lots {
        let due = PointsPolicy::pro_rata(lot.points, refunded_minor, captured_minor);
        let share = due
            .saturating_sub(lot.reversed.saturating_add(lot.unreversed))
            .max(0);
        if share == 0 {
            continue;
        }
        let taken = share.min(lot.remaining.max(0));
        parts.push(LotReversal {
            lot_id: lot.id.clone(),
            taken,
            unreversed: share - taken,
        });
        if taken > 0 {
            let account = lot.funder.account();
            match legs.iter_mut().find(|(a, _)| *a == account) {
                Some((_, amount)) => *amount += taken,
                None => legs.push((account, taken)),
            }
            taken_total = taken_total.saturating_add(taken);
        }
    }
    let posting = (taken_total > 0).then(|| {
        let mut all = vec![(Account::Available(user_id.to_string()), -taken_total)];
        all.extend(legs);
        Posting::new(EntryKind::Reverse, Some(payment_id), all)
    });
    Reversal {
        posting,
        lots: parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment_lot(id: &str, funder: Funder, points: i64, remaining: i64) -> PaymentLot {
        PaymentLot {
            id: id.into(),
            funder,
            points,
            remaining,
            reversed: 0,
            unreversed: 0,
        }
    }

    #[test]
    fn earning_puts_the_base_and_the_campaign_extra_in_lots_of_their_funders() {
        let credit = earn("u", "m", "pay_1", (128, 192), 9, false);
        assert_eq!(
            credit.posting.legs,
            vec![
                (Account::Issuer, -128),
                (Account::Campaign("m".into()), -192),
                (Account::Available("u".into()), 320)
            ]
        );
        assert!(credit.posting.is_balanced());
        let lots: Vec<_> = credit
            .lots
            .iter()
            .map(|l| (l.funder.clone(), l.points, l.expires_at))
            .collect();
        assert_eq!(
            lots,
            vec![
                (Funder::Issuer, 128, 9),
                (Funder::Merchant("m".into()), 192, 9)
            ]
        );
        assert_eq!(credit.extend_to, None, "fixed expiry moves no other lot");
        let plain = earn("u", "m", "pay_1", (12, 0), 9, true);
        assert_eq!(plain.lots.len(), 1, "no campaign, no merchant lot");
        assert_eq!(plain.extend_to, Some(9), "rolling expiry moves every lot");
        assert_eq!(earn("u", "m", "p", (0, 0), 9, true).extend_to, None);
        assert_eq!(restore("u", "pay_1", 0, 9), None, "nothing to give back");
        let back = restore("u", "pay_1", 7, 9).unwrap();
        assert!(back.posting.is_balanced());
        assert_eq!(back.lots[0].source, LotSource::Restore);
    }

    #[test]
    fn earning_at_the_edge_of_i64_stays_balanced_and_never_wraps() {
        let credit = earn("u", "m", "pay_1", (i64::MAX / 100, i64::MAX), 9, false);
        assert!(credit.posting.is_balanced());
        assert_eq!(credit.points(), i64::MAX);
        assert!(credit.posting.legs.iter().all(|(_, a)| *a != i64::MIN));
    }

    #[test]
    fn a_refund_takes_each_lots_share_back_to_its_funder_as_far_as_it_is_unspent() {
        let lots = vec![
            payment_lot("base", Funder::Issuer, 100, 100),
            payment_lot("extra", Funder::Merchant("m".into()), 100, 10),
        ];
        // Half refunded: 50 due from each lot; the campaign lot holds only 10.
        let half = reverse("u", "pay_1", &lots, 500, 1000);
        assert_eq!(
            half.lots,
            vec![
                LotReversal {
                    lot_id: "base".into(),
                    taken: 50,
                    unreversed: 0
                },
                LotReversal {
                    lot_id: "extra".into(),
                    taken: 10,
                    unreversed: 40
                },
            ]
        );
        assert_eq!((half.share(), half.unreversed()), (100, 40));
        let posting = half.posting.unwrap();
        assert!(posting.is_balanced());
        assert_eq!(
            posting.legs,
            vec![
                (Account::Available("u".into()), -60),
                (Account::Issuer, 50),
                (Account::Campaign("m".into()), 10)
            ]
        );
        // The rest: each lot's remaining share, whatever the earlier refund settled.
        let after = vec![
            PaymentLot {
                remaining: 50,
                reversed: 50,
                ..lots[0].clone()
            },
            PaymentLot {
                remaining: 0,
                reversed: 10,
                unreversed: 40,
                ..lots[1].clone()
            },
        ];
        let rest = reverse("u", "pay_1", &after, 1000, 1000);
        assert_eq!(rest.share(), 100);
        assert_eq!(rest.unreversed(), 50);
        let spent = vec![payment_lot("gone", Funder::Issuer, 30, 0)];
        let nothing = reverse("u", "pay_1", &spent, 1000, 1000);
        assert_eq!((nothing.unreversed(), nothing.posting), (30, None));
    }
}
