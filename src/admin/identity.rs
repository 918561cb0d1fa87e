//! Who is an admin: one-time invitations (`saifu admin invite` or an owner in the console),
//! the passkey made from an invitation, passkey sign-in (user verification required, failures
//! rate-limited like shoppers'), more passkeys, role changes and removal (never the last owner).

use std::sync::Arc;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyRegistration,
    RegisterPublicKeyCredential, Webauthn,
};

use super::account::Admin;
use super::role::Role;
use crate::accounts::account::Email;
use crate::accounts::ceremony::{self, ceremony_not_found};
use crate::accounts::refusals::webauthn_error;
use crate::accounts::throttle::Throttle;
use crate::accounts::{require_discoverable, SigninLimits};
use crate::audit::{Action, Actor, Entry};
use crate::clock::random_token;
use crate::error::{Error, Kind, Result};
use crate::secrets::sha256_hex;
use crate::store::admins::{
    NewAdmin, NewAdminPasskey, NewInvite, StoredAdmin, StoredAdminPasskey, StoredInvite,
};
use crate::store::{Refusal, Store};

/// How long an invitation link works.
pub const INVITE_TTL_SECS: i64 = 24 * 60 * 60;

const JOIN: &str = "admin_join";
pub(super) const SIGN_IN: &str = "admin_sign_in";
const ADD_PASSKEY: &str = "admin_add_passkey";

/// A new invitation: the token goes only into the link shown to whoever invited.
pub struct Invitation {
    pub token: String,
    pub expires_at: i64,
}

// The token opens the console: it never reaches a log.
impl std::fmt::Debug for Invitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitation")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// An invitation that can still be used, as its page shows it.
#[derive(Clone, Debug)]
pub struct OpenInvite {
    pub email: String,
    pub role: Role,
    pub expires_at: i64,
}

/// An invitation not yet used, for the owners' list.
#[derive(Clone, Debug)]
pub struct PendingInvite {
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum CeremonyState {
    Join {
        token_hash: String,
        admin_id: Uuid,
        registration: PasskeyRegistration,
    },
    SignIn {
        authentication: DiscoverableAuthentication,
    },
    AddPasskey {
        admin_id: Uuid,
        registration: PasskeyRegistration,
    },
}

#[derive(Clone)]
pub struct Admins {
    pub(super) webauthn: Arc<Webauthn>,
    pub(super) store: Store,
    ceremony_ttl_secs: i64,
    pub(super) throttle: Throttle,
}

fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

pub(super) fn admin_of(stored: StoredAdmin) -> Result<Admin> {
    Ok(Admin {
        role: Role::parse(&stored.role).ok_or_else(|| {
            Error::internal(anyhow::anyhow!("unknown admin role {:?}", stored.role))
        })?,
        id: stored.id,
        email: stored.email,
        created_at: stored.created_at,
    })
}

fn invite_used() -> Error {
    Error::new(
        Kind::Gone,
        "invite_used",
        "This invitation has already been used. Ask an owner for a new one if you still need access.",
    )
}

fn invite_expired() -> Error {
    Error::new(
        Kind::Gone,
        "invite_expired",
        "This invitation has expired (links work for 24 hours). Ask an owner for a new one.",
    )
}

fn invite_not_found() -> Error {
    Error::new(
        Kind::NotFound,
        "invite_not_found",
        "This invitation link is not valid. Check that you opened the whole link, or ask an owner for a new one.",
    )
}

fn admin_exists() -> Error {
    Error::conflict("admin_exists", "This address already belongs to an admin.").on_field("email")
}

fn last_owner() -> Error {
    Error::conflict(
        "last_owner",
        "This is the console's last owner. Make another admin an owner first.",
    )
}

pub(super) fn not_an_admin() -> Error {
    Error::new(
        Kind::Unauthenticated,
        "not_an_admin",
        "This passkey does not belong to a console admin. Admins sign in with the passkey made from their invitation.",
    )
}

impl Admins {
    pub fn new(
        webauthn: Arc<Webauthn>,
        store: Store,
        ceremony_ttl_secs: i64,
        limits: SigninLimits,
    ) -> Self {
        let throttle = Throttle::new(
            store.clone(),
            limits,
            "admin_signin",
            "admin",
            Action::AdminSigninLocked,
        );
        Self {
            webauthn,
            store,
            ceremony_ttl_secs,
            throttle,
        }
    }

    /// Makes a one-time invitation for `email` with `role`, valid for 24 hours.
    pub async fn invite(
        &self,
        email: &Email,
        role: Role,
        by: &Actor,
        now: i64,
    ) -> Result<Invitation> {
        if self.store.admin_email_in_use(&email.normalized()).await? {
            return Err(admin_exists());
        }
        let token = random_token()?;
        let expires_at = now + INVITE_TTL_SECS;
        let audit = Entry::new(
            by,
            Action::AdminInvited,
            format!("admin_invite:{}", email.normalized()),
        )
        .with("email", email.as_str())
        .with("role", role.as_str())
        .with("expires_at", expires_at)
        .record(now);
        self.store
            .insert_admin_invite(
                &NewInvite {
                    token_hash: &token_hash(&token),
                    email: email.as_str(),
                    role: role.as_str(),
                    invited_by: &by.to_string(),
                    created_at: now,
                    expires_at,
                },
                &audit,
            )
            .await?;
        Ok(Invitation { token, expires_at })
    }

    /// The invitation behind a link, if it can still be used; otherwise why not.
    pub async fn open_invite(&self, token: &str, now: i64) -> Result<OpenInvite> {
        let invite = self
            .store
            .find_admin_invite(&token_hash(token))
            .await?
            .ok_or_else(invite_not_found)?;
        usable(&invite, now)
    }

    /// Starts making the invitee's first passkey.
    pub async fn begin_join(
        &self,
        token: &str,
        now: i64,
    ) -> Result<(String, CreationChallengeResponse)> {
        let invite = self.open_invite(token, now).await?;
        let admin_id = Uuid::new_v4();
        let (mut options, registration) = self
            .webauthn
            .start_passkey_registration(admin_id, &invite.email, &invite.email, None)
            .map_err(webauthn_error)?;
        require_discoverable(&mut options);
        let state = CeremonyState::Join {
            token_hash: token_hash(token),
            admin_id,
            registration,
        };
        Ok((self.put(JOIN, &state, now).await?, options))
    }

    /// Finishes the first passkey: the invitation is used up and the admin exists, together.
    pub async fn finish_join(
        &self,
        ceremony_id: &str,
        credential: &RegisterPublicKeyCredential,
        now: i64,
    ) -> Result<Admin> {
        let CeremonyState::Join {
            token_hash,
            admin_id,
            registration,
        } = self.take(ceremony_id, JOIN, now).await?
        else {
            return Err(ceremony_not_found());
        };
        let invite = self
            .store
            .find_admin_invite(&token_hash)
            .await?
            .ok_or_else(invite_not_found)?;
        let open = usable(&invite, now)?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(credential, &registration)
            .map_err(webauthn_error)?;
        let email = Email::parse(&open.email)?;
        let audit = Entry::new(
            &Actor::Admin(admin_id.to_string()),
            Action::AdminJoined,
            format!("admin:{admin_id}"),
        )
        .with("email", email.as_str())
        .with("role", open.role.as_str())
        .with("invited_by", invite.invited_by.as_str())
        .record(now);
        let stored = self
            .store
            .accept_admin_invite(
                &token_hash,
                &NewAdmin {
                    id: admin_id,
                    email: email.as_str(),
                    email_normalized: &email.normalized(),
                    role: open.role.as_str(),
                },
                &NewAdminPasskey {
                    id: Uuid::new_v4(),
                    credential_id: &URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice()),
                    name: "Passkey 1",
                    credential_json: &serde_json::to_string(&passkey)?,
                },
                now,
                &audit,
            )
            .await
            .map_err(|err| match err.refusal() {
                Some(Refusal::InviteGone) => invite_used(),
                Some(Refusal::EmailTaken) => admin_exists(),
                Some(Refusal::PasskeyAlreadyRegistered) => passkey_taken(),
                _ => err.into(),
            })?;
        admin_of(stored)
    }

    pub async fn begin_add_passkey(
        &self,
        admin: &Admin,
        now: i64,
    ) -> Result<(String, CreationChallengeResponse)> {
        let exclude = self
            .passkeys(admin.id)
            .await?
            .iter()
            .map(|p| {
                serde_json::from_str::<Passkey>(&p.credential_json).map(|k| k.cred_id().clone())
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let (mut options, registration) = self
            .webauthn
            .start_passkey_registration(admin.id, &admin.email, &admin.email, Some(exclude))
            .map_err(webauthn_error)?;
        require_discoverable(&mut options);
        let state = CeremonyState::AddPasskey {
            admin_id: admin.id,
            registration,
        };
        Ok((self.put(ADD_PASSKEY, &state, now).await?, options))
    }

    pub async fn finish_add_passkey(
        &self,
        admin: &Admin,
        ceremony_id: &str,
        credential: &RegisterPublicKeyCredential,
        now: i64,
    ) -> Result<()> {
        let CeremonyState::AddPasskey {
            admin_id,
            registration,
        } = self.take(ceremony_id, ADD_PASSKEY, now).await?
        else {
            return Err(ceremony_not_found());
        };
        if admin_id != admin.id {
            return Err(ceremony_not_found());
        }
        let passkey = self
            .webauthn
            .finish_passkey_registration(credential, &registration)
            .map_err(webauthn_error)?;
        let count = self.passkeys(admin.id).await?.len();
        let name = format!("Passkey {}", count + 1);
        let audit = Entry::new(
            &admin.actor(),
            Action::AdminPasskeyAdded,
            format!("admin:{}", admin.id),
        )
        .with("name", name.as_str())
        .record(now);
        self.store
            .add_admin_passkey(
                admin.id,
                &NewAdminPasskey {
                    id: Uuid::new_v4(),
                    credential_id: &URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice()),
                    name: &name,
                    credential_json: &serde_json::to_string(&passkey)?,
                },
                now,
                &audit,
            )
            .await
            .map_err(|err| match err.refusal() {
                Some(Refusal::PasskeyAlreadyRegistered) => passkey_taken(),
                _ => err.into(),
            })
    }

    pub async fn admin(&self, id: Uuid) -> Result<Option<Admin>> {
        self.store.find_admin(id).await?.map(admin_of).transpose()
    }

    pub async fn list(&self) -> Result<Vec<Admin>> {
        self.store
            .list_admins()
            .await?
            .into_iter()
            .map(admin_of)
            .collect()
    }

    pub async fn passkeys(&self, admin_id: Uuid) -> Result<Vec<StoredAdminPasskey>> {
        Ok(self.store.list_admin_passkeys(admin_id).await?)
    }

    /// Invitations not used yet and still valid, newest first.
    pub async fn pending_invites(&self, now: i64) -> Result<Vec<PendingInvite>> {
        self.store
            .open_admin_invites(now)
            .await?
            .into_iter()
            .map(|i| {
                Ok(PendingInvite {
                    role: Role::parse(&i.role).ok_or_else(|| {
                        Error::internal(anyhow::anyhow!("unknown admin role {:?}", i.role))
                    })?,
                    email: i.email,
                    invited_by: i.invited_by,
                    expires_at: i.expires_at,
                })
            })
            .collect()
    }

    /// Gives an admin another role; the last owner keeps theirs.
    pub async fn change_role(&self, id: Uuid, role: Role, by: &Actor, now: i64) -> Result<()> {
        let target = self.admin(id).await?.ok_or_else(Error::not_found)?;
        if target.role == role {
            return Ok(());
        }
        let audit = Entry::new(by, Action::AdminRoleChanged, format!("admin:{id}"))
            .with("email", target.email.as_str())
            .with("from", target.role.as_str())
            .with("to", role.as_str())
            .record(now);
        self.store
            .set_admin_role(id, role.as_str(), &audit)
            .await
            .map_err(owner_refusal)
    }

    /// Removes an admin and their passkeys; their session ends at its next request. The last
    /// owner is never removed.
    pub async fn remove(&self, id: Uuid, by: &Actor, now: i64) -> Result<()> {
        let target = self.admin(id).await?.ok_or_else(Error::not_found)?;
        let audit = Entry::new(by, Action::AdminRemoved, format!("admin:{id}"))
            .with("email", target.email.as_str())
            .with("role", target.role.as_str())
            .record(now);
        self.store
            .remove_admin(id, &audit)
            .await
            .map_err(owner_refusal)
    }

    pub(super) async fn put(&self, kind: &str, state: &CeremonyState, now: i64) -> Result<String> {
        ceremony::put(&self.store, kind, state, self.ceremony_ttl_secs, now).await
    }

    pub(super) async fn take(&self, id: &str, kind: &str, now: i64) -> Result<CeremonyState> {
        ceremony::take(&self.store, id, kind, now).await
    }
}

fn usable(invite: &StoredInvite, now: i64) -> Result<OpenInvite> {
    if invite.used_at.is_some() {
        return Err(invite_used());
    }
    if invite.expires_at <= now {
        return Err(invite_expired());
    }
    Ok(OpenInvite {
        email: invite.email.clone(),
        role: Role::parse(&invite.role).ok_or_else(|| {
            Error::internal(anyhow::anyhow!("unknown admin role {:?}", invite.role))
        })?,
        expires_at: invite.expires_at,
    })
}

fn passkey_taken() -> Error {
    Error::conflict(
        "passkey_already_registered",
        "This passkey is already registered.",
    )
}

fn owner_refusal(err: crate::store::Error) -> Error {
    match err.refusal() {
        Some(Refusal::LastOwner) => last_owner(),
        _ => err.into(),
    }
}
