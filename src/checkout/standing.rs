//! The shopper's standing at a consent's shop, read once per step: their own settings for the
//! shop (a block, a monthly cap) and the risk limits of the payment's currency, with (when the
//! step needs it) their points balance. The shops' and the limits' rules decide what it
//! refuses; the consent page, the approval's start and its confirmation, a one-touch payment
//! and a cancel all ask it the same way, so that they give the same refusal. The consent
//! page's paying options (the shopper's cards and points) come with it.

use super::consent::{attempt, ConsentView};
use super::Checkout;
use crate::accounts::user::User;
use crate::error::{Error, Result};
use crate::risk::{day_start, hour_start, Approving, LimitRefusal};
use crate::shops::{month_start, ShopRefusal};
use crate::store::standing::{Standing, StandingLookup};
use crate::vault::StoredCard;

/// What refuses a payment at the shopper's standing: their own settings for the shop come
/// first, then the risk limits.
#[derive(Clone, Debug)]
pub enum StandingRefusal {
    Shop(ShopRefusal),
    Limit(LimitRefusal),
}

impl StandingRefusal {
    /// What the consent page tells the shopper.
    pub fn message(&self) -> String {
        match self {
            Self::Shop(why) => why.message(),
            Self::Limit(why) => why.message(),
        }
    }

    /// The merchant's `error_description` when the shopper goes back to the shop.
    pub fn description(&self) -> String {
        match self {
            Self::Shop(why) => why.description(),
            Self::Limit(why) => why.description(),
        }
    }

    pub fn error(&self) -> Error {
        match self {
            Self::Shop(why) => why.error(),
            Self::Limit(why) => why.error(),
        }
    }
}

/// What a signed-in shopper can pay a consent with.
pub struct PayingOptions {
    pub cards: Vec<StoredCard>,
    /// The shopper's points balance.
    pub points_available: i64,
    /// The most points usable on this payment.
    pub points_max: i64,
    /// What refuses this payment now: the shopper's settings for the shop, or the limits.
    pub refused: Option<StandingRefusal>,
}

impl Checkout {
    /// The cards and points `user` can pay this consent with, and what refuses the payment
    /// now (the consent page says so before the shopper confirms); nothing without a shopper.
    /// The points balance is read with the shopper's standing at the shop, in one statement.
    pub async fn paying_options(
        &self,
        user: Option<&User>,
        view: &ConsentView,
        now: i64,
    ) -> Result<PayingOptions> {
        let Some(user) = user else {
            return Ok(PayingOptions {
                cards: Vec::new(),
                points_available: 0,
                points_max: 0,
                refused: None,
            });
        };
        let standing = self.standing(user, view, true, now).await?;
        let cards = self.vault.cards(user.id).await?;
        let points_available = standing.points_available.unwrap_or(0);
        Ok(PayingOptions {
            cards,
            points_available,
            points_max: max_redeemable(view, points_available),
            refused: self.approving(user, view, &standing, now).err(),
        })
    }

    /// The shopper's standing at the consent's shop for its payment, in one read; with their
    /// points balance when `points`.
    pub(super) async fn standing(
        &self,
        user: &User,
        view: &ConsentView,
        points: bool,
        now: i64,
    ) -> Result<Standing> {
        let user_id = user.id.to_string();
        Ok(self
            .store
            .shopper_standing(StandingLookup {
                user_id: &user_id,
                client_id: &view.merchant.client_id,
                currency: view.payment.amount.currency.code(),
                month_starts_at: month_start(now),
                day_starts_at: day_start(now),
                hour_starts_at: hour_start(now),
                now,
                points,
            })
            .await?)
    }

    /// What the standing refuses (the shop's settings first, then the limits); else what the
    /// approval's transaction counts, within the limits read. Not binding: that transaction
    /// counts the payment at the shop and in the limits' counters.
    pub(super) fn approving(
        &self,
        user: &User,
        view: &ConsentView,
        standing: &Standing,
        now: i64,
    ) -> std::result::Result<Approving, StandingRefusal> {
        if let Some(refused) =
            self.shops
                .refusal(&standing.shop, &view.merchant, view.payment.amount)
        {
            return Err(StandingRefusal::Shop(refused));
        }
        let user_id = user.id.to_string();
        self.risk
            .approval(&standing.risk, attempt(&user_id, view), now)
            .map_err(StandingRefusal::Limit)
    }

    /// Whether the shopper's settings for this shop or the risk limits refuse this payment now
    /// (the consent page and a cancel say which), from one read of the standing.
    pub async fn standing_refusal(
        &self,
        user: &User,
        view: &ConsentView,
        now: i64,
    ) -> Result<Option<StandingRefusal>> {
        let standing = self.standing(user, view, false, now).await?;
        Ok(self.approving(user, view, &standing, now).err())
    }
}

/// The most of the shopper's `available` points usable on the consent's payment.
pub(super) fn max_redeemable(view: &ConsentView, available: i64) -> i64 {
    view.programme
        .rules
        .max_redeemable(view.payment.amount, available)
}
