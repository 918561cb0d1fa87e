//! Account recovery without SMS. A shopper who lost their passkeys signs in once with a
//! recovery code (one of ten, each usable once), or with a one-time link the issuer's support
//! made, which works only after a cool-down that any passkey sign-in cancels. Either way every
//! other session of the shopper ends, and the shopper goes straight to making a new passkey
//! (see `http::account_recovery`). Every step is audited and listed on the shopper's Activity.

pub mod codes;

use std::net::IpAddr;

use uuid::Uuid;

use self::codes::RecoveryCode;
use crate::accounts::account::Email;
use crate::accounts::refusals::account_frozen;
use crate::accounts::throttle::Throttle;
use crate::accounts::user::User;
use crate::accounts::SigninLimits;
use crate::audit::{Action, Actor, Entry};
use crate::clock::random_token;
use crate::error::{Error, Kind, Result};
use crate::secrets::sha256_hex;
use crate::store::recovery_codes::{NewRecovery, RecoveryRow, SecurityEvent};
use crate::store::Store;

/// How long a recovery link works once its cool-down is over.
pub const LINK_VALID_SECS: i64 = 7 * 24 * 60 * 60;

/// Account-security events the shopper's Activity shows.
const EVENTS_SHOWN: i64 = 20;

/// What the shopper's Activity and the audit log call each step.
pub mod event {
    pub const CODES_CREATED: &str = "recovery_codes_created";
    pub const CODES_REPLACED: &str = "recovery_codes_replaced";
    pub const CODE_USED: &str = "recovery_code_used";
    pub const STARTED: &str = "recovery_started";
    pub const CANCELLED: &str = "recovery_cancelled";
    pub const CANCELLED_BY_SUPPORT: &str = "recovery_cancelled_by_support";
    pub const COMPLETED: &str = "recovery_completed";
}

/// A recovery just started: the link's token is shown once and never stored.
pub struct Started {
    pub token: String,
    pub usable_at: i64,
    pub expires_at: i64,
}

/// What a recovery link can do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// The cool-down runs until `usable_at`.
    Waiting { usable_at: i64 },
    /// It signs the shopper in (once) until `expires_at`.
    Ready { expires_at: i64 },
}

#[derive(Clone)]
pub struct Recovery {
    store: Store,
    throttle: Throttle,
    cooldown_secs: i64,
}

fn target(user_id: Uuid) -> String {
    format!("shopper:{user_id}")
}

/// The code does not sign this address in: unknown address, wrong, used or replaced code.
fn wrong_code() -> Error {
    Error::invalid(
        "invalid_recovery_code",
        "This email address and recovery code do not match, or the code was already used.",
    )
    .on_field("code")
}

fn link_invalid() -> Error {
    Error::new(
        Kind::Gone,
        "recovery_link_invalid",
        "This recovery link no longer works: it was used, cancelled, replaced by a newer one, or it expired.",
    )
}

fn not_ready() -> Error {
    Error::conflict(
        "recovery_not_ready",
        "This recovery link does not work yet: for your safety it works only after a waiting period.",
    )
}

/// Runs a slow hash off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal(anyhow::anyhow!("recovery code hashing: {e}")))?
}

impl Recovery {
    pub fn new(store: Store, limits: SigninLimits, cooldown_secs: i64) -> Self {
        let throttle = Throttle::new(
            store.clone(),
            limits,
            "recovery",
            "shopper",
            Action::ShopperRecoveryLocked,
        );
        Self {
            store,
            throttle,
            cooldown_secs,
        }
    }

    /// Makes a new set of codes for the shopper, replacing the old set whole; the codes as the
    /// shopper is shown them (once: only their hashes are kept). A replacement is audited; the
    /// first set, part of signing up (which is not audited either), is not.
    pub async fn new_codes(&self, user_id: Uuid, now: i64) -> Result<Vec<String>> {
        let set = blocking(codes::new_set).await?;
        let first = !self.store.has_recovery_codes(user_id).await?;
        let audit = (!first).then(|| {
            Entry::new(
                &Actor::Shopper(user_id),
                Action::ShopperRecoveryCodesReplaced,
                target(user_id),
            )
            .record(now)
        });
        let event = if first {
            event::CODES_CREATED
        } else {
            event::CODES_REPLACED
        };
        self.store
            .replace_recovery_codes(user_id, &set.hashes, now, (event, audit.as_ref()))
            .await?;
        tracing::info!(user_id = %user_id, "recovery codes made");
        Ok(set.codes.iter().map(RecoveryCode::display).collect())
    }

    /// Whether the shopper ever made recovery codes.
    pub async fn has_codes(&self, user_id: Uuid) -> Result<bool> {
        Ok(self.store.has_recovery_codes(user_id).await?)
    }

    /// How many of the shopper's codes are left.
    pub async fn codes_left(&self, user_id: Uuid) -> Result<usize> {
        Ok(self.store.unused_recovery_codes(user_id).await?.len())
    }

    /// Signs a shopper in with a recovery code: the code is used up and every session of the
    /// shopper ends. Failures count like failed passkey sign-ins, per address and per account.
    pub async fn sign_in_with_code(
        &self,
        email: &str,
        code: &str,
        client_ip: IpAddr,
        now: i64,
    ) -> Result<User> {
        let email = Email::parse(email)?;
        let code = RecoveryCode::parse(code)?;
        self.throttle.check_address(client_ip, now).await?;
        let mut account = None;
        let outcome = self.use_code(&email, code, now, &mut account).await;
        self.throttle
            .settle(outcome.as_ref().map(|u| u.id), account, client_ip, now)
            .await?;
        outcome
    }

    async fn use_code(
        &self,
        email: &Email,
        code: RecoveryCode,
        now: i64,
        account: &mut Option<Uuid>,
    ) -> Result<User> {
        let user = self.store.find_user_by_email(&email.normalized()).await?;
        let stored = match &user {
            Some(u) => {
                self.throttle.check_account(u.id, now).await?;
                *account = Some(u.id);
                self.store.unused_recovery_codes(u.id).await?
            }
            None => Vec::new(),
        };
        let hashes: Vec<String> = stored.iter().map(|c| c.hash.clone()).collect();
        let found = blocking(move || codes::matching(&code, &hashes)).await?;
        let (Some(user), Some(i)) = (user, found) else {
            return Err(wrong_code());
        };
        // Said only to whoever holds one of the account's codes.
        if user.is_frozen() {
            return Err(account_frozen());
        }
        let entry = Entry::new(
            &Actor::Shopper(user.id),
            Action::ShopperRecoveryCodeUsed,
            target(user.id),
        )
        .with("codes_left", stored.len() - 1);
        let record = (event::CODE_USED, &entry.record(now));
        if !self
            .store
            .use_recovery_code(user.id, stored[i].id, now, record)
            .await?
        {
            return Err(wrong_code());
        }
        tracing::info!(user_id = %user.id, "signed in with a recovery code");
        self.fresh(user.id).await
    }

    async fn fresh(&self, user_id: Uuid) -> Result<User> {
        self.store
            .find_user(user_id)
            .await?
            .ok_or_else(Error::not_found)
    }

    /// Starts a recovery for the shopper (replacing a pending one): the link's token, shown
    /// once, works from the end of the cool-down for [`LINK_VALID_SECS`].
    pub async fn start(&self, user_id: Uuid, by: &Actor, now: i64) -> Result<Started> {
        self.fresh(user_id).await?;
        let replaced = self.store.pending_recovery(user_id).await?.is_some();
        let token = random_token()?;
        let usable_at = now + self.cooldown_secs;
        let expires_at = usable_at + LINK_VALID_SECS;
        let id = Uuid::new_v4();
        let entry = Entry::new(by, Action::ShopperRecoveryStarted, target(user_id))
            .with("recovery_id", id.to_string())
            .with("usable_at", usable_at)
            .with("replaced_pending", replaced);
        let new = NewRecovery {
            id,
            user_id,
            token_hash: &sha256_hex(token.as_bytes()),
            started_by: &by.to_string(),
            usable_at,
            expires_at,
        };
        self.store
            .start_recovery(new, now, (event::STARTED, &entry.record(now)))
            .await?;
        tracing::info!(user_id = %user_id, actor = %by, "recovery started");
        Ok(Started {
            token,
            usable_at,
            expires_at,
        })
    }

    /// The shopper's pending recovery, for the console.
    pub async fn pending(&self, user_id: Uuid) -> Result<Option<RecoveryRow>> {
        Ok(self.store.pending_recovery(user_id).await?)
    }

    /// A passkey sign-in proves the shopper still has a passkey: a recovery still in its
    /// cool-down is cancelled, and the shopper will be told on the wallet home.
    pub async fn passkey_signed_in(&self, user_id: Uuid, now: i64) -> Result<()> {
        let Some(pending) = self.store.pending_recovery(user_id).await? else {
            return Ok(());
        };
        if now >= pending.usable_at {
            return Ok(());
        }
        let entry = Entry::new(
            &Actor::Shopper(user_id),
            Action::ShopperRecoveryCancelled,
            target(user_id),
        )
        .with("recovery_id", pending.id.to_string())
        .with("by", "passkey_sign_in");
        let cancelled = self
            .store
            .cancel_recovery(
                (pending.id, user_id),
                true,
                now,
                (event::CANCELLED, &entry.record(now)),
            )
            .await?;
        if cancelled {
            tracing::info!(user_id = %user_id, "recovery cancelled by a passkey sign-in");
        }
        Ok(())
    }

    /// Support calls off the shopper's pending recovery (the shopper asked, or it was started in
    /// error): its link stops working and the shopper's Activity says so. `false` when there was
    /// none.
    pub async fn cancel(&self, user_id: Uuid, by: &Actor, now: i64) -> Result<bool> {
        let Some(pending) = self.store.pending_recovery(user_id).await? else {
            return Ok(false);
        };
        let entry = Entry::new(by, Action::ShopperRecoveryCancelled, target(user_id))
            .with("recovery_id", pending.id.to_string())
            .with("by", "admin");
        let cancelled = self
            .store
            .cancel_recovery(
                (pending.id, user_id),
                false,
                now,
                (event::CANCELLED_BY_SUPPORT, &entry.record(now)),
            )
            .await?;
        if cancelled {
            tracing::info!(user_id = %user_id, "recovery cancelled by an admin");
        }
        Ok(cancelled)
    }

    /// What the link with this token can do now; refused when it no longer works.
    pub async fn link(&self, token: &str, now: i64) -> Result<LinkState> {
        self.live_link(token, now).await.map(|row| {
            if now < row.usable_at {
                LinkState::Waiting {
                    usable_at: row.usable_at,
                }
            } else {
                LinkState::Ready {
                    expires_at: row.expires_at,
                }
            }
        })
    }

    async fn live_link(&self, token: &str, now: i64) -> Result<RecoveryRow> {
        match self
            .store
            .recovery_by_token(&sha256_hex(token.as_bytes()))
            .await?
        {
            Some(row) if row.state == "pending" && now < row.expires_at => Ok(row),
            _ => Err(link_invalid()),
        }
    }

    /// Signs the shopper in with the link, once, after the cool-down; every session of the
    /// shopper ends.
    pub async fn sign_in_with_link(&self, token: &str, now: i64) -> Result<User> {
        let row = self.live_link(token, now).await?;
        if now < row.usable_at {
            return Err(not_ready());
        }
        let user = self.fresh(row.user_id).await?;
        if user.is_frozen() {
            return Err(account_frozen());
        }
        let entry = Entry::new(
            &Actor::Shopper(user.id),
            Action::ShopperRecoveryCompleted,
            target(user.id),
        )
        .with("recovery_id", row.id.to_string());
        let done = self
            .store
            .complete_recovery(
                (row.id, user.id),
                now,
                (event::COMPLETED, &entry.record(now)),
            )
            .await?;
        if !done {
            return Err(link_invalid());
        }
        tracing::info!(user_id = %user.id, "signed in with a recovery link");
        self.fresh(user.id).await
    }

    /// When recoveries were cancelled by the shopper's sign-ins, for notices not dismissed.
    pub async fn notices(&self, user_id: Uuid) -> Result<Vec<i64>> {
        Ok(self.store.recovery_notices(user_id).await?)
    }

    pub async fn dismiss_notices(&self, user_id: Uuid) -> Result<()> {
        Ok(self.store.dismiss_recovery_notices(user_id).await?)
    }

    /// The shopper's latest account-security events, newest first.
    pub async fn events(&self, user_id: Uuid) -> Result<Vec<SecurityEvent>> {
        Ok(self.store.security_events(user_id, EVENTS_SHOWN).await?)
    }
}
