//! A soft passkey that behaves like a discoverable (resident-key) authenticator, for the
//! integration tests and the checkout benchmark alike. It depends on external crates only, so
//! the benchmark can include this file with `#[path]`.

use url::Url;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, ResidentKeyRequirement,
};

/// A software passkey that, like a platform authenticator, remembers the user handle and
/// credential id it made, so it can answer discoverable (username-less) sign-ins.
pub struct TestPasskey {
    soft: SoftPasskey,
    pub user_handle: Option<Vec<u8>>,
    pub credential_id: Option<Vec<u8>>,
}

impl TestPasskey {
    /// An authenticator that verifies its user (PIN or biometrics).
    pub fn new() -> Self {
        Self {
            soft: SoftPasskey::new(true),
            user_handle: None,
            credential_id: None,
        }
    }

    pub fn register(
        &mut self,
        origin: &Url,
        mut options: CreationChallengeResponse,
    ) -> Result<RegisterPublicKeyCredential, String> {
        let handle = options.public_key.user.id.clone();
        // The wallet must ask for a discoverable credential. SoftPasskey cannot keep one, so
        // this wrapper keeps the user handle and credential id itself, as a resident key would.
        let selection = options
            .public_key
            .authenticator_selection
            .as_mut()
            .ok_or("no authenticator selection")?;
        if !selection.require_resident_key
            || selection.resident_key != Some(ResidentKeyRequirement::Required)
        {
            return Err("the wallet did not require a discoverable credential".into());
        }
        selection.require_resident_key = false;
        selection.resident_key = None;
        let credential = self
            .soft
            .do_registration(origin.clone(), options)
            .map_err(|e| format!("{e:?}"))?;
        self.user_handle = Some(handle);
        self.credential_id = Some(credential.raw_id.clone());
        Ok(credential)
    }

    pub fn assert(
        &mut self,
        origin: &Url,
        mut options: RequestChallengeResponse,
    ) -> Result<PublicKeyCredential, String> {
        let id = self.credential_id.clone().ok_or("no credential yet")?;
        options.public_key.allow_credentials = vec![AllowCredentials {
            type_: "public-key".into(),
            id,
            transports: None,
        }];
        options.mediation = None;
        let mut credential = self
            .soft
            .do_authentication(origin.clone(), options)
            .map_err(|e| format!("{e:?}"))?;
        credential.response.user_handle = self.user_handle.clone();
        Ok(credential)
    }
}
