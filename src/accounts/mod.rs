//! Shopper accounts and their passkeys: the WebAuthn ceremonies for sign-up, sign-in
//! (`signin`) and adding a passkey, with ceremony state kept server-side and sign-in failures rate-limited.
//! Parsed account inputs, ceremony storage, refusals, frozen accounts and the after-sign-in
//! return path live in the modules below.

pub mod account;
pub mod ceremony;
pub mod freeze;
pub mod refusals;
pub mod return_to;
pub mod signin;
pub mod throttle;
pub mod user;

use std::sync::Arc;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{
    AuthenticationResult, CreationChallengeResponse, DiscoverableAuthentication, Passkey,
    PasskeyRegistration, RegisterPublicKeyCredential, Webauthn,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use self::account::{DisplayName, Email, PasskeyName};
use self::ceremony::ceremony_not_found;
use self::refusals::{counter_outcome, email_taken, refused, unknown_passkey, webauthn_error};
pub use self::throttle::SigninLimits;
use self::throttle::Throttle;
use self::user::User;
use crate::audit::Action;
use crate::error::{Error, Result};
use crate::store::{FirstPasskey, NewUser, PasskeyUse, SessionStore, Store, StoredPasskey};

/// Which ceremony a session is running; each kind has its own slot in the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyKind {
    SignUp,
    SignIn,
    AddPasskey,
    PaymentApproval,
}

impl CeremonyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::SignUp => "sign_up",
            CeremonyKind::SignIn => "sign_in",
            CeremonyKind::AddPasskey => "add_passkey",
            CeremonyKind::PaymentApproval => "payment_approval",
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum CeremonyState {
    SignUp {
        user_id: Uuid,
        email: String,
        display_name: String,
        registration: PasskeyRegistration,
    },
    SignIn {
        authentication: DiscoverableAuthentication,
        /// Where to go once signed in.
        #[serde(default)]
        next: Option<String>,
    },
    AddPasskey {
        user_id: Uuid,
        name: Option<String>,
        registration: PasskeyRegistration,
    },
}

/// The shoppers' accounts service: a shared handle (cloned for every request that takes it),
/// its parts behind one `Arc`.
#[derive(Clone)]
pub struct Accounts(Arc<AccountsInner>);

impl std::ops::Deref for Accounts {
    type Target = AccountsInner;

    fn deref(&self) -> &AccountsInner {
        &self.0
    }
}

/// What an [`Accounts`] holds.
pub struct AccountsInner {
    webauthn: Arc<Webauthn>,
    store: Store,
    ceremony_ttl_secs: i64,
    limits: SigninLimits,
    throttle: Throttle,
    /// The browser sessions' store, one per wallet so that the sign-in and the session layer
    /// share what it remembers.
    sessions: SessionStore,
}

impl Accounts {
    pub fn new(
        webauthn: Arc<Webauthn>,
        store: Store,
        ceremony_ttl_secs: i64,
        limits: SigninLimits,
    ) -> Self {
        let throttle = Throttle::new(
            store.clone(),
            limits,
            "signin",
            "shopper",
            Action::ShopperSigninLocked,
        );
        Self(Arc::new(AccountsInner {
            webauthn,
            sessions: SessionStore::new(store.clone()),
            store,
            ceremony_ttl_secs,
            limits,
            throttle,
        }))
    }

    /// Starts sign-up. Nothing is stored for the account until the passkey is made.
    pub async fn begin_sign_up(
        &self,
        email: Email,
        display_name: DisplayName,
        now: i64,
    ) -> Result<(String, CreationChallengeResponse)> {
        if self.store.email_in_use(&email.normalized()).await? {
            return Err(email_taken());
        }
        let user_id = Uuid::new_v4();
        let (mut options, registration) = self
            .webauthn
            .start_passkey_registration(user_id, email.as_str(), display_name.as_str(), None)
            .map_err(webauthn_error)?;
        require_discoverable(&mut options);
        let state = CeremonyState::SignUp {
            user_id,
            email: email.as_str().to_string(),
            display_name: display_name.as_str().to_string(),
            registration,
        };
        let id = self.put(CeremonyKind::SignUp, &state, now).await?;
        Ok((id, options))
    }

    /// Finishes sign-up: verifies the new passkey and creates the account with it, or
    /// refuses with `email_taken` if another sign-up for the address won meanwhile.
    pub async fn finish_sign_up(
        &self,
        ceremony_id: &str,
        credential: &RegisterPublicKeyCredential,
        now: i64,
    ) -> Result<User> {
        let CeremonyState::SignUp {
            user_id,
            email,
            display_name,
            registration,
        } = self.take(ceremony_id, CeremonyKind::SignUp, now).await?
        else {
            return Err(ceremony_not_found());
        };
        let passkey = self
            .webauthn
            .finish_passkey_registration(credential, &registration)
            .map_err(webauthn_error)?;
        let email = Email::parse(&email)?;
        let display_name = DisplayName::parse(&display_name)?;
        let credential_json = serde_json::to_string(&passkey)?;
        let credential_id = URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice());
        self.store
            .create_user_with_passkey(
                NewUser {
                    id: user_id,
                    email: email.as_str(),
                    email_normalized: &email.normalized(),
                    display_name: display_name.as_str(),
                },
                FirstPasskey {
                    id: Uuid::new_v4(),
                    credential_id: &credential_id,
                    name: "Passkey 1",
                    credential_json: &credential_json,
                    sign_count: 0,
                },
                now,
            )
            .await
            .map_err(refused)
    }

    pub async fn begin_add_passkey(
        &self,
        user: &User,
        name: Option<PasskeyName>,
        now: i64,
    ) -> Result<(String, CreationChallengeResponse)> {
        let existing = self.store.list_passkeys(user.id).await?;
        let exclude = existing
            .iter()
            .map(|p| {
                serde_json::from_str::<Passkey>(&p.credential_json).map(|k| k.cred_id().clone())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (mut options, registration) = self
            .webauthn
            .start_passkey_registration(user.id, &user.email, &user.display_name, Some(exclude))
            .map_err(webauthn_error)?;
        require_discoverable(&mut options);
        let state = CeremonyState::AddPasskey {
            user_id: user.id,
            name: name.map(|n| n.as_str().to_string()),
            registration,
        };
        let id = self.put(CeremonyKind::AddPasskey, &state, now).await?;
        Ok((id, options))
    }

    pub async fn finish_add_passkey(
        &self,
        user: &User,
        ceremony_id: &str,
        credential: &RegisterPublicKeyCredential,
        now: i64,
    ) -> Result<()> {
        let CeremonyState::AddPasskey {
            user_id,
            name,
            registration,
        } = self
            .take(ceremony_id, CeremonyKind::AddPasskey, now)
            .await?
        else {
            return Err(ceremony_not_found());
        };
        if user_id != user.id {
            return Err(ceremony_not_found());
        }
        let passkey = self
            .webauthn
            .finish_passkey_registration(credential, &registration)
            .map_err(webauthn_error)?;
        let count = self.store.count_passkeys(user.id).await?;
        let name = name.unwrap_or_else(|| format!("Passkey {}", count + 1));
        self.store
            .add_passkey(
                user.id,
                FirstPasskey {
                    id: Uuid::new_v4(),
                    credential_id: &URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice()),
                    name: &name,
                    credential_json: &serde_json::to_string(&passkey)?,
                    sign_count: 0,
                },
                now,
            )
            .await
            .map_err(refused)
    }

    pub async fn passkeys(&self, user_id: Uuid) -> Result<Vec<StoredPasskey>> {
        Ok(self.store.list_passkeys(user_id).await?)
    }

    pub async fn rename_passkey(&self, user_id: Uuid, id: Uuid, name: PasskeyName) -> Result<()> {
        Ok(self
            .store
            .rename_passkey(user_id, id, name.as_str())
            .await?)
    }

    pub async fn remove_passkey(&self, user_id: Uuid, id: Uuid, now: i64) -> Result<()> {
        self.store
            .delete_passkey(user_id, id, now)
            .await
            .map_err(refused)
    }

    /// Where browser sessions are kept, for the session layer.
    pub fn sessions(&self) -> SessionStore {
        self.sessions.clone()
    }

    /// Whether the accounts database answers (the readiness probe).
    pub async fn ping(&self) -> std::result::Result<(), crate::store::Error> {
        Ok(self.store.ping().await?)
    }

    /// Removes expired sessions and ceremonies, and rate-limit windows that have closed.
    pub async fn purge_expired(&self, now: i64) -> Result<u64> {
        Ok(self
            .store
            .purge_expired(now, self.limits.window_secs)
            .await?)
    }

    pub async fn user(&self, id: Uuid) -> Result<Option<User>> {
        Ok(self.store.find_user(id).await?)
    }

    async fn put(&self, kind: CeremonyKind, state: &CeremonyState, now: i64) -> Result<String> {
        ceremony::put(
            &self.store,
            kind.as_str(),
            state,
            self.ceremony_ttl_secs,
            now,
        )
        .await
    }

    async fn take(&self, id: &str, kind: CeremonyKind, now: i64) -> Result<CeremonyState> {
        ceremony::take(&self.store, id, kind.as_str(), now).await
    }

    pub fn webauthn(&self) -> &Webauthn {
        &self.webauthn
    }

    pub fn ceremony_ttl_secs(&self) -> i64 {
        self.ceremony_ttl_secs
    }

    /// Records a verified assertion on the shopper's stored passkey: the signature counter
    /// must move forward (a conditional write), else the passkey may have been cloned.
    pub async fn record_assertion(
        &self,
        user_id: Uuid,
        result: &AuthenticationResult,
        now: i64,
    ) -> Result<()> {
        let used = self.assertion_use(user_id, result, now).await?;
        counter_outcome(self.store.record_passkey_use(&used).await?)
    }

    /// What a verified assertion changes on the shopper's stored passkey, for a caller that
    /// records it in its own transaction (and then checks it with [`counter_outcome`]).
    pub async fn assertion_use(
        &self,
        user_id: Uuid,
        result: &AuthenticationResult,
        now: i64,
    ) -> Result<PasskeyUse> {
        let credential_id = credential_key(result.cred_id().as_slice());
        let stored = self.store.find_passkey(user_id, &credential_id).await?;
        stored_assertion_use(stored, user_id, result, now)
    }

    /// The shopper's passkeys as webauthn-rs credentials.
    pub async fn webauthn_passkeys(&self, user_id: Uuid) -> Result<Vec<Passkey>> {
        self.store
            .list_passkeys(user_id)
            .await?
            .iter()
            .map(|p| serde_json::from_str::<Passkey>(&p.credential_json).map_err(Error::from))
            .collect()
    }
}

/// How a passkey's credential id is stored: its raw id, base64url without padding.
pub fn credential_key(raw_id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw_id)
}

/// What a verified assertion changes on the shopper's passkey, as the caller read it (by the
/// shopper and [`credential_key`] of the credential's raw id; none: not found), for a caller
/// that records it in its own transaction (and then checks it with [`counter_outcome`]). A
/// passkey that is not the shopper's, or not the one that signed, is unknown.
pub fn stored_assertion_use(
    stored: Option<StoredPasskey>,
    user_id: Uuid,
    result: &AuthenticationResult,
    now: i64,
) -> Result<PasskeyUse> {
    let signer = credential_key(result.cred_id().as_slice());
    let stored = stored
        .filter(|p| p.user_id == user_id && p.credential_id == signer)
        .ok_or_else(unknown_passkey)?;
    let mut passkey: Passkey = serde_json::from_str(&stored.credential_json)?;
    passkey.update_credential(result);
    Ok(PasskeyUse {
        id: stored.id,
        counter: i64::from(result.counter()),
        credential_json: serde_json::to_string(&passkey)?,
        at: now,
    })
}

/// Saifu passkeys are discoverable, so that sign-in needs no user name and autofill works.
pub(crate) fn require_discoverable(options: &mut CreationChallengeResponse) {
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
}
