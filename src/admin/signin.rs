//! Admin sign-in: a discoverable passkey assertion with user verification; failures are
//! throttled like shoppers' (`accounts::throttle`), on the admins' own counters.

use std::net::IpAddr;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use uuid::Uuid;
use webauthn_rs::prelude::{Passkey, PublicKeyCredential, RequestChallengeResponse};

use super::account::Admin;
use super::identity::{not_an_admin, Admins, CeremonyState, SIGN_IN};
use crate::accounts::ceremony::ceremony_not_found;
use crate::accounts::refusals::{counter_outcome, unknown_passkey, webauthn_error};
use crate::error::Result;
use crate::store::PasskeyUse;

impl Admins {
    pub async fn begin_sign_in(&self, now: i64) -> Result<(String, RequestChallengeResponse)> {
        let (options, authentication) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(webauthn_error)?;
        let state = CeremonyState::SignIn { authentication };
        Ok((self.put(SIGN_IN, &state, now).await?, options))
    }

    /// Finishes an admin sign-in. Failures count against the address and the admin, as for
    /// shoppers; a lock-out is written to the audit log.
    pub async fn finish_sign_in(
        &self,
        ceremony_id: &str,
        credential: &PublicKeyCredential,
        client_ip: IpAddr,
        now: i64,
    ) -> Result<Admin> {
        self.throttle.check_address(client_ip, now).await?;
        let mut account = None;
        let outcome = self
            .verify_sign_in(ceremony_id, credential, now, &mut account)
            .await;
        self.throttle
            .settle(outcome.as_ref().map(|a| a.id), account, client_ip, now)
            .await?;
        outcome
    }

    async fn verify_sign_in(
        &self,
        ceremony_id: &str,
        credential: &PublicKeyCredential,
        now: i64,
        account: &mut Option<Uuid>,
    ) -> Result<Admin> {
        let CeremonyState::SignIn { authentication } = self.take(ceremony_id, SIGN_IN, now).await?
        else {
            return Err(ceremony_not_found());
        };
        let (admin_id, credential_id) = self
            .webauthn
            .identify_discoverable_authentication(credential)
            .map_err(|_| unknown_passkey())?;
        self.throttle.check_account(admin_id, now).await?;
        let credential_id = URL_SAFE_NO_PAD.encode(credential_id);
        let stored = self
            .store
            .find_admin_passkey(admin_id, &credential_id)
            .await?
            .ok_or_else(not_an_admin)?;
        *account = Some(admin_id);
        let mut passkey: Passkey = serde_json::from_str(&stored.credential_json)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(credential, authentication, &passkey)
            .map_err(webauthn_error)?;
        if !result.user_verified() {
            return Err(webauthn_error(
                webauthn_rs::prelude::WebauthnError::UserNotVerified,
            ));
        }
        passkey.update_credential(&result);
        let used = PasskeyUse {
            id: stored.id,
            counter: i64::from(result.counter()),
            credential_json: serde_json::to_string(&passkey)?,
            at: now,
        };
        counter_outcome(self.store.record_admin_passkey_use(&used).await?)?;
        self.admin(admin_id).await?.ok_or_else(not_an_admin)
    }
}
