//! The shopper's activity: their payments at every merchant with the refunds that went
//! through, as a typed view. Two statements per page, whatever its length.

use std::collections::HashMap;

use uuid::Uuid;

use super::status::PaymentStatus;
use super::Payments;
use crate::card::Brand;
use crate::error::Result;
use crate::money::{Currency, Money};

/// How many payments the activity shows.
const PAGE: i64 = 100;

/// Where a payment stands, as the shopper sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActivityStatus {
    Paid,
    PartlyRefunded,
    Refunded,
    Authorized,
    Cancelled,
    Declined {
        decline_code: Option<String>,
    },
    /// Redeemed, the card network's answer not yet recorded.
    Pending,
}

/// A card as named on a payment.
#[derive(Clone, Debug)]
pub struct CardUsed {
    /// `None` when the stored brand is not one we know; `brand_code` has it as stored.
    pub brand: Option<Brand>,
    pub brand_code: String,
    pub last4: String,
}

#[derive(Clone, Debug)]
pub struct RefundEntry {
    pub amount: Money,
    pub at: i64,
}

#[derive(Clone, Debug)]
pub struct ActivityEntry {
    pub id: String,
    pub merchant: String,
    pub amount: Money,
    pub card: CardUsed,
    pub status: ActivityStatus,
    pub order_reference: String,
    pub created_at: i64,
    pub points_earned: i64,
    pub points_redeemed: i64,
    /// What the redeemed points paid; the card paid `amount` less this.
    pub points_value: Money,
    /// Earned points that refunds could not take back, because the shopper had spent them.
    pub points_unreversed: i64,
    /// Refunds that went through, oldest first.
    pub refunds: Vec<RefundEntry>,
}

impl Payments {
    /// The shopper's newest payments, newest first, each with its refunds.
    pub async fn activity(&self, user_id: Uuid) -> Result<Vec<ActivityEntry>> {
        let user_id = user_id.to_string();
        let payments = self.store.payments_of_user(&user_id, PAGE).await?;
        let mut refunds: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        for r in self.store.refunds_of_user(&user_id, PAGE).await? {
            refunds
                .entry(r.payment_id)
                .or_default()
                .push((r.amount_minor, r.created_at));
        }
        let mut entries = Vec::with_capacity(payments.len());
        for (p, merchant) in payments {
            let Some(currency) = Currency::parse(&p.currency) else {
                continue;
            };
            let money = |minor: i64| Money { currency, minor };
            let points_value = self
                .points_value(p.points_programme_version, p.points_redeemed, currency)
                .await?;
            let status = match p.status {
                PaymentStatus::Captured
                    if p.refunded_minor == p.captured_minor && p.captured_minor > 0 =>
                {
                    ActivityStatus::Refunded
                }
                PaymentStatus::Captured if p.refunded_minor > 0 => ActivityStatus::PartlyRefunded,
                PaymentStatus::Captured => ActivityStatus::Paid,
                PaymentStatus::Authorized => ActivityStatus::Authorized,
                PaymentStatus::Voided => ActivityStatus::Cancelled,
                PaymentStatus::Declined => ActivityStatus::Declined {
                    decline_code: p.decline_code.clone(),
                },
                PaymentStatus::Pending => ActivityStatus::Pending,
            };
            entries.push(ActivityEntry {
                refunds: refunds
                    .remove(&p.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(amount, at)| RefundEntry {
                        amount: money(amount),
                        at,
                    })
                    .collect(),
                amount: money(p.amount_minor),
                card: CardUsed {
                    brand: Brand::parse(&p.card_brand),
                    brand_code: p.card_brand,
                    last4: p.card_last4,
                },
                status,
                id: p.id,
                merchant,
                order_reference: p.order_reference,
                created_at: p.created_at,
                points_earned: p.points_earned,
                points_redeemed: p.points_redeemed,
                points_value: money(points_value),
                points_unreversed: p.points_unreversed,
            });
        }
        Ok(entries)
    }
}
