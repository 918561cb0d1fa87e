//! Step 3, the approval: the shopper confirms the payment with a passkey whose challenge is a
//! digest of the exact payment, the card and points chosen, the shipping address chosen (when
//! the merchant asks for one), and a fresh nonce. A confirmed
//! consent gives the merchant a one-time authorization code.

use saifu_sdk::checkout::ShippingAddress;
use serde::{Deserialize, Serialize};
use url::Url;
use uuid::Uuid;
use webauthn_rs::prelude::{PasskeyAuthentication, PublicKeyCredential, RequestChallengeResponse};

use super::challenge::{payment_challenge, with_challenge};
use super::consent::{Browser, ConsentView};
use super::standing::max_redeemable;
use super::{consent_closed, Checkout};
use crate::accounts::ceremony;
use crate::accounts::ceremony::ceremony_not_found;
use crate::accounts::refusals::{account_frozen, counter_outcome, webauthn_error};
use crate::accounts::user::User;
use crate::accounts::{credential_key, stored_assertion_use};
use crate::clock::random_token;
use crate::error::{Error, Result};
use crate::receipts::issue::{receipt_claims, Approved};
use crate::risk::Approving;
use crate::secrets::sha256_hex;
use crate::store::checkout::consent::{Approval, ConsentLookup, NewCode};
use crate::store::PasskeyUse;
use crate::vault::SealedCard;

const APPROVAL_CEREMONY: &str = "payment_approval";

/// How the shopper chose to pay: one of their cards, and the points to use (0 for none); and
/// where to ship, when the merchant asks for an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentChoice {
    pub card_id: Uuid,
    pub points: i64,
    pub address_id: Option<Uuid>,
}

/// Where an approval starts: its consent, the browser asking, and the id its ceremony is
/// stored under.
pub struct ApprovalStart<'a> {
    pub consent_id: &'a str,
    pub browser: &'a Browser,
    pub ceremony_id: &'a str,
}

/// A submitted confirmation: the consent, the ceremony that was started for it, what the
/// shopper chose, and the passkey's signed answer.
pub struct ApprovalRequest {
    pub consent_id: String,
    pub ceremony_id: String,
    pub choice: PaymentChoice,
    pub credential: PublicKeyCredential,
}

/// An approval checked and ready to record: its consent, the passkey use, what the limits
/// let through, the card, and the challenge the passkey signed.
pub(super) struct Checked {
    pub(super) view: ConsentView,
    pub(super) passkey: PasskeyUse,
    pub(super) approving: Approving,
    /// The card as the checks read it, its number sealed until the card network is called.
    pub(super) card: SealedCard,
    pub(super) challenge: Vec<u8>,
    /// The copy of the chosen shipping address, when the merchant asked for one.
    pub(super) shipping: Option<ShippingAddress>,
}

#[derive(Serialize, Deserialize)]
struct ApprovalState {
    consent_id: String,
    user_id: Uuid,
    nonce: String,
    /// webauthn-rs `PasskeyAuthentication`, its challenge replaced by the payment's.
    authentication: serde_json::Value,
}

impl Checkout {
    /// Starts the passkey confirmation of a payment with the chosen card and points: the
    /// challenge is a digest of the exact payment and a fresh nonce. The ceremony is stored
    /// under `ceremony_id`, which the browser's session derives for this consent (see
    /// `session::approval_ceremony_id`): it replaces one an earlier start left there.
    pub async fn begin_approval(
        &self,
        start: ApprovalStart<'_>,
        user: &User,
        choice: PaymentChoice,
        now: i64,
    ) -> Result<RequestChallengeResponse> {
        let consent_id = start.consent_id;
        if user.is_frozen() {
            return Err(account_frozen());
        }
        // The chosen card is read with the consent (and checked where it always was).
        let user_id = user.id.to_string();
        let card_id = choice.card_id.to_string();
        let lookup = ConsentLookup {
            ceremony_id: None,
            card: Some((&user_id, &card_id)),
            passkey: None,
        };
        let mut found = self
            .bound_consent(consent_id, lookup, start.browser, now)
            .await?;
        let card = found.card.take().map(SealedCard::from);
        let view = self.open_consent(found, now)?;
        // The shop's settings, the limits and (when points are used) the balance, in one read.
        let standing = self.standing(user, &view, choice.points != 0, now).await?;
        if let Err(refused) = self.approving(user, &view, &standing, now) {
            return Err(refused.error());
        }
        usable(card)?;
        check_points(&view, choice.points, standing.points_available)?;
        let shipping = self.shipping_choice(user, &view, choice.address_id).await?;
        let passkeys = self.accounts.webauthn_passkeys(user.id).await?;
        let (mut options, authentication) = self
            .accounts
            .webauthn()
            .start_passkey_authentication(&passkeys)
            .map_err(webauthn_error)?;
        let nonce = random_token()?;
        let challenge = payment_challenge(
            &view,
            &choice.card_id.to_string(),
            choice.points,
            shipping.as_ref(),
            &nonce,
        );
        options.public_key.challenge = challenge.clone();
        let state = ApprovalState {
            consent_id: consent_id.to_string(),
            user_id: user.id,
            nonce,
            authentication: with_challenge(serde_json::to_value(&authentication)?, &challenge)?,
        };
        ceremony::replace(
            &self.store,
            start.ceremony_id,
            APPROVAL_CEREMONY,
            &state,
            self.accounts.ceremony_ttl_secs(),
            now,
        )
        .await?;
        Ok(options)
    }

    /// Verifies the passkey confirmation against the payment re-derived from what is submitted
    /// now; an assertion made for another payment, card or merchant fails. On success the
    /// consent is approved once and the redirect to the merchant, with the code, is returned.
    ///
    /// The ceremony gets one attempt: it is read first, and then taken either by the approval's
    /// own transaction (which also records the passkey's counter: one commit for the step) or,
    /// when any check fails, on its own.
    pub async fn approve(
        &self,
        user: &User,
        browser: &Browser,
        request: &ApprovalRequest,
        now: i64,
    ) -> Result<Url> {
        let checked = match self.check_approval(user, browser, request, now).await {
            Ok(checked) => checked,
            Err(e) => {
                // Used up all the same. Should this fail too, the ceremony still expires.
                if let Err(gone) = self.store.take_ceremony(&request.ceremony_id).await {
                    tracing::warn!(error = %gone, "could not remove a failed approval's ceremony");
                }
                return Err(e);
            }
        };
        self.finish_approval(user, request, checked, now).await
    }

    /// Records a checked approval and words what the store refused; on success, the redirect
    /// to the merchant with the code.
    pub(super) async fn finish_approval(
        &self,
        user: &User,
        request: &ApprovalRequest,
        checked: Checked,
        now: i64,
    ) -> Result<Url> {
        let grant_jti = Uuid::new_v4().to_string();
        // The card is authorized before the approval commits, so that a decline is told here.
        let card_part = self.card_part(&checked.view, request.choice.points)?;
        let authorization = if card_part.minor > 0 {
            match self
                .authorize_at_approval(&checked.view, &checked.card, card_part, &grant_jti, now)
                .await
            {
                Ok(reference) => Some(reference),
                Err(e) => {
                    self.use_up(&request.ceremony_id).await;
                    return Err(e);
                }
            }
        } else {
            None
        };
        let recorded = self
            .record_approval(
                user,
                request,
                &checked,
                &grant_jti,
                authorization.as_deref(),
                now,
            )
            .await;
        let approved = matches!(recorded, Ok((Approval::Approved, _)));
        if !approved && authorization.is_some() {
            self.void_unapproved(&grant_jti, now).await;
        }
        let (approval, code) = recorded?;
        match approval {
            Approval::Approved => {}
            Approval::CeremonyGone => return Err(ceremony_not_found()),
            Approval::Passkey(update) => {
                counter_outcome(update)?;
                return Err(Error::internal(anyhow::anyhow!(
                    "a recorded passkey use was reported as refused"
                )));
            }
            Approval::ConsentClosed => return Err(consent_closed()),
            Approval::AccountFrozen => return Err(account_frozen()),
            Approval::Limit(why) => {
                self.use_up(&request.ceremony_id).await;
                return Err(checked.approving.refused(why).error());
            }
            Approval::Shop(why) => {
                self.use_up(&request.ceremony_id).await;
                let (view, amount) = (&checked.view, checked.view.payment.amount);
                let standing = self.standing(user, view, false, now).await?;
                let refused = match self.shops.refusal(&standing.shop, &view.merchant, amount) {
                    Some(refused) => refused,
                    None => self.shops.count_refused(why, &view.merchant, amount),
                };
                return Err(refused.error());
            }
            Approval::AuthorizationReleased => {
                self.use_up(&request.ceremony_id).await;
                return Err(Error::new(
                    crate::error::Kind::Upstream,
                    "processor_error",
                    "The card network took too long to answer, so nothing was charged. Please try again.",
                ));
            }
        }
        let pushed = &checked.view.consent.pushed;
        tracing::info!(client_id = %pushed.client_id, user_id = %user.id, "payment approved");
        self.back_to_merchant(pushed, &[("code", &code)])
    }

    /// Uses up a ceremony whose approval was refused after its checks. Should this fail too,
    /// the ceremony still expires.
    async fn use_up(&self, ceremony_id: &str) {
        if let Err(gone) = self.store.take_ceremony(ceremony_id).await {
            tracing::warn!(error = %gone, "could not remove a refused approval's ceremony");
        }
    }

    /// Everything `approve` checks before it writes: the ceremony belongs to this consent and
    /// shopper, the consent is open, the limits let it through, the points and the card can be
    /// used, and the assertion signs this exact payment (and shipping address). Gives what to
    /// record.
    async fn check_approval(
        &self,
        user: &User,
        browser: &Browser,
        request: &ApprovalRequest,
        now: i64,
    ) -> Result<Checked> {
        // Checked again by the approval's write, which also sees a freeze made since.
        if user.is_frozen() {
            return Err(account_frozen());
        }
        // The ceremony and the chosen card are read with the consent. Another browser is told
        // the consent does not exist before anything else.
        let user_id = user.id.to_string();
        let card_id = request.choice.card_id.to_string();
        // The passkey the answer names, as the shopper's: checked once its signature is.
        let credential_id = credential_key(request.credential.raw_id.as_slice());
        let lookup = ConsentLookup {
            ceremony_id: Some(&request.ceremony_id),
            card: Some((&user_id, &card_id)),
            passkey: Some((&user_id, &credential_id)),
        };
        let mut found = self
            .bound_consent(&request.consent_id, lookup, browser, now)
            .await?;
        let card = found.card.take().map(SealedCard::from);
        let stored_passkey = found.passkey.take();
        let state: ApprovalState = ceremony::open(found.ceremony.take(), APPROVAL_CEREMONY, now)?;
        if state.consent_id != request.consent_id || state.user_id != user.id {
            return Err(Error::invalid(
                "webauthn_challenge_mismatch",
                "This confirmation was made for another payment. Please confirm again.",
            ));
        }
        let view = self.open_consent(found, now)?;
        // The one read of the shop's settings and the limits (and the points balance when
        // points are used): not binding, but it refuses early, and the approval's write counts
        // the payment within the cap and within these limits (that write is what binds).
        let points = request.choice.points;
        let standing = self.standing(user, &view, points != 0, now).await?;
        let approving = self
            .approving(user, &view, &standing, now)
            .map_err(|refused| refused.error())?;
        check_points(&view, points, standing.points_available)?;
        let shipping = self
            .shipping_choice(user, &view, request.choice.address_id)
            .await?;
        let challenge = payment_challenge(
            &view,
            &request.choice.card_id.to_string(),
            request.choice.points,
            shipping.as_ref(),
            &state.nonce,
        );
        let authentication: PasskeyAuthentication =
            serde_json::from_value(with_challenge(state.authentication, &challenge)?)?;
        let result = self
            .accounts
            .webauthn()
            .finish_passkey_authentication(&request.credential, &authentication)
            .map_err(webauthn_error)?;
        let passkey = stored_assertion_use(stored_passkey, user.id, &result, now)?;
        let card = usable(card)?;
        Ok(Checked {
            view,
            passkey,
            approving,
            card,
            challenge,
            shipping,
        })
    }

    /// Approves the consent and stores a new code for it, holding the points chosen, and its
    /// signed receipt, in one transaction that also takes the ceremony and records the
    /// passkey's use. Gives what the store did, and the code.
    async fn record_approval(
        &self,
        user: &User,
        request: &ApprovalRequest,
        checked: &Checked,
        grant_jti: &str,
        authorization: Option<&str>,
        now: i64,
    ) -> Result<(Approval, String)> {
        let code = random_token()?;
        let view = &checked.view;
        let receipt = self
            .signer
            .sign_receipt(&receipt_claims(&Approved {
                view,
                card: &checked.card.card,
                points: request.choice.points,
                grant_jti,
                challenge: &checked.challenge,
                issuer: self.issuer(),
                now,
            }))
            .await?;
        let user_id = user.id.to_string();
        // Counted at the shop until the code could no longer give a grant that is still valid.
        let shop = self.shops.counting(
            &user_id,
            &view.merchant,
            view.payment.amount,
            now,
            now + self.lifetimes.code + self.lifetimes.grant,
        );
        let points = request.choice.points;
        let mut granted = checked.view.payment.details.clone();
        granted.points_redeemed = (points > 0).then_some(points);
        let shipping = checked.shipping.clone();
        let shipping_json = shipping.as_ref().map(serde_json::to_string).transpose()?;
        if let Some(asked) = granted.shipping.as_mut() {
            asked.address = shipping;
        }
        let approval = self
            .store
            .approve_consent(
                &request.consent_id,
                &request.ceremony_id,
                &checked.passkey,
                NewCode {
                    code_hash: &sha256_hex(code.as_bytes()),
                    user_id: &user.id.to_string(),
                    card_id: &request.choice.card_id.to_string(),
                    details: &serde_json::to_string(&[granted])?,
                    shipping_address: shipping_json.as_deref(),
                    expires_at: now + self.lifetimes.code,
                    points,
                    // Held until the code could no longer give a grant that is still valid.
                    hold_expires_at: now + self.lifetimes.code + self.lifetimes.grant,
                    ledger: &crate::points::Rules,
                    programme_version: view.programme.version,
                    multiplier_percent: view.points_multiplier_percent,
                    counting: &checked.approving.counting,
                    grant_jti,
                    receipt: &receipt,
                    shop: &shop,
                    authorization,
                },
                now,
            )
            .await
            .map_err(crate::points::refused)?;
        Ok((approval, code))
    }

    /// The shopper's card, if it is theirs and not expired, in one read, with its number
    /// sealed (for the card network, later in the same step).
    pub(super) async fn usable_card(&self, user: &User, card_id: Uuid) -> Result<SealedCard> {
        usable(self.vault.sealed_card(user.id, card_id).await?)
    }
}

/// Whether the shopper may use `points` on the consent's payment: the programme's rules, then
/// their balance `available` (read with their standing whenever `points` is not 0).
fn check_points(view: &ConsentView, points: i64, available: Option<i64>) -> Result<()> {
    if points == 0 {
        // Using no points is always allowed: no need to read the balance.
        return Ok(());
    }
    if let Some(refused) = view
        .programme
        .rules
        .check_redemption(view.payment.amount, points)
    {
        return Err(refused.error());
    }
    let max = max_redeemable(view, available.unwrap_or(0));
    if points < 0 || points > max {
        return Err(Error::invalid(
            "invalid_points",
            format!("You can use 0 to {max} points on this payment."),
        )
        .on_field("points"));
    }
    Ok(())
}

/// The card the shopper chose, as read (none: not theirs), if it is not expired.
fn usable(found: Option<SealedCard>) -> Result<SealedCard> {
    let sealed = found.ok_or_else(|| {
        Error::invalid("unknown_card", "Choose one of your cards.").on_field("card_id")
    })?;
    let card = &sealed.card;
    let today = time::OffsetDateTime::now_utc().date();
    let expired = crate::card::Expiry::new(card.exp_month as u8, card.exp_year as u16)
        .is_none_or(|e| e.is_expired(today));
    if expired {
        return Err(Error::invalid(
            "card_expired",
            "This card has expired. Choose another card.",
        )
        .on_field("card_id"));
    }
    Ok(sealed)
}
