//! The card is authorized when the shopper approves, so that a decline is told on the consent
//! page, where another card can be chosen, instead of after the shopper is back at the shop.
//!
//! The authorization is recorded before the card network is called (held by this node for
//! the in-flight lease) and keyed by the id of the grant the approval will give
//! (`authorize:{jti}`, the key the payments API would use), so asking again replays it. The
//! approval's own transaction marks it approved; when the approval does not commit, it is
//! voided at once. The payment that redeems the grant adopts it instead of authorizing again.
//! Whatever a crash leaves behind (an authorization whose approval never committed, or one
//! whose grant lapsed unredeemed) the reconciler voids: see [`Checkout::void_lapsed_authorizations`].

use uuid::Uuid;

use super::consent::ConsentView;
use super::Checkout;
use crate::card::Expiry;
use crate::error::{Error, Kind, Result};
use crate::money::{Currency, Money};
use crate::processor::{CardDetails, IdempotencyKey, Outcome, ProcessorError};
use crate::store::checkout::authorizations::{
    Adoption, AuthorizationState, NewAuthorization, StoredAuthorization,
};
use crate::vault::SealedCard;

/// How many lapsed authorizations one reconciler pass releases.
const BATCH: i64 = 100;

/// How long after its grant could last an unredeemed authorization is released: the
/// redemption checks the grant's expiry in its own transaction, and this margin keeps clocks
/// of several nodes and a slow redemption clear of the release.
const RELEASE_MARGIN_SECS: i64 = 120;

/// The processor's idempotency key for the authorization of grant `jti`: the same one the
/// payments API uses when it authorizes a grant itself.
pub(crate) fn authorize_key(jti: &str) -> IdempotencyKey {
    IdempotencyKey::new(format!("authorize:{jti}"))
}

fn void_key(jti: &str) -> IdempotencyKey {
    IdempotencyKey::new(format!("approval-void:{jti}"))
}

/// The shopper's card was declined when they approved: they can choose another.
pub fn declined_at_approval(decline_code: &str) -> Error {
    Error::new(
        Kind::PaymentRequired,
        "card_declined",
        "Your card was declined. Choose another card or add one.",
    )
    .with_decline_code(decline_code.to_string())
}

/// The card network did not answer when the shopper approved: nothing was charged.
fn network_unavailable(err: ProcessorError) -> Error {
    tracing::warn!(error = %err, "the card network did not answer an approval's authorization");
    Error::new(
        Kind::Upstream,
        "processor_error",
        "The card network did not answer, so nothing was charged. Please try again.",
    )
}

impl Checkout {
    /// What the card pays of this consent when the shopper uses `points`.
    pub(super) fn card_part(&self, view: &ConsentView, points: i64) -> Result<Money> {
        let currency = view.payment.amount.currency;
        let points_value = if points == 0 {
            0
        } else {
            view.programme
                .rules
                .rates
                .points_money(points, currency)?
                .minor
        };
        Ok(Money::new(
            currency,
            (view.payment.amount.minor - points_value).max(0),
        ))
    }

    /// Authorizes `card` (as the approval's checks read it, number sealed) for `amount` under
    /// grant `jti`, recorded first so that an authorization is never left unknown. Gives its
    /// reference; a decline or a silent network is the shopper's error (and the record says
    /// so).
    pub(super) async fn authorize_at_approval(
        &self,
        view: &ConsentView,
        sealed: &SealedCard,
        amount: Money,
        jti: &str,
        now: i64,
    ) -> Result<String> {
        let number = self.vault.open_number(sealed).await?;
        let card = &sealed.card;
        let expiry = Expiry::new(card.exp_month as u8, card.exp_year as u16)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("stored expiry is invalid")))?;
        self.store
            .start_approval_authorization(
                NewAuthorization {
                    grant_jti: jti,
                    consent_id: &view.consent.id,
                    user_id: &card.user_id.to_string(),
                    card_id: &card.id.to_string(),
                    currency: amount.currency.code(),
                    amount_minor: amount.minor,
                    lease_until: now + self.approval_lease(),
                    void_after: now
                        + self.lifetimes.code
                        + self.lifetimes.grant
                        + RELEASE_MARGIN_SECS,
                },
                now,
            )
            .await?;
        let details = CardDetails {
            number: &number,
            expiry,
            holder: &card.holder,
        };
        let outcome = self
            .vault
            .processor()
            .authorize(&authorize_key(jti), details, amount)
            .await;
        drop(number);
        let (state, decline_code, refused) = match outcome {
            Ok(Outcome::Approved { reference }) => return Ok(reference),
            Ok(Outcome::Declined { decline_code }) => {
                tracing::info!(consent_id = %view.consent.id, decline_code = %decline_code, "card declined at approval");
                let refused = declined_at_approval(&decline_code);
                (AuthorizationState::Declined, Some(decline_code), refused)
            }
            Err(err) => (AuthorizationState::Failed, None, network_unavailable(err)),
        };
        self.store
            .end_approval_authorization(
                jti,
                AuthorizationState::Authorizing,
                state,
                decline_code.as_deref(),
                now,
            )
            .await?;
        Err(refused)
    }

    /// How long the approving node holds an authorization it is asking for: twice the
    /// in-flight lease, since a shopper waits on it and releasing it early fails their
    /// approval (it is released after that only if the node stopped).
    fn approval_lease(&self) -> i64 {
        2 * self.lifetimes.in_flight_lease
    }

    /// Releases the authorization this node made for an approval that did not commit. Should
    /// the network not answer, the reconciler releases it after the lease.
    pub(super) async fn void_unapproved(&self, jti: &str, now: i64) {
        let lease_until = now + self.lifetimes.in_flight_lease;
        let taken = self
            .store
            .take_approval_authorization_to_void(jti, true, now, lease_until)
            .await;
        match taken {
            Ok(Some(authorization)) => {
                if let Err(err) = self.void_authorization(authorization, now).await {
                    tracing::warn!(error = %err, "an unapproved authorization is left for the reconciler to release");
                }
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %err, "an unapproved authorization is left for the reconciler to release")
            }
        }
    }

    /// The reconciler's part: releases authorizations whose approving node stopped before
    /// the approval committed, and those of grants that lapsed unredeemed. Safe on every node
    /// at once (each is taken by one). Gives how many were released.
    pub async fn void_lapsed_authorizations(&self, now: i64) -> Result<usize> {
        let lease_until = now + self.lifetimes.in_flight_lease;
        let mut released = 0;
        for lapsed in self
            .store
            .lapsed_approval_authorizations(now, BATCH)
            .await?
        {
            let Some(taken) = self
                .store
                .take_approval_authorization_to_void(&lapsed.grant_jti, false, now, lease_until)
                .await?
            else {
                continue;
            };
            match self.void_authorization(taken, now).await {
                Ok(()) => {
                    tracing::info!(consent_id = %lapsed.consent_id, "released a card authorization no payment used");
                    released += 1;
                }
                Err(err) => {
                    tracing::info!(consent_id = %lapsed.consent_id, error = %err, "a card authorization could not be released yet");
                }
            }
        }
        Ok(released)
    }

    /// Voids an authorization taken for release: when its reference is not known (its node
    /// stopped during the call), the card network is asked again with the same key, which
    /// replays what was done (or does it, to be voided at once).
    async fn void_authorization(&self, taken: StoredAuthorization, now: i64) -> Result<()> {
        let jti = taken.grant_jti.as_str();
        let reference = match taken.reference {
            Some(reference) => reference,
            None => match self.ask_again(&taken).await? {
                Outcome::Approved { reference } => {
                    self.store
                        .note_approval_authorization_reference(jti, &reference, now)
                        .await?;
                    reference
                }
                Outcome::Declined { decline_code } => {
                    self.store
                        .end_approval_authorization(
                            jti,
                            AuthorizationState::Voiding,
                            AuthorizationState::Declined,
                            Some(&decline_code),
                            now,
                        )
                        .await?;
                    return Ok(());
                }
            },
        };
        match self
            .vault
            .processor()
            .void(&void_key(jti), &reference)
            .await
        {
            // Voided now, or before (a replay or an authorization already released).
            Ok(_) => {}
            Err(err) => return Err(network_unavailable(err)),
        }
        self.store
            .end_approval_authorization(
                jti,
                AuthorizationState::Voiding,
                AuthorizationState::Voided,
                None,
                now,
            )
            .await?;
        Ok(())
    }

    /// Asks the card network again for the authorization of `taken`, with its key.
    async fn ask_again(&self, taken: &StoredAuthorization) -> Result<Outcome> {
        let user_id = Uuid::parse_str(&taken.user_id).map_err(Error::internal)?;
        let card_id = Uuid::parse_str(&taken.card_id).map_err(Error::internal)?;
        let (card, number) = self.vault.card_number(user_id, card_id).await?;
        let expiry = Expiry::new(card.exp_month as u8, card.exp_year as u16)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("stored expiry is invalid")))?;
        let currency = Currency::parse(&taken.currency)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("stored currency is unknown")))?;
        let details = CardDetails {
            number: &number,
            expiry,
            holder: &card.holder,
        };
        self.vault
            .processor()
            .authorize(
                &authorize_key(&taken.grant_jti),
                details,
                Money::new(currency, taken.amount_minor),
            )
            .await
            .map_err(network_unavailable)
    }

    /// For the payments API: the authorization the approval of grant `jti` made, taken by
    /// the payment that redeems it.
    pub async fn adopt_authorization(&self, jti: &str, now: i64) -> Result<Adoption> {
        Ok(self.store.adopt_approval_authorization(jti, now).await?)
    }
}
