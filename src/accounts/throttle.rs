//! Failed passkey sign-ins, counted in the database (so every node shares them) per address
//! and, once the passkey names its account, per account. Past either limit sign-in is refused
//! for the rest of the window, even with a valid passkey; reaching a limit is written to the
//! audit log by the `system` actor. Shoppers and console admins each have their own counters.

use std::net::IpAddr;

use uuid::Uuid;

use super::refusals::too_many_attempts;
use crate::audit::{Action, Actor, Entry};
use crate::error::{Error, Kind, Result};
use crate::store::Store;

/// Limits on failed sign-ins, counted in the database so that every node shares them.
#[derive(Clone, Copy, Debug)]
pub struct SigninLimits {
    pub per_account: u32,
    pub per_ip: u32,
    pub window_secs: i64,
}

#[derive(Clone)]
pub struct Throttle {
    store: Store,
    limits: SigninLimits,
    /// The counters' key prefix: `signin` for shoppers, `admin_signin` for admins.
    scope: &'static str,
    /// How a locked account is named in the audit log: `shopper` or `admin`.
    account: &'static str,
    locked: Action,
}

impl Throttle {
    pub fn new(
        store: Store,
        limits: SigninLimits,
        scope: &'static str,
        account: &'static str,
        locked: Action,
    ) -> Self {
        Self {
            store,
            limits,
            scope,
            account,
            locked,
        }
    }

    /// The address's failure counter.
    pub fn address_key(&self, ip: IpAddr) -> String {
        format!("{}:ip:{ip}", self.scope)
    }

    /// The account's failure counter.
    pub fn account_key(&self, id: Uuid) -> String {
        format!("{}:account:{id}", self.scope)
    }

    /// Counters whose window started at or before this instant are over.
    pub fn window_over_at(&self, now: i64) -> i64 {
        now - self.limits.window_secs
    }

    /// Refuses an address whose failures, read with the sign-in's other look-ups, are past
    /// its limit.
    pub fn refuse_address(&self, failures: i64) -> Result<()> {
        refuse_over(failures, self.limits.per_ip)
    }

    /// Refuses an account whose failures, read with the sign-in's other look-ups, are past
    /// its limit.
    pub fn refuse_account(&self, failures: i64) -> Result<()> {
        refuse_over(failures, self.limits.per_account)
    }

    /// Refuses an address past its limit.
    pub async fn check_address(&self, ip: IpAddr, now: i64) -> Result<()> {
        self.check(&self.address_key(ip), self.limits.per_ip, now)
            .await
    }

    /// Refuses an account past its limit.
    pub async fn check_account(&self, id: Uuid, now: i64) -> Result<()> {
        self.check(&self.account_key(id), self.limits.per_account, now)
            .await
    }

    async fn check(&self, key: &str, limit: u32, now: i64) -> Result<()> {
        let failures = self
            .store
            .failures(key, now, self.limits.window_secs)
            .await?;
        refuse_over(failures, limit)
    }

    /// Counts a sign-in's outcome: a success clears the account's failures; a failure counts
    /// against the address and, when the passkey named one, the account. A refusal that is
    /// not the passkey's fault (already throttled, a frozen account, our own error) counts
    /// for nothing.
    pub async fn settle(
        &self,
        outcome: std::result::Result<Uuid, &Error>,
        account: Option<Uuid>,
        ip: IpAddr,
        now: i64,
    ) -> Result<()> {
        match outcome {
            Ok(id) => Ok(self.store.clear_failures(&self.account_key(id)).await?),
            Err(err) if counts_as_failure(err) => {
                let window = self.limits.window_secs;
                let locked = |target: String, limit: u32| {
                    Entry::new(&Actor::System, self.locked, target)
                        .with("failures", limit)
                        .with("window_secs", window)
                        .record(now)
                };
                let per_ip = self.limits.per_ip;
                self.store
                    .record_failure(
                        &self.address_key(ip),
                        now,
                        window,
                        (i64::from(per_ip), &locked(format!("ip:{ip}"), per_ip)),
                    )
                    .await?;
                if let Some(id) = account {
                    let limit = self.limits.per_account;
                    let target = format!("{}:{id}", self.account);
                    self.store
                        .record_failure(
                            &self.account_key(id),
                            now,
                            window,
                            (i64::from(limit), &locked(target, limit)),
                        )
                        .await?;
                }
                Ok(())
            }
            Err(_) => Ok(()),
        }
    }
}

fn refuse_over(failures: i64, limit: u32) -> Result<()> {
    if failures >= i64::from(limit) {
        return Err(too_many_attempts());
    }
    Ok(())
}

fn counts_as_failure(err: &Error) -> bool {
    !matches!(err.code(), "too_many_attempts" | "account_frozen") && err.kind() != Kind::Internal
}
