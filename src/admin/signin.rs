//! Admin sign-in: a discoverable passkey assertion with user verification, failures counted
//! per address and per admin in the database (every node shares them), a lock-out written to
//! the audit log.

use std::net::IpAddr;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use uuid::Uuid;
use webauthn_rs::prelude::{Passkey, PublicKeyCredential, RequestChallengeResponse};

use super::account::Admin;
use super::identity::{not_an_admin, Admins, CeremonyState, SIGN_IN};
use crate::accounts::ceremony::ceremony_not_found;
use crate::accounts::refusals::{
    counter_outcome, too_many_attempts, unknown_passkey, webauthn_error,
};
use crate::audit::{Action, Actor, Entry};
use crate::error::{Kind, Result};
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
        let window = self.limits.window_secs;
        let ip_key = format!("admin_signin:ip:{client_ip}");
        if self.store.failures(&ip_key, now, window).await? >= i64::from(self.limits.per_ip) {
            return Err(too_many_attempts());
        }
        let mut admin_key = None;
        let outcome = self
            .verify_sign_in(ceremony_id, credential, now, &mut admin_key)
            .await;
        match &outcome {
            Ok(admin) => self.store.clear_failures(&admin_key_for(admin.id)).await?,
            Err(err) if err.code() != "too_many_attempts" && err.kind() != Kind::Internal => {
                let locked = |target: String, limit: u32| {
                    Entry::new(&Actor::System, Action::AdminSigninLocked, target)
                        .with("failures", limit)
                        .with("window_secs", window)
                        .record(now)
                };
                let ip_locked = locked(format!("ip:{client_ip}"), self.limits.per_ip);
                self.store
                    .record_failure(
                        &ip_key,
                        now,
                        window,
                        (i64::from(self.limits.per_ip), &ip_locked),
                    )
                    .await?;
                if let Some((key, admin_id)) = &admin_key {
                    let limit = self.limits.per_account;
                    let admin_locked = locked(format!("admin:{admin_id}"), limit);
                    self.store
                        .record_failure(key, now, window, (i64::from(limit), &admin_locked))
                        .await?;
                }
            }
            Err(_) => {}
        }
        outcome
    }

    async fn verify_sign_in(
        &self,
        ceremony_id: &str,
        credential: &PublicKeyCredential,
        now: i64,
        admin_key: &mut Option<(String, Uuid)>,
    ) -> Result<Admin> {
        let CeremonyState::SignIn { authentication } = self.take(ceremony_id, SIGN_IN, now).await?
        else {
            return Err(ceremony_not_found());
        };
        let (admin_id, credential_id) = self
            .webauthn
            .identify_discoverable_authentication(credential)
            .map_err(|_| unknown_passkey())?;
        let key = admin_key_for(admin_id);
        if self
            .store
            .failures(&key, now, self.limits.window_secs)
            .await?
            >= i64::from(self.limits.per_account)
        {
            return Err(too_many_attempts());
        }
        let credential_id = URL_SAFE_NO_PAD.encode(credential_id);
        let stored = self
            .store
            .find_admin_passkey(admin_id, &credential_id)
            .await?
            .ok_or_else(not_an_admin)?;
        *admin_key = Some((key, admin_id));
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

fn admin_key_for(admin_id: Uuid) -> String {
    format!("admin_signin:admin:{admin_id}")
}
