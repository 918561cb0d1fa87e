//! Consents: found with their merchant, approved once (with the code, the points hold and
//! the passkey's use in one transaction), or denied once.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::authorizations::approve_authorization_in;
use super::{pushed_row, Pushed};
use crate::store::cards::{sealed_card_row_as, SealedNumber, SEALED_CARD_PREFIXED};
use crate::store::ceremonies::Taken;
use crate::store::error::{Error, Result};
use crate::store::merchants::merchant_row;
use crate::store::passkeys::{passkey_row_as, record_passkey_use_in, PASSKEY_PREFIXED};
use crate::store::programme::StoredProgramme;
use crate::store::programme::{programme_row_as, CURRENT_PROGRAMME_PREFIXED};
use crate::store::receipts::{insert_receipt_in, NewReceipt};
use crate::store::risk::{count, CountRefusal, Counting};
use crate::store::shops::{count_approval, ShopCountRefusal, ShopCounting};
use crate::store::{CounterUpdate, PasskeyUse, Store, StoredMerchant, StoredPasskey};
use crate::vault::stored::StoredCard;

/// Where a consent is in its life: `pending` until the shopper approves or cancels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentStatus {
    Pending,
    Approved,
    Denied,
}

impl ConsentStatus {
    fn parse(stored: &str) -> Result<Self> {
        match stored {
            "pending" => Ok(Self::Pending),
            "approved" => Ok(Self::Approved),
            "denied" => Ok(Self::Denied),
            other => Err(Error::Corrupt(format!("unknown consent status {other:?}"))),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Consent {
    pub id: String,
    pub pushed: Pushed,
    pub status: ConsentStatus,
    pub user_id: Option<String>,
    pub expires_at: i64,
    /// The SHA-256 (hex) of the key of the browser that opened the consent; none for a
    /// consent opened before consents carried it.
    pub browser_hash: Option<String>,
}

pub struct NewCode<'a> {
    pub code_hash: &'a str,
    pub user_id: &'a str,
    pub card_id: &'a str,
    /// Granted details (the request's, plus what the shopper chose).
    pub details: &'a str,
    /// The copy (JSON) of the shipping address chosen, kept on the consent.
    pub shipping_address: Option<&'a str>,
    pub expires_at: i64,
    /// Points the shopper redeems, held from now until the payment captures or lapses.
    pub points: i64,
    /// The points programme version the approval used, and the campaign multiplier shown.
    pub programme_version: i64,
    pub multiplier_percent: i64,
    pub hold_expires_at: i64,
    /// The ledger rules that choose the lots the hold takes from.
    pub ledger: &'a dyn crate::points::ledger::Ledger,
    /// The approval as the risk counters count it, within the limits.
    pub counting: &'a Counting,
    /// The id the grant issued for this code will have (the receipt names it).
    pub grant_jti: &'a str,
    /// The signed receipt of the approval, stored with it.
    pub receipt: &'a str,
    /// The approval as its shop counts it, within the shopper's cap there.
    pub shop: &'a ShopCounting,
    /// The reference of the card authorization this node made for the approval (keyed by
    /// `grant_jti`), when the card pays a part.
    pub authorization: Option<&'a str>,
}

/// A consent, and its merchant with the merchant's points multiplier (percent); the points
/// programme in force; and the ceremony asked for, if there is one.
pub struct ConsentAndMerchant {
    pub consent: Consent,
    pub merchant: Option<(StoredMerchant, i64)>,
    /// The points programme's version in force (none before the first version).
    pub programme: Option<StoredProgramme>,
    pub ceremony: Option<Taken>,
    /// The shopper's card asked for, its number sealed, if it is theirs.
    pub card: Option<(StoredCard, SealedNumber)>,
    /// The shopper's passkey asked for, if it is theirs.
    pub passkey: Option<StoredPasskey>,
}

/// What a consent step reads beside the consent: the ceremony it finishes, the card the
/// shopper chose, and the passkey that signed (their own only).
#[derive(Clone, Copy, Default)]
pub struct ConsentLookup<'a> {
    pub ceremony_id: Option<&'a str>,
    /// The shopper's id and the card's.
    pub card: Option<(&'a str, &'a str)>,
    /// The shopper's id and the passkey's credential id (base64url, no padding).
    pub passkey: Option<(&'a str, &'a str)>,
}

/// What [`Store::approve_consent`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Approval {
    Approved,
    /// The ceremony was already taken (a concurrent or repeated attempt): nothing changed.
    CeremonyGone,
    /// The passkey's counter went backwards, or the passkey was removed.
    Passkey(CounterUpdate),
    /// The consent was no longer pending (approved, denied, or expired).
    ConsentClosed,
    /// The shopper's account is frozen.
    AccountFrozen,
    /// Counting the approval would pass a risk limit: nothing was written, the ceremony is
    /// still there (the caller takes it).
    Limit(CountRefusal),
    /// The shopper blocked the shop, or counting the approval would pass their monthly cap
    /// there: as with `Limit`, nothing was written.
    Shop(ShopCountRefusal),
    /// The card authorization made for the approval was taken for release meanwhile (its
    /// node was thought stopped): nothing was written, the ceremony is still there.
    AuthorizationReleased,
}

/// A consent from a row whose status is in the column `status`.
fn consent_row(r: &AnyRow, status: &str) -> Result<Consent> {
    Ok(Consent {
        id: r.try_get("id")?,
        pushed: pushed_row(r)?,
        status: ConsentStatus::parse(&r.try_get::<String, _>(status)?)?,
        user_id: r.try_get("user_id")?,
        expires_at: r.try_get("expires_at")?,
        browser_hash: r.try_get("browser_hash")?,
    })
}

impl Store {
    pub async fn find_consent(&self, id: &str) -> Result<Option<Consent>> {
        let row = sqlx::query(
            "SELECT id, client_id, redirect_uri, state, code_challenge, details, status, user_id, expires_at,
                    browser_hash
             FROM consents WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.map(|r| consent_row(&r, "status")).transpose()
    }

    /// A consent with its merchant (and the merchant's redirect URIs and the points multiplier
    /// of its campaign in force at `now`, 100 without one), the points programme in force, and
    /// the ceremony, the shopper's card and the shopper's passkey `lookup` names, in one
    /// statement, as every consent step needs them.
    pub async fn find_consent_with_merchant(
        &self,
        id: &str,
        lookup: ConsentLookup<'_>,
        now: i64,
    ) -> Result<Option<ConsentAndMerchant>> {
        let (card_user, card_id) = lookup.card.unwrap_or(("", ""));
        let (passkey_user, credential_id) = lookup.passkey.unwrap_or(("", ""));
        let query = format!(
            "SELECT c.id, c.client_id, c.redirect_uri, c.state, c.code_challenge, c.details,
                    c.status AS consent_status, c.user_id, c.expires_at, c.browser_hash,
                    m.name, m.domain, m.status, m.webhook_url, m.created_at,
                    m.status_reason, m.status_changed_at, m.token_endpoint_auth_method,
                    m.client_uri, m.logo_uri, m.review_resembles, m.deleted_at, r.uri,
                    CAST(COALESCE((SELECT k.multiplier_percent FROM points_campaigns k
                                   WHERE k.client_id = c.client_id AND k.starts_at <= $2 AND k.ends_at > $2
                                   ORDER BY k.starts_at DESC LIMIT 1), 100) AS BIGINT) AS points_multiplier_percent,
                    pp.*, ce.kind AS ceremony_kind, ce.state AS ceremony_state,
                    ce.expires_at AS ceremony_expires_at, {SEALED_CARD_PREFIXED}, {PASSKEY_PREFIXED}
             FROM consents c
             LEFT JOIN merchants m ON m.client_id = c.client_id AND m.deleted_at IS NULL
             LEFT JOIN merchant_redirect_uris r ON r.client_id = m.client_id
             LEFT JOIN {CURRENT_PROGRAMME_PREFIXED} pp ON 1 = 1
             LEFT JOIN ceremonies ce ON ce.id = $3
             LEFT JOIN cards cd ON cd.id = $4 AND cd.user_id = $5
             LEFT JOIN passkeys pk ON pk.user_id = $6 AND pk.credential_id = $7
             WHERE c.id = $1 ORDER BY r.uri"
        );
        let rows = sqlx::query(&query)
            .bind(id)
            .bind(now)
            .bind(lookup.ceremony_id.unwrap_or(""))
            .bind(card_id)
            .bind(card_user)
            .bind(passkey_user)
            .bind(credential_id)
            .fetch_all(&mut *self.read().await?)
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let consent = consent_row(first, "consent_status")?;
        let merchant = match first.try_get::<Option<String>, _>("name")? {
            None => None,
            Some(_) => {
                let multiplier: i64 = first.try_get("points_multiplier_percent")?;
                let mut uris = Vec::with_capacity(rows.len());
                for r in &rows {
                    if let Some(uri) = r.try_get::<Option<String>, _>("uri")? {
                        uris.push(uri);
                    }
                }
                Some((merchant_row(first, uris)?, multiplier))
            }
        };
        let programme = match first.try_get::<Option<i64>, _>("pp_version")? {
            None => None,
            Some(_) => Some(programme_row_as(first, "pp_")?),
        };
        let ceremony = match first.try_get::<Option<String>, _>("ceremony_kind")? {
            None => None,
            Some(kind) => Some(Taken {
                kind,
                state: first.try_get("ceremony_state")?,
                expires_at: first.try_get("ceremony_expires_at")?,
            }),
        };
        Ok(Some(ConsentAndMerchant {
            consent,
            merchant,
            programme,
            ceremony,
            card: sealed_card_row_as(first)?,
            passkey: passkey_row_as(first)?,
        }))
    }

    /// Approves a pending consent of a shopper who is not frozen with a passkey assertion and
    /// stores its authorization code and its signed receipt, in one transaction that also takes the approval's ceremony (once) and records the
    /// passkey's use (its counter must move forward). When the ceremony is still there but the
    /// passkey or the consent refuses, the ceremony is used up all the same. The approval is
    /// counted in the shopper's risk counters, within the limits, in the same transaction.
    pub async fn approve_consent(
        &self,
        consent_id: &str,
        ceremony_id: &str,
        passkey: &PasskeyUse,
        code: NewCode<'_>,
        now: i64,
    ) -> Result<Approval> {
        let mut tx = self.begin_one().await?;
        let taken = sqlx::query("DELETE FROM ceremonies WHERE id = $1")
            .bind(ceremony_id)
            .execute(&mut *tx)
            .await?;
        if taken.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Approval::CeremonyGone);
        }
        let counter = record_passkey_use_in(&mut *tx, passkey).await?;
        if counter != CounterUpdate::Recorded {
            tx.commit().await?;
            return Ok(Approval::Passkey(counter));
        }
        let approved = sqlx::query(
            "UPDATE consents SET status = 'approved', user_id = $1, card_id = $2,
                    points_programme_version = $5, points_multiplier_percent = $6,
                    shipping_address = $7
             WHERE id = $3 AND status = 'pending' AND expires_at > $4
               AND NOT EXISTS (SELECT 1 FROM users WHERE id = $1 AND frozen_at IS NOT NULL)
             RETURNING client_id, redirect_uri, code_challenge",
        )
        .bind(code.user_id)
        .bind(code.card_id)
        .bind(consent_id)
        .bind(now)
        .bind(code.programme_version)
        .bind(code.multiplier_percent)
        .bind(code.shipping_address)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = approved else {
            let frozen =
                sqlx::query("SELECT 1 AS found FROM users WHERE id = $1 AND frozen_at IS NOT NULL")
                    .bind(code.user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            tx.commit().await?;
            return Ok(match frozen {
                Some(_) => Approval::AccountFrozen,
                None => Approval::ConsentClosed,
            });
        };
        if let Some(refused) = count(&mut tx, code.counting).await? {
            tx.rollback().await?;
            return Ok(Approval::Limit(refused));
        }
        if let Some(refused) = count_approval(&mut tx, consent_id, code.shop, now).await? {
            tx.rollback().await?;
            return Ok(Approval::Shop(refused));
        }
        if let Some(reference) = code.authorization {
            if !approve_authorization_in(&mut *tx, code.grant_jti, reference, now).await? {
                tx.rollback().await?;
                return Ok(Approval::AuthorizationReleased);
            }
        }
        crate::store::points::hold(
            &mut tx,
            code.ledger,
            consent_id,
            code.user_id,
            code.points,
            code.hold_expires_at,
            now,
        )
        .await?;
        sqlx::query(
            "INSERT INTO auth_codes (code_hash, consent_id, client_id, redirect_uri, code_challenge, user_id, card_id, details, expires_at, grant_jti)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(code.code_hash)
        .bind(consent_id)
        .bind(row.try_get::<String, _>("client_id")?)
        .bind(row.try_get::<String, _>("redirect_uri")?)
        .bind(row.try_get::<String, _>("code_challenge")?)
        .bind(code.user_id)
        .bind(code.card_id)
        .bind(code.details)
        .bind(code.expires_at)
        .bind(code.grant_jti)
        .execute(&mut *tx)
        .await?;
        let client_id: String = row.try_get("client_id")?;
        let receipt = NewReceipt {
            consent_id,
            grant_jti: code.grant_jti,
            user_id: code.user_id,
            client_id: &client_id,
            jws: code.receipt,
        };
        insert_receipt_in(&mut *tx, &receipt, now).await?;
        tx.commit().await?;
        Ok(Approval::Approved)
    }

    /// Denies a pending consent, once.
    pub async fn deny_consent(&self, consent_id: &str) -> Result<bool> {
        let mut tx = self.begin_single().await?;
        let denied = sqlx::query(
            "UPDATE consents SET status = 'denied' WHERE id = $1 AND status = 'pending'",
        )
        .bind(consent_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(denied.rows_affected() == 1)
    }
}
