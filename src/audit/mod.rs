//! The audit log: an append-only, hash-chained record of every administrative and
//! security-relevant change (who, what, on what, with which non-secret details), written in
//! the same transaction as the change. `chain` holds the hash rule and the walk that checks it.

pub mod chain;

use serde::Serialize;
use serde_json::{Map, Value};

use self::chain::{canonical_json, Break, BreakReason, ChainWalk};
use crate::error::Result;
use crate::store::audit::{AuditFilter, AuditRecord, StoredAuditEntry, GENESIS_HASH};
use crate::store::Store;

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// An operator at the `saifu` command line.
    Cli,
    /// The wallet itself (a sign-in lock-out).
    System,
    /// An issuer admin, by id.
    Admin(String),
    /// A shopper, for changes they make to their own account's security.
    Shopper(uuid::Uuid),
    /// A merchant registering itself, or managing its own registration (RFC 7591, 7592).
    Registration,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Cli => f.write_str("cli"),
            Actor::System => f.write_str("system"),
            Actor::Admin(id) => write!(f, "admin:{id}"),
            Actor::Shopper(id) => write!(f, "shopper:{id}"),
            Actor::Registration => f.write_str("registration"),
        }
    }
}

/// What was done; stored as its dotted name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    MerchantCreated,
    MerchantStatusChanged,
    MerchantSecretRotated,
    MerchantWebhookSecretRotated,
    MerchantWebhookUrlSet,
    SigningKeyRotated,
    KekRotated,
    KekRewrapped,
    KekRetired,
    WebhookEndpointEnabled,
    WebhookEventRetried,
    ShopperSigninLocked,
    MerchantUpdated,
    ShopperFrozen,
    ShopperUnfrozen,
    AdminInvited,
    AdminJoined,
    AdminPasskeyAdded,
    AdminRoleChanged,
    AdminRemoved,
    AdminSigninLocked,
    /// An issuer admin decided a dispute.
    DisputeDecided,
    /// The guarantee fund paid a shopper for a dispute.
    GuaranteePaid,
    /// The issuer paid into the guarantee fund.
    GuaranteeFunded,
    /// The issuer changed a currency's risk limits.
    RiskLimitsChanged,
    /// The issuer made a new version of the points programme.
    PointsProgrammeChanged,
    /// The issuer scheduled a merchant's points campaign.
    PointsCampaignAdded,
    /// The issuer ended (or called off) a merchant's points campaign.
    PointsCampaignEnded,
    /// A shopper made a new set of recovery codes (the old set stops working).
    ShopperRecoveryCodesReplaced,
    /// A shopper signed in with a recovery code.
    ShopperRecoveryCodeUsed,
    /// Failed recovery-code sign-ins reached a limit.
    ShopperRecoveryLocked,
    /// An issuer admin started a recovery for a shopper.
    ShopperRecoveryStarted,
    /// A pending recovery was cancelled (by the shopper's passkey sign-in, or an admin).
    ShopperRecoveryCancelled,
    /// A shopper signed in with a recovery link after its cool-down.
    ShopperRecoveryCompleted,
    /// A shopper blocked a shop they had paid (its outstanding grants were revoked).
    ShopperShopBlocked,
    /// A shopper lifted their block of a shop.
    ShopperShopUnblocked,
    /// A merchant registered itself (RFC 7591).
    MerchantRegistered,
    /// A merchant that registered itself changed its metadata (RFC 7592).
    MerchantRegistrationUpdated,
    /// A merchant that registered itself deleted its registration (RFC 7592).
    MerchantRegistrationDeleted,
    /// The issuer opened dynamic registration.
    RegistrationEnabled,
    /// The issuer closed dynamic registration.
    RegistrationDisabled,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::MerchantCreated => "merchant.created",
            Action::MerchantStatusChanged => "merchant.status_changed",
            Action::MerchantSecretRotated => "merchant.secret_rotated",
            Action::MerchantWebhookSecretRotated => "merchant.webhook_secret_rotated",
            Action::MerchantWebhookUrlSet => "merchant.webhook_url_set",
            Action::SigningKeyRotated => "signing_key.rotated",
            Action::KekRotated => "kek.rotated",
            Action::KekRewrapped => "kek.rewrapped",
            Action::KekRetired => "kek.retired",
            Action::WebhookEndpointEnabled => "webhook.endpoint_enabled",
            Action::WebhookEventRetried => "webhook.event_retried",
            Action::ShopperSigninLocked => "shopper.signin_locked",
            Action::MerchantUpdated => "merchant.updated",
            Action::ShopperFrozen => "shopper.frozen",
            Action::ShopperUnfrozen => "shopper.unfrozen",
            Action::AdminInvited => "admin.invited",
            Action::AdminJoined => "admin.joined",
            Action::AdminPasskeyAdded => "admin.passkey_added",
            Action::AdminRoleChanged => "admin.role_changed",
            Action::AdminRemoved => "admin.removed",
            Action::AdminSigninLocked => "admin.signin_locked",
            Action::DisputeDecided => "dispute.decided",
            Action::GuaranteePaid => "guarantee.paid",
            Action::GuaranteeFunded => "guarantee.funded",
            Action::RiskLimitsChanged => "risk.limits_changed",
            Action::PointsProgrammeChanged => "points.programme_changed",
            Action::PointsCampaignAdded => "points.campaign_added",
            Action::PointsCampaignEnded => "points.campaign_ended",
            Action::ShopperRecoveryCodesReplaced => "shopper.recovery_codes_replaced",
            Action::ShopperRecoveryCodeUsed => "shopper.recovery_code_used",
            Action::ShopperRecoveryLocked => "shopper.recovery_locked",
            Action::ShopperRecoveryStarted => "shopper.recovery_started",
            Action::ShopperRecoveryCancelled => "shopper.recovery_cancelled",
            Action::ShopperRecoveryCompleted => "shopper.recovery_completed",
            Action::ShopperShopBlocked => "shopper.shop_blocked",
            Action::ShopperShopUnblocked => "shopper.shop_unblocked",
            Action::MerchantRegistered => "merchant.registered",
            Action::MerchantRegistrationUpdated => "merchant.registration_updated",
            Action::MerchantRegistrationDeleted => "merchant.registration_deleted",
            Action::RegistrationEnabled => "registration.enabled",
            Action::RegistrationDisabled => "registration.disabled",
        }
    }
}

/// An entry being built by the service that makes the change. Details are named values the
/// service chooses; a secret never goes in them.
#[derive(Clone, Debug)]
pub struct Entry {
    actor: String,
    action: Action,
    target: String,
    details: Map<String, Value>,
}

impl Entry {
    pub fn new(actor: &Actor, action: Action, target: impl Into<String>) -> Self {
        Self {
            actor: actor.to_string(),
            action,
            target: target.into(),
            details: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }

    /// The entry as the store appends it, made at `at`.
    pub fn record(&self, at: i64) -> AuditRecord {
        AuditRecord {
            at,
            actor: self.actor.clone(),
            action: self.action.as_str().to_string(),
            target: self.target.clone(),
            details: canonical_json(&Value::Object(self.details.clone())),
            seal: chain::seal,
        }
    }
}

/// A URL as details may hold it: without its query and fragment, where a token could ride.
pub fn url_detail(url: &url::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// The latest entry's place and hash: what an operator records elsewhere as a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Head {
    pub sequence: i64,
    pub hash: String,
}

impl Head {
    /// `SEQ:HASH`, as `saifu audit head` prints it and `--expect-head` reads it.
    pub fn parse(text: &str) -> Option<Self> {
        let (sequence, hash) = text.trim().split_once(':')?;
        let sequence = sequence.parse::<i64>().ok().filter(|n| *n >= 0)?;
        let hash = hash.to_ascii_lowercase();
        (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(Self { sequence, hash })
    }
}

/// What a walk along the whole chain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Whole { head: Head },
    Broken(Break),
}

/// Which entries [`Audit::list`] shows; `None` matches any.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    /// Entries made at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Entries made before this time (Unix seconds).
    pub until: Option<i64>,
}

/// Entries read per page while verifying.
const PAGE: i64 = 1000;

#[derive(Clone)]
pub struct Audit {
    store: Store,
}

impl Audit {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Appends an entry on its own, for a change made outside the database (a keyring file).
    pub async fn record(&self, entry: &Entry, now: i64) -> Result<i64> {
        Ok(self.store.append_audit(&entry.record(now)).await?)
    }

    pub async fn head(&self) -> Result<Head> {
        Ok(match self.store.audit_head().await? {
            Some(e) => Head {
                sequence: e.sequence,
                hash: e.hash,
            },
            None => Head {
                sequence: 0,
                hash: GENESIS_HASH.to_string(),
            },
        })
    }

    /// Walks the whole chain from entry 1 and, given a checkpoint, checks that the entry it
    /// names still has its hash.
    pub async fn verify(&self, checkpoint: Option<&Head>) -> Result<Verdict> {
        let mut walk = ChainWalk::default();
        let mut head = Head {
            sequence: 0,
            hash: GENESIS_HASH.to_string(),
        };
        loop {
            let page = self.store.audit_chain_page(head.sequence, PAGE).await?;
            for entry in &page {
                if let Err(broken) = walk.step(entry) {
                    return Ok(Verdict::Broken(broken));
                }
                if let Some(cp) = checkpoint.filter(|cp| cp.sequence == entry.sequence) {
                    if cp.hash != entry.hash {
                        return Ok(Verdict::Broken(Break {
                            sequence: cp.sequence,
                            reason: BreakReason::CheckpointMismatch,
                        }));
                    }
                }
                head = Head {
                    sequence: entry.sequence,
                    hash: entry.hash.clone(),
                };
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        if let Some(cp) = checkpoint {
            if cp.sequence > head.sequence || (cp.sequence == 0 && cp.hash != GENESIS_HASH) {
                return Ok(Verdict::Broken(Break {
                    sequence: cp.sequence,
                    reason: BreakReason::CheckpointMissing,
                }));
            }
        }
        Ok(Verdict::Whole { head })
    }

    /// The latest `limit` entries matching `filter`, oldest first.
    pub async fn list(&self, query: &Query, limit: i64) -> Result<Vec<StoredAuditEntry>> {
        let filter = AuditFilter {
            actor: query.actor.clone(),
            action: query.action.clone(),
            target: query.target.clone(),
            since: query.since,
            until: query.until,
        };
        Ok(self.store.audit_entries(&filter, limit).await?)
    }
}
