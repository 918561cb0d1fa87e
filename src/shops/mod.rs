//! Connected shops: every shop the shopper has paid, with the first and last payment and what
//! counts toward this month there; the shopper's monthly cap per shop and currency, checked at
//! the consent and counted inside the approval's transaction; and blocking a shop, which turns
//! down its new checkouts for this shopper and revokes its outstanding grants.
//!
//! What counts toward a shop's month (a UTC calendar month): the shopper's payments there not
//! declined or voided, plus approvals no payment was made from yet that could still become one.

mod refusal;

use crate::audit::{Action, Actor, Entry};
use crate::error::{Error, Result};
use crate::merchants::Merchant;
use crate::money::{Currency, Money};
use crate::store::shops::{ShopAmount, ShopCountRefusal, ShopCounting};
use crate::store::standing::ShopStanding;
use crate::store::Store;

pub use self::refusal::ShopRefusal;

/// The start of the UTC calendar month `now` falls in.
pub fn month_start(now: i64) -> i64 {
    let date = time::OffsetDateTime::from_unix_timestamp(now)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    date.replace_day(1)
        .map(|first| first.midnight().assume_utc().unix_timestamp())
        .unwrap_or(now)
}

/// One currency at a shop: this month's counted total, and the shopper's cap if set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopMonth {
    pub currency: Currency,
    pub total: Money,
    pub cap: Option<Money>,
}

/// A shop the shopper has paid.
#[derive(Clone, Debug)]
pub struct ConnectedShop {
    pub client_id: String,
    pub name: String,
    pub domain: String,
    pub first_paid_at: i64,
    pub last_paid_at: i64,
    pub blocked: bool,
    /// One line per currency the shop was paid in or has a cap in.
    pub months: Vec<ShopMonth>,
}

/// Parses a cap as typed: the currency's exact decimals, above zero; blank is no cap.
pub fn parse_cap(currency: &str, text: &str) -> Result<(Currency, Option<Money>)> {
    let currency = Currency::parse(currency.trim())
        .ok_or_else(|| Error::invalid("invalid_shop_cap", "Choose JPY or USD.").on_field("cap"))?;
    let text = text.trim();
    if text.is_empty() {
        return Ok((currency, None));
    }
    match Money::parse_major(currency, text) {
        Some(m) if m.minor > 0 => Ok((currency, Some(m))),
        _ => Err(Error::invalid(
            "invalid_shop_cap",
            match currency.minor_digits() {
                0 => "Type a whole amount of yen above zero, like 30000, or leave it blank for no limit.",
                _ => "Type an amount above zero with cents, like 300.00, or leave it blank for no limit.",
            },
        )
        .on_field("cap")),
    }
}

#[derive(Clone)]
pub struct Shops {
    store: Store,
}

impl Shops {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The shops the shopper has paid, the most recently paid first.
    pub async fn list(&self, user_id: &str, now: i64) -> Result<Vec<ConnectedShop>> {
        let shops = self.store.connected_shops(user_id).await?;
        let totals = self
            .store
            .shop_month_totals(user_id, month_start(now), now)
            .await?;
        let caps = self.store.shop_caps(user_id).await?;
        let paid_in = self.store.shop_currencies(user_id).await?;
        Ok(shops
            .into_iter()
            .map(|s| {
                let of = |list: &[ShopAmount], currency: Currency| {
                    list.iter()
                        .find(|a| a.client_id == s.client_id && a.currency == currency.code())
                        .map(|a| Money::new(currency, a.minor))
                };
                let months = crate::risk::CURRENCIES
                    .into_iter()
                    .filter(|c| [&paid_in, &caps].iter().any(|list| of(list, *c).is_some()))
                    .map(|currency| ShopMonth {
                        currency,
                        total: of(&totals, currency).unwrap_or(Money::new(currency, 0)),
                        cap: of(&caps, currency),
                    })
                    .collect();
                ConnectedShop {
                    client_id: s.client_id,
                    name: s.name,
                    domain: s.domain,
                    first_paid_at: s.first_paid_at,
                    last_paid_at: s.last_paid_at,
                    blocked: s.blocked_at.is_some(),
                    months,
                }
            })
            .collect())
    }

    /// One of the shopper's connected shops, or not found.
    async fn connected(&self, user_id: &str, client_id: &str) -> Result<()> {
        let shops = self.store.connected_shops(user_id).await?;
        match shops.iter().any(|s| s.client_id == client_id) {
            true => Ok(()),
            false => Err(Error::not_found()),
        }
    }

    /// Sets (or, with `None`, removes) the shopper's monthly cap at a shop they have paid.
    pub async fn set_cap(
        &self,
        user_id: &str,
        client_id: &str,
        currency: Currency,
        cap: Option<Money>,
        now: i64,
    ) -> Result<()> {
        self.connected(user_id, client_id).await?;
        self.store
            .set_shop_cap(
                user_id,
                client_id,
                currency.code(),
                cap.map(|m| m.minor),
                now,
            )
            .await?;
        Ok(())
    }

    /// Blocks a shop the shopper has paid: its outstanding grants for this shopper are revoked
    /// (and its codes not yet exchanged expire) in the same transaction.
    pub async fn block(&self, user_id: &str, client_id: &str, now: i64) -> Result<()> {
        self.connected(user_id, client_id).await?;
        let audit = shopper_entry(user_id, Action::ShopperShopBlocked, client_id)?.record(now);
        let revoked = self
            .store
            .block_shop(user_id, client_id, now, &audit)
            .await?;
        tracing::info!(client_id, revoked, "a shopper blocked a shop");
        Ok(())
    }

    /// Lifts the block; grants it revoked stay revoked.
    pub async fn unblock(&self, user_id: &str, client_id: &str, now: i64) -> Result<()> {
        self.connected(user_id, client_id).await?;
        let audit = shopper_entry(user_id, Action::ShopperShopUnblocked, client_id)?.record(now);
        self.store.unblock_shop(user_id, client_id, &audit).await?;
        tracing::info!(client_id, "a shopper unblocked a shop");
        Ok(())
    }

    /// Whether the shopper's settings refuse this payment now, from their standing at the
    /// shop as read (see `Store::shopper_standing`); the consent page says so before the
    /// shopper confirms. Not binding: the approval's transaction counts it within the cap.
    pub fn refusal(
        &self,
        standing: &ShopStanding,
        merchant: &Merchant,
        amount: Money,
    ) -> Option<ShopRefusal> {
        if standing.blocked {
            return Some(ShopRefusal::Blocked {
                shop: merchant.name.clone(),
            });
        }
        let cap = standing.cap?;
        cap_refusal(merchant, amount, cap, standing.counted)
    }

    /// What the approval's transaction counts at the shop; the approval counts toward the
    /// month until `counts_until` while no payment is made from it.
    pub fn counting(
        &self,
        user_id: &str,
        merchant: &Merchant,
        amount: Money,
        now: i64,
        counts_until: i64,
    ) -> ShopCounting {
        ShopCounting {
            user_id: user_id.to_string(),
            client_id: merchant.client_id.clone(),
            currency: amount.currency.code(),
            amount: amount.minor,
            month_starts_at: month_start(now),
            counts_until,
        }
    }

    /// The refusal for an approval the transaction refused.
    pub fn count_refused(
        &self,
        why: ShopCountRefusal,
        merchant: &Merchant,
        amount: Money,
    ) -> ShopRefusal {
        match why {
            ShopCountRefusal::Blocked => ShopRefusal::Blocked {
                shop: merchant.name.clone(),
            },
            ShopCountRefusal::Cap { cap, counted } => cap_refusal(merchant, amount, cap, counted)
                .unwrap_or(ShopRefusal::Cap {
                    shop: merchant.name.clone(),
                    cap: Money::new(amount.currency, cap),
                    after: Money::new(amount.currency, counted.saturating_add(amount.minor)),
                }),
        }
    }
}

/// The cap's refusal when `counted` and this payment together pass it.
fn cap_refusal(merchant: &Merchant, amount: Money, cap: i64, counted: i64) -> Option<ShopRefusal> {
    (counted > cap - amount.minor).then(|| ShopRefusal::Cap {
        shop: merchant.name.clone(),
        cap: Money::new(amount.currency, cap),
        after: Money::new(amount.currency, counted.saturating_add(amount.minor)),
    })
}

/// The audit entry of a shopper's own change to a shop: actor `shopper:<id>`, target the shop.
fn shopper_entry(user_id: &str, action: Action, client_id: &str) -> Result<Entry> {
    let id = uuid::Uuid::parse_str(user_id).map_err(Error::internal)?;
    Ok(Entry::new(&Actor::Shopper(id), action, client_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_the_utc_calendar_month() {
        // 2026-11-30T23:59:59Z, and a second later (2026-12-01T00:00:00Z).
        let before = 1_796_083_199;
        assert_eq!(month_start(before), 1_793_491_200);
        assert_eq!(month_start(before + 1), before + 1);
    }

    #[test]
    fn caps_take_the_currency_s_exact_decimals_above_zero_and_blank_is_none() {
        assert_eq!(
            parse_cap("JPY", " 30000 ").unwrap(),
            (Currency::Jpy, Some(Money::new(Currency::Jpy, 30_000)))
        );
        assert_eq!(parse_cap("USD", "").unwrap(), (Currency::Usd, None));
        for (currency, bad) in [
            ("JPY", "0"),
            ("JPY", "1.5"),
            ("JPY", "-3"),
            ("USD", "abc"),
            ("EUR", "5"),
        ] {
            assert_eq!(
                parse_cap(currency, bad).unwrap_err().code(),
                "invalid_shop_cap"
            );
        }
    }
}
