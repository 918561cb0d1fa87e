//! Step 2, the consent: `/oauth/authorize` takes a pushed request (once) and opens a consent
//! for it; the consent page shows its merchant and payment, with the cards and points the
//! shopper can pay with; the shopper may cancel it.

use url::Url;

use super::details::PaymentRequest;
use super::pushed::REQUEST_URI_PREFIX;
use super::{consent_closed, stored_payment, suspended, Checkout};
use crate::accounts::user::User;
use crate::clock::random_token;
use crate::error::{Error, Result};
use crate::merchants::{Merchant, MerchantStatus};
use crate::points::Programme;
use crate::risk::Attempt;
use crate::secrets::constant_time_eq;
use crate::secrets::sha256_hex;
use crate::store::checkout::consent::{Consent, ConsentAndMerchant, ConsentLookup, ConsentStatus};
use crate::store::checkout::pushed::RequestUriRefusal;

/// The consent page's content.
pub struct ConsentView {
    pub consent: Consent,
    pub merchant: Merchant,
    /// The multiplier (percent) of the merchant's campaign in force now, for the earn preview.
    pub points_multiplier_percent: i64,
    /// The points programme in force now: what points are worth and how many may be used.
    pub programme: Programme,
    pub payment: PaymentRequest,
}

/// The browser a request comes from, as far as consents are concerned: a consent can only be
/// used from the browser that opened it.
pub struct Browser {
    /// The SHA-256 (hex) of the key its session keeps; none before it has one.
    pub key_hash: Option<String>,
    /// The consents its session lists: how a consent opened before consents carried the
    /// browser's key is bound.
    pub listed: Vec<String>,
}

impl Browser {
    /// Whether this browser opened `consent`.
    fn opened(&self, consent: &Consent) -> bool {
        match &consent.browser_hash {
            Some(hash) => self
                .key_hash
                .as_deref()
                .is_some_and(|key| constant_time_eq(key.as_bytes(), hash.as_bytes())),
            None => self.listed.contains(&consent.id),
        }
    }
}

impl Checkout {
    /// `GET /oauth/authorize`: takes the pushed request (once) and opens a consent for it, bound
    /// to the browser whose key hashes to `browser_hash`.
    pub async fn start_consent(
        &self,
        client_id: Option<&str>,
        request_uri: Option<&str>,
        browser_hash: &str,
        now: i64,
    ) -> Result<Consent> {
        let (Some(client_id), Some(request_uri)) = (client_id, request_uri) else {
            return Err(Error::invalid(
                "invalid_request",
                "This checkout link is incomplete. Go back to the shop and start the payment again.",
            ));
        };
        let handle = request_uri
            .strip_prefix(REQUEST_URI_PREFIX)
            .unwrap_or_default();
        // The merchant's suspension is checked in the statement that uses the request.
        let consent_id = random_token()?;
        let refused = self
            .store
            .consume_pushed_request(
                &sha256_hex(handle.as_bytes()),
                client_id,
                &consent_id,
                browser_hash,
                now + self.lifetimes.request,
                now,
            )
            .await?;
        refused.map_err(request_uri_refused)
    }

    /// The consent's merchant and payment, while it can still be approved, for the browser
    /// that opened it (any other is told it does not exist).
    pub async fn consent(&self, id: &str, browser: &Browser, now: i64) -> Result<ConsentView> {
        let found = self
            .bound_consent(id, ConsentLookup::default(), browser, now)
            .await?;
        self.open_consent(found, now)
    }

    /// The consent with its merchant, the points programme, and the ceremony and the card
    /// `lookup` names (a step that finishes a ceremony, or uses a card), read in one statement,
    /// if `browser` opened it; nothing about it is checked yet (see
    /// [`Checkout::open_consent`]).
    pub(super) async fn bound_consent(
        &self,
        id: &str,
        lookup: ConsentLookup<'_>,
        browser: &Browser,
        now: i64,
    ) -> Result<ConsentAndMerchant> {
        self.store
            .find_consent_with_merchant(id, lookup, now)
            .await?
            .filter(|found| browser.opened(&found.consent))
            .ok_or_else(Error::not_found)
    }

    /// The consent page's content from a consent read by [`Checkout::bound_consent`], while it
    /// can still be approved.
    pub(super) fn open_consent(&self, found: ConsentAndMerchant, now: i64) -> Result<ConsentView> {
        let consent = found.consent;
        if consent.status != ConsentStatus::Pending {
            return Err(consent_closed());
        }
        if consent.expires_at <= now {
            return Err(Error::invalid(
                "consent_expired",
                "This checkout has expired. Go back to the shop and start again.",
            ));
        }
        let (merchant, points_multiplier_percent) = found.merchant.ok_or_else(Error::not_found)?;
        let merchant = Merchant::try_from(merchant)?;
        if merchant.status == MerchantStatus::Suspended {
            return Err(suspended());
        }
        let payment = stored_payment(&consent.pushed.details)?;
        let programme = self.programmes.in_force(found.programme)?;
        Ok(ConsentView {
            consent,
            merchant,
            points_multiplier_percent,
            programme,
            payment,
        })
    }

    /// The shopper cancels, or returns to the shop after the limits refused: the merchant gets
    /// `error=access_denied`, with an `error_description` naming the limit in the second case.
    pub async fn deny(
        &self,
        consent_id: &str,
        browser: &Browser,
        user: Option<&User>,
        now: i64,
    ) -> Result<Url> {
        let refused = match user {
            Some(user) => match self.consent(consent_id, browser, now).await {
                Ok(view) => self
                    .standing_refusal(user, &view, now)
                    .await?
                    .map(|why| why.description()),
                Err(_) => None,
            },
            None => None,
        };
        let consent = self
            .store
            .find_consent(consent_id)
            .await?
            .filter(|consent| browser.opened(consent))
            .ok_or_else(Error::not_found)?;
        if !self.store.deny_consent(consent_id).await? {
            return Err(consent_closed());
        }
        match refused {
            Some(why) => self.back_to_merchant(
                &consent.pushed,
                &[("error", "access_denied"), ("error_description", &why)],
            ),
            None => self.back_to_merchant(&consent.pushed, &[("error", "access_denied")]),
        }
    }
}

/// The consent's payment as the risk limits see it, for this shopper.
pub(super) fn attempt<'a>(user_id: &'a str, view: &ConsentView) -> Attempt<'a> {
    Attempt {
        user_id,
        amount: view.payment.amount,
        merchant_verified: view.merchant.status == MerchantStatus::Verified,
    }
}

/// The shopper followed a `request_uri` that cannot open a consent.
fn request_uri_refused(why: RequestUriRefusal) -> Error {
    let message = match why {
        RequestUriRefusal::MerchantSuspended => return suspended(),
        RequestUriRefusal::Used => {
            "This checkout link was already used. Go back to the shop and start the payment again."
        }
        RequestUriRefusal::Expired => {
            "This checkout link has expired. Go back to the shop and start the payment again."
        }
        RequestUriRefusal::Unknown | RequestUriRefusal::OtherClient => {
            "This checkout link is not valid. Go back to the shop and start the payment again."
        }
    };
    Error::invalid("invalid_request_uri", message)
}

/// Where a shopper goes on from a consent that can no longer be used.
pub struct WayBack {
    pub merchant_name: String,
    /// The shop's own site: the origin of its registered redirect URI.
    pub shop: String,
    /// The consent was approved: the order is in the shopper's Activity.
    pub paid: bool,
}

impl Checkout {
    /// The way back from a consent that is closed or expired, for its error page.
    pub async fn way_back(&self, id: &str) -> Result<Option<WayBack>> {
        let Some(consent) = self.store.find_consent(id).await? else {
            return Ok(None);
        };
        let Some(merchant) = self.merchants.find(&consent.pushed.client_id).await? else {
            return Ok(None);
        };
        let shop = Url::parse(&consent.pushed.redirect_uri)
            .map(|u| u.origin().ascii_serialization() + "/")
            .map_err(Error::internal)?;
        Ok(Some(WayBack {
            merchant_name: merchant.name,
            shop,
            paid: consent.status == ConsentStatus::Approved,
        }))
    }
}
