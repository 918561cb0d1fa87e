//! One touch for returning shoppers: a signed-out shopper pays with a single passkey assertion
//! that both identifies them (a discoverable credential) and confirms the payment.
//!
//! Why this keeps "what was signed is what is charged": the shopper is unknown until the
//! assertion arrives, so the challenge cannot name a card id. It names, instead of a card id,
//! the statement `saifu:default-card` ("the signer's default card"), with no points and no
//! shipping address, beside the merchant, amount, currency, order reference and a fresh nonce,
//! exactly as a signed-in approval does. After the assertion verifies, the wallet resolves that
//! statement for the signer, once, in the same request (their default card, else their most
//! recently added card that has not expired) and records the approval with that card; the
//! grant and the receipt name it. Nothing the shop or the page sends can change which card is
//! charged, and a challenge signed for a chosen card never matches this statement (nor the
//! other way round), so neither kind of assertion can be replayed as the other.

use serde::{Deserialize, Serialize};
use url::Url;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PublicKeyCredential, RequestChallengeResponse,
};

use super::approval::{ApprovalRequest, ApprovalStart, Checked, PaymentChoice};
use super::challenge::{payment_challenge, with_challenge};
use super::consent::Browser;
use super::Checkout;
use crate::accounts::ceremony;
use crate::accounts::ceremony::ceremony_not_found;
use crate::accounts::refusals::{account_frozen, unknown_passkey, webauthn_error};
use crate::accounts::user::User;
use crate::clock::random_token;
use crate::error::{Error, Result};
use crate::store::checkout::consent::ConsentLookup;
use crate::vault::{SealedCard, StoredCard};

const ONE_TOUCH_CEREMONY: &str = "payment_one_touch";

/// What a one-touch challenge names in place of a card id.
pub const DEFAULT_CARD: &str = "saifu:default-card";

#[derive(Serialize, Deserialize)]
struct OneTouchState {
    consent_id: String,
    nonce: String,
    /// webauthn-rs `DiscoverableAuthentication`, its challenge replaced by the payment's.
    authentication: serde_json::Value,
}

/// A one-touch payment that went through: who paid (now signed in) and where to go.
pub struct OneTouch {
    pub user: User,
    pub redirect: Url,
}

/// Why a verified one-touch payment was not approved: the shopper is known (and signed in)
/// all the same, so the consent page can say why.
pub struct OneTouchRefused {
    pub user: Option<User>,
    pub error: Error,
}

impl Checkout {
    /// Starts a one-touch payment: a discoverable passkey request whose challenge is the
    /// payment with "the signer's default card", no points, and a fresh nonce. Stored under
    /// the start's ceremony id, as a signed-in approval's.
    pub async fn begin_one_touch(
        &self,
        start: ApprovalStart<'_>,
        now: i64,
    ) -> Result<RequestChallengeResponse> {
        let consent_id = start.consent_id;
        let view = self.consent(consent_id, start.browser, now).await?;
        if view.payment.shipping_required {
            return Err(one_touch_unavailable());
        }
        let (mut options, authentication) = self
            .accounts
            .webauthn()
            .start_discoverable_authentication()
            .map_err(webauthn_error)?;
        let nonce = random_token()?;
        let challenge = payment_challenge(&view, DEFAULT_CARD, 0, None, &nonce);
        options.public_key.challenge = challenge.clone();
        let state = OneTouchState {
            consent_id: consent_id.to_string(),
            nonce,
            authentication: with_challenge(serde_json::to_value(&authentication)?, &challenge)?,
        };
        ceremony::replace(
            &self.store,
            start.ceremony_id,
            ONE_TOUCH_CEREMONY,
            &state,
            self.accounts.ceremony_ttl_secs(),
            now,
        )
        .await?;
        Ok(options)
    }

    /// Verifies a one-touch assertion against the payment re-derived now, identifies the
    /// shopper from it, resolves their default card and approves the consent with it. The
    /// ceremony gets one attempt, as for a signed-in approval.
    pub async fn approve_one_touch(
        &self,
        consent_id: &str,
        browser: &Browser,
        ceremony_id: &str,
        credential: PublicKeyCredential,
        now: i64,
    ) -> std::result::Result<OneTouch, OneTouchRefused> {
        let (user, checked) = match self
            .check_one_touch(consent_id, browser, ceremony_id, &credential, now)
            .await
        {
            Ok(found) => found,
            Err(refused) => {
                if let Err(gone) = self.store.take_ceremony(ceremony_id).await {
                    tracing::warn!(error = %gone, "could not remove a failed one-touch ceremony");
                }
                return Err(refused);
            }
        };
        let request = ApprovalRequest {
            consent_id: consent_id.to_string(),
            ceremony_id: ceremony_id.to_string(),
            choice: PaymentChoice {
                card_id: checked.card.card.id,
                points: 0,
                address_id: None,
            },
            credential,
        };
        match self.finish_approval(&user, &request, checked, now).await {
            Ok(redirect) => Ok(OneTouch { user, redirect }),
            Err(error) => Err(OneTouchRefused {
                user: Some(user),
                error,
            }),
        }
    }

    async fn check_one_touch(
        &self,
        consent_id: &str,
        browser: &Browser,
        ceremony_id: &str,
        credential: &PublicKeyCredential,
        now: i64,
    ) -> std::result::Result<(User, Checked), OneTouchRefused> {
        let anonymous = |error| OneTouchRefused { user: None, error };
        // The ceremony is read with the consent. Another browser is told the consent does not
        // exist before anything else.
        let mut found = self
            .bound_consent(
                consent_id,
                ConsentLookup {
                    ceremony_id: Some(ceremony_id),
                    card: None,
                    passkey: None,
                },
                browser,
                now,
            )
            .await
            .map_err(anonymous)?;
        let state: OneTouchState =
            ceremony::open(found.ceremony.take(), ONE_TOUCH_CEREMONY, now).map_err(anonymous)?;
        if state.consent_id != consent_id {
            return Err(anonymous(ceremony_not_found()));
        }
        let view = self.open_consent(found, now).map_err(anonymous)?;
        let challenge = payment_challenge(&view, DEFAULT_CARD, 0, None, &state.nonce);
        let (user, result) = self
            .verify_one_touch(credential, state.authentication, &challenge)
            .await
            .map_err(anonymous)?;
        let known = |error| OneTouchRefused {
            user: Some(user.clone()),
            error,
        };
        let passkey = self
            .accounts
            .assertion_use(user.id, &result, now)
            .await
            .map_err(anonymous)?;
        // Said only to whoever proved they hold the passkey.
        if user.is_frozen() {
            return Err(anonymous(account_frozen()));
        }
        // The shop's settings and the limits, in one read.
        let standing = self
            .standing(&user, &view, false, now)
            .await
            .map_err(known)?;
        let approving = self
            .approving(&user, &view, &standing, now)
            .map_err(|refused| known(refused.error()))?;
        let card = self.default_card(&user).await.map_err(known)?;
        Ok((
            user,
            Checked {
                view,
                passkey,
                approving,
                card,
                challenge,
                shipping: None,
            },
        ))
    }

    /// Identifies the signer from the assertion and verifies it against their passkey.
    async fn verify_one_touch(
        &self,
        credential: &PublicKeyCredential,
        authentication: serde_json::Value,
        challenge: &[u8],
    ) -> Result<(User, webauthn_rs::prelude::AuthenticationResult)> {
        let authentication: DiscoverableAuthentication =
            serde_json::from_value(with_challenge(authentication, challenge)?)?;
        let webauthn = self.accounts.webauthn();
        let (user_id, credential_id) = webauthn
            .identify_discoverable_authentication(credential)
            .map_err(|_| unknown_passkey())?;
        let passkeys = self.accounts.webauthn_passkeys(user_id).await?;
        let passkey = passkeys
            .iter()
            .find(|p| p.cred_id().as_slice() == credential_id)
            .ok_or_else(unknown_passkey)?;
        let result = webauthn
            .finish_discoverable_authentication_v2(credential, authentication, passkey)
            .map_err(webauthn_error)?;
        let user = self
            .accounts
            .user(user_id)
            .await?
            .ok_or_else(unknown_passkey)?;
        Ok((user, result))
    }

    /// The card "the signer's default card" means: the card the shopper made their default,
    /// else the card they added most recently; expired cards never count.
    pub async fn default_card(&self, user: &User) -> Result<SealedCard> {
        let today = time::OffsetDateTime::now_utc().date();
        let usable = |c: &StoredCard| {
            crate::card::Expiry::new(c.exp_month as u8, c.exp_year as u16)
                .is_some_and(|e| !e.is_expired(today))
        };
        let cards: Vec<StoredCard> = self
            .vault
            .cards(user.id)
            .await?
            .into_iter()
            .filter(usable)
            .collect();
        let chosen = cards
            .iter()
            .find(|c| c.is_default)
            .or_else(|| cards.iter().max_by_key(|c| (c.created_at, c.id)))
            .cloned();
        let card = chosen.ok_or_else(no_default_card)?;
        // The same check a chosen card gets.
        self.usable_card(user, card.id).await
    }
}

fn one_touch_unavailable() -> Error {
    Error::invalid(
        "one_touch_unavailable",
        "This shop asks for a shipping address: sign in to choose one, then pay.",
    )
}

fn no_default_card() -> Error {
    Error::invalid(
        "no_default_card",
        "Your wallet has no card this payment can use. Sign in to add one.",
    )
}

#[cfg(test)]
mod tests {
    use super::DEFAULT_CARD;

    #[test]
    fn the_default_card_statement_can_never_be_a_card_id() {
        assert!(uuid::Uuid::parse_str(DEFAULT_CARD).is_err());
    }
}
