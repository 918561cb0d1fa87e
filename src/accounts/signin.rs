//! Passkey sign-in. The finish step reads everything it checks in one statement (the
//! ceremony, the failure counters, the passkey and its account), verifies, and then writes in
//! one transaction: the ceremony taken, the counter recorded, the account's failures cleared,
//! the replaced browser session ended and the signed-in one written. A finish that fails
//! before that transaction takes the ceremony on its own, so each ceremony gets one attempt.

use std::net::IpAddr;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use tower_sessions::session::Id;
use uuid::Uuid;
use webauthn_rs::prelude::{Passkey, PublicKeyCredential, RequestChallengeResponse};

use super::ceremony::{self, ceremony_not_found};
use super::refusals::{account_frozen, counter_outcome, unknown_passkey, webauthn_error};
use super::return_to::ReturnTo;
use super::user::User;
use super::{Accounts, CeremonyKind, CeremonyState};
use crate::error::Result;
use crate::store::{PasskeyUse, SigninContext, SigninLookup, SigninWrite};

/// A finished sign-in.
#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    /// The account has a recovery waiting, which holding a passkey may cancel.
    pub recovery_pending: bool,
    /// Where to go now, as given when the sign-in started.
    pub next: ReturnTo,
}

/// One attempt to finish a sign-in.
pub struct SignInAttempt<'a> {
    pub ceremony_id: &'a str,
    pub credential: &'a PublicKeyCredential,
    pub client_ip: IpAddr,
    /// The browser session the sign-in replaces: ended in the sign-in's transaction.
    pub replaced_session: Option<Id>,
    /// What the signed-in browser session changes for the account signing in: the session is
    /// written so in the sign-in's transaction (and the session layer's save of it then writes
    /// nothing). When it cannot be (`None`, or this node no longer holds the replaced
    /// session's data), the session layer writes it on its own.
    pub new_session: &'a (dyn Fn(&User) -> Option<SessionChange> + Sync),
    pub now: i64,
}

/// The session a sign-in leaves: the replaced one's data under a new id, less some keys and
/// with others set.
pub struct SessionChange {
    pub id: Id,
    pub expires_at: i64,
    pub remove: Vec<&'static str>,
    pub set: Vec<(&'static str, serde_json::Value)>,
}

/// A verified assertion, ready to be written.
struct Verified {
    used: PasskeyUse,
    user: User,
    recovery_pending: bool,
    next: ReturnTo,
}

impl Accounts {
    /// Starts a sign-in under `ceremony_id`, which the browser's session derives (so that
    /// starting writes no session; a second start in the session replaces the first),
    /// remembering where to go once signed in.
    pub async fn begin_sign_in(
        &self,
        ceremony_id: &str,
        next: &ReturnTo,
        now: i64,
    ) -> Result<RequestChallengeResponse> {
        let (options, authentication) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(webauthn_error)?;
        let state = CeremonyState::SignIn {
            authentication,
            next: Some(next.as_str().to_string()),
        };
        ceremony::replace(
            &self.store,
            ceremony_id,
            CeremonyKind::SignIn.as_str(),
            &state,
            self.ceremony_ttl_secs,
            now,
        )
        .await?;
        Ok(options)
    }

    /// Finishes a passkey sign-in. Failures count against the address and, once the
    /// account is known, against the account; past the limits sign-in is refused for the
    /// rest of the window even with a valid passkey.
    pub async fn finish_sign_in(&self, attempt: SignInAttempt<'_>) -> Result<SignedIn> {
        // The passkey names its account (the user handle) before anything is verified; the
        // name is trusted only once the signature checks out.
        let named = self
            .webauthn
            .identify_discoverable_authentication(attempt.credential)
            .ok()
            .map(|(user_id, raw_id)| (user_id, URL_SAFE_NO_PAD.encode(raw_id)));
        let address_key = self.throttle.address_key(attempt.client_ip);
        let account_key = named.as_ref().map(|(id, _)| self.throttle.account_key(*id));
        let context = self
            .store
            .sign_in_context(&SigninLookup {
                ceremony_id: attempt.ceremony_id,
                address_key: &address_key,
                account_key: account_key.as_deref(),
                window_over_at: self.throttle.window_over_at(attempt.now),
                passkey: named.as_ref().map(|(id, cred)| (*id, cred.as_str())),
            })
            .await?;
        self.throttle.refuse_address(context.address_failures)?;
        let mut account = None;
        let outcome = self
            .complete_sign_in(&attempt, named.map(|(id, _)| id), context, &mut account)
            .await;
        if let Err(err) = &outcome {
            self.throttle
                .settle(Err(err), account, attempt.client_ip, attempt.now)
                .await?;
        }
        outcome
    }

    /// Verifies the assertion against what was read and writes the sign-in; `account` is
    /// set once the failure may be counted against the account the passkey names.
    async fn complete_sign_in(
        &self,
        attempt: &SignInAttempt<'_>,
        named: Option<Uuid>,
        context: SigninContext,
        account: &mut Option<Uuid>,
    ) -> Result<SignedIn> {
        let ceremony_found = context.ceremony.is_some();
        let account_failures = context.account_failures;
        let verified = match self.verify_sign_in(attempt, named, context, account) {
            Ok(verified) => verified,
            Err(err) => {
                if ceremony_found {
                    self.store.take_ceremony(attempt.ceremony_id).await?;
                }
                return Err(err);
            }
        };
        let frozen = verified.user.is_frozen();
        let account_key = self.throttle.account_key(verified.user.id);
        // A frozen shopper gets no session.
        let new_session = match (attempt.replaced_session, frozen) {
            (Some(current), false) => (attempt.new_session)(&verified.user).and_then(|change| {
                self.sessions.replacement(
                    &current,
                    change.id,
                    change.expires_at,
                    &change.remove,
                    change.set,
                )
            }),
            _ => None,
        };
        let written = self
            .store
            .complete_sign_in(&SigninWrite {
                ceremony_id: attempt.ceremony_id,
                used: &verified.used,
                // A frozen shopper's failures stay: the refusal is not the passkey's success.
                clear_failures: (account_failures > 0 && !frozen).then_some(account_key.as_str()),
                ended_session: attempt.replaced_session.filter(|_| !frozen),
                new_session: new_session.as_ref(),
            })
            .await?;
        let Some(written) = written else {
            // Another attempt took the ceremony first: this one never had it.
            *account = None;
            return Err(ceremony_not_found());
        };
        counter_outcome(written.update)?;
        // Said only to whoever proved they hold the passkey.
        if frozen {
            return Err(account_frozen());
        }
        if let Some(id) = &attempt.replaced_session {
            self.sessions.ended_by_sign_in(id);
        }
        if let Some(session) = new_session.filter(|_| written.session_written) {
            self.sessions.written_by_sign_in(&session);
        }
        Ok(SignedIn {
            user: verified.user,
            recovery_pending: verified.recovery_pending,
            next: verified.next,
        })
    }

    /// The checks of a finish, in the order a shopper meets them: the ceremony, the passkey's
    /// account and its failures, the passkey, the signature. No I/O.
    fn verify_sign_in(
        &self,
        attempt: &SignInAttempt<'_>,
        named: Option<Uuid>,
        context: SigninContext,
        account: &mut Option<Uuid>,
    ) -> Result<Verified> {
        let CeremonyState::SignIn {
            authentication,
            next,
        } = ceremony::open(context.ceremony, CeremonyKind::SignIn.as_str(), attempt.now)?
        else {
            return Err(ceremony_not_found());
        };
        let user_id = named.ok_or_else(unknown_passkey)?;
        self.throttle.refuse_account(context.account_failures)?;
        *account = Some(user_id);
        let stored = context.passkey.ok_or_else(unknown_passkey)?;
        let mut passkey: Passkey = serde_json::from_str(&stored.credential_json)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(attempt.credential, authentication, &passkey)
            .map_err(webauthn_error)?;
        passkey.update_credential(&result);
        Ok(Verified {
            used: PasskeyUse {
                id: stored.id,
                counter: i64::from(result.counter()),
                credential_json: serde_json::to_string(&passkey)?,
                at: attempt.now,
            },
            user: stored.user,
            recovery_pending: stored.recovery_pending,
            next: ReturnTo::parse(next.as_deref()),
        })
    }
}
