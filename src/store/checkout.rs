//! The checkout flow's state: pushed authorization requests, consents, authorization codes and
//! payment grants. Every step that must happen once is a conditional write.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::merchants::merchant_row;
use super::passkeys::record_passkey_use_in;
use super::{CounterUpdate, PasskeyUse, Store, StoredMerchant, Tx};
use crate::error::{Error, Result};

/// The parameters a merchant pushed, as validated; shared by requests, consents and codes.
#[derive(Clone, Debug)]
pub struct Pushed {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
    /// Normalized `authorization_details` JSON.
    pub details: String,
}

fn pushed(r: &AnyRow) -> Result<Pushed> {
    Ok(Pushed {
        client_id: r.try_get("client_id")?,
        redirect_uri: r.try_get("redirect_uri")?,
        state: r.try_get("state")?,
        code_challenge: r.try_get("code_challenge")?,
        details: r.try_get("details")?,
    })
}

/// Why a `request_uri` was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum RequestUriRefusal {
    Unknown,
    Used,
    Expired,
    OtherClient,
}

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
            other => Err(Error::internal(anyhow::anyhow!(
                "unknown consent status {other:?}"
            ))),
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
}

pub struct NewCode<'a> {
    pub code_hash: &'a str,
    pub user_id: &'a str,
    pub card_id: &'a str,
    /// Granted details (the request's, plus what the shopper chose).
    pub details: &'a str,
    pub expires_at: i64,
    /// Points the shopper redeems, held from now until the payment captures or lapses.
    pub points: i64,
    pub hold_expires_at: i64,
}

/// A consent, and its merchant with the merchant's points multiplier (percent).
pub struct ConsentAndMerchant {
    pub consent: Consent,
    pub merchant: Option<(StoredMerchant, i64)>,
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
}

/// An authorization code taken for redemption.
#[derive(Debug)]
pub struct TakenCode {
    pub redirect_uri: String,
    pub code_challenge: String,
    pub user_id: String,
    pub card_id: String,
    pub details: String,
    pub expires_at: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    Unknown,
    OtherClient,
    /// Presented again: the grant issued from it has been revoked.
    Replayed,
}

/// A grant to record for a taken code; its shopper, card and details are the code's.
pub struct NewGrant<'a> {
    pub jti: &'a str,
    pub client_id: &'a str,
    pub currency: &'a str,
    pub amount_minor: i64,
    pub expires_at: i64,
}

#[derive(Clone, Debug)]
pub struct StoredGrant {
    pub jti: String,
    pub client_id: String,
    pub user_id: String,
    pub card_id: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub consumed_at: Option<i64>,
}

impl Store {
    pub async fn insert_pushed_request(
        &self,
        id_hash: &str,
        p: &Pushed,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO par_requests (id_hash, client_id, redirect_uri, state, code_challenge, details, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id_hash)
        .bind(&p.client_id)
        .bind(&p.redirect_uri)
        .bind(&p.state)
        .bind(&p.code_challenge)
        .bind(&p.details)
        .bind(expires_at)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// Uses a pushed request once, for its own client, before it expires, and turns it into a
    /// pending consent in the same transaction.
    pub async fn consume_pushed_request(
        &self,
        id_hash: &str,
        client_id: &str,
        consent_id: &str,
        consent_expires_at: i64,
        now: i64,
    ) -> Result<std::result::Result<Consent, RequestUriRefusal>> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "UPDATE par_requests SET used_at = $1
             WHERE id_hash = $2 AND client_id = $3 AND used_at IS NULL AND expires_at > $1
             RETURNING client_id, redirect_uri, state, code_challenge, details",
        )
        .bind(now)
        .bind(id_hash)
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let found = sqlx::query(
                "SELECT client_id, used_at, expires_at FROM par_requests WHERE id_hash = $1",
            )
            .bind(id_hash)
            .fetch_optional(&mut *tx)
            .await?;
            tx.rollback().await?;
            return Ok(Err(match found {
                None => RequestUriRefusal::Unknown,
                Some(r) if r.try_get::<String, _>("client_id")? != client_id => {
                    RequestUriRefusal::OtherClient
                }
                Some(r) if r.try_get::<Option<i64>, _>("used_at")?.is_some() => {
                    RequestUriRefusal::Used
                }
                Some(_) => RequestUriRefusal::Expired,
            }));
        };
        let p = pushed(&row)?;
        sqlx::query(
            "INSERT INTO consents (id, client_id, redirect_uri, state, code_challenge, details, status, expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)",
        )
        .bind(consent_id)
        .bind(&p.client_id)
        .bind(&p.redirect_uri)
        .bind(&p.state)
        .bind(&p.code_challenge)
        .bind(&p.details)
        .bind(consent_expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(Consent {
            id: consent_id.to_string(),
            pushed: p,
            status: ConsentStatus::Pending,
            user_id: None,
            expires_at: consent_expires_at,
        }))
    }

    pub async fn find_consent(&self, id: &str) -> Result<Option<Consent>> {
        let row = sqlx::query(
            "SELECT id, client_id, redirect_uri, state, code_challenge, details, status, user_id, expires_at
             FROM consents WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.map(|r| {
            Ok(Consent {
                id: r.try_get("id")?,
                pushed: pushed(&r)?,
                status: ConsentStatus::parse(&r.try_get::<String, _>("status")?)?,
                user_id: r.try_get("user_id")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// A consent with its merchant (and the merchant's redirect URIs and points multiplier),
    /// in one statement, as every consent step needs both.
    pub async fn find_consent_with_merchant(&self, id: &str) -> Result<Option<ConsentAndMerchant>> {
        let rows = sqlx::query(
            "SELECT c.id, c.client_id, c.redirect_uri, c.state, c.code_challenge, c.details,
                    c.status AS consent_status, c.user_id, c.expires_at,
                    m.name, m.domain, m.status, m.webhook_url, m.created_at,
                    m.points_multiplier_percent, r.uri
             FROM consents c
             LEFT JOIN merchants m ON m.client_id = c.client_id
             LEFT JOIN merchant_redirect_uris r ON r.client_id = m.client_id
             WHERE c.id = $1 ORDER BY r.uri",
        )
        .bind(id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let consent = Consent {
            id: first.try_get("id")?,
            pushed: pushed(first)?,
            status: ConsentStatus::parse(&first.try_get::<String, _>("consent_status")?)?,
            user_id: first.try_get("user_id")?,
            expires_at: first.try_get("expires_at")?,
        };
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
        Ok(Some(ConsentAndMerchant { consent, merchant }))
    }

    /// Approves a pending consent with a passkey assertion and stores its authorization code,
    /// in one transaction that also takes the approval's ceremony (once) and records the
    /// passkey's use (its counter must move forward). When the ceremony is still there but the
    /// passkey or the consent refuses, the ceremony is used up all the same.
    pub async fn approve_consent(
        &self,
        consent_id: &str,
        ceremony_id: &str,
        passkey: &PasskeyUse,
        code: NewCode<'_>,
        now: i64,
    ) -> Result<Approval> {
        let mut tx = self.begin().await?;
        let taken = sqlx::query("DELETE FROM ceremonies WHERE id = $1")
            .bind(ceremony_id)
            .execute(&mut *tx)
            .await?;
        if taken.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Approval::CeremonyGone);
        }
        let counter = record_passkey_use_in(&mut tx, passkey).await?;
        if counter != CounterUpdate::Recorded {
            tx.commit().await?;
            return Ok(Approval::Passkey(counter));
        }
        let approved = sqlx::query(
            "UPDATE consents SET status = 'approved', user_id = $1, card_id = $2
             WHERE id = $3 AND status = 'pending' AND expires_at > $4
             RETURNING client_id, redirect_uri, code_challenge",
        )
        .bind(code.user_id)
        .bind(code.card_id)
        .bind(consent_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = approved else {
            tx.commit().await?;
            return Ok(Approval::ConsentClosed);
        };
        super::points::hold(
            &mut tx,
            consent_id,
            code.user_id,
            code.points,
            code.hold_expires_at,
            now,
        )
        .await?;
        sqlx::query(
            "INSERT INTO auth_codes (code_hash, consent_id, client_id, redirect_uri, code_challenge, user_id, card_id, details, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Approval::Approved)
    }

    /// Denies a pending consent, once.
    pub async fn deny_consent(&self, consent_id: &str) -> Result<bool> {
        let denied = sqlx::query(
            "UPDATE consents SET status = 'denied' WHERE id = $1 AND status = 'pending'",
        )
        .bind(consent_id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(denied.rows_affected() == 1)
    }

    /// Takes an authorization code for redemption by `client_id`. A code presented a second
    /// time is marked replayed and the grant issued from it is revoked.
    ///
    /// The code is taken inside a write transaction that the returned [`CodeRedemption`]
    /// finishes: [`CodeRedemption::issue`] records the grant and [`CodeRedemption::refuse`]
    /// only uses up the code, each in one commit. Dropped unfinished, nothing is written.
    pub async fn take_code(
        &self,
        code_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<std::result::Result<CodeRedemption, CodeRefusal>> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "UPDATE auth_codes SET used_at = $1 WHERE code_hash = $2 AND client_id = $3 AND used_at IS NULL
             RETURNING consent_id, redirect_uri, code_challenge, user_id, card_id, details, expires_at",
        )
        .bind(now)
        .bind(code_hash)
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(r) = row {
            return Ok(Ok(CodeRedemption {
                tx,
                code_hash: code_hash.to_string(),
                consent_id: r.try_get("consent_id")?,
                code: TakenCode {
                    redirect_uri: r.try_get("redirect_uri")?,
                    code_challenge: r.try_get("code_challenge")?,
                    user_id: r.try_get("user_id")?,
                    card_id: r.try_get("card_id")?,
                    details: r.try_get("details")?,
                    expires_at: r.try_get("expires_at")?,
                },
            }));
        }
        let found = sqlx::query("SELECT client_id FROM auth_codes WHERE code_hash = $1")
            .bind(code_hash)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(found) = found else {
            tx.rollback().await?;
            return Ok(Err(CodeRefusal::Unknown));
        };
        if found.try_get::<String, _>("client_id")? != client_id {
            tx.rollback().await?;
            return Ok(Err(CodeRefusal::OtherClient));
        }
        sqlx::query("UPDATE auth_codes SET replayed_at = $1 WHERE code_hash = $2")
            .bind(now)
            .bind(code_hash)
            .execute(&mut *tx)
            .await?;
        let revoked = sqlx::query(
            "UPDATE grants SET revoked_at = $1
             WHERE jti = (SELECT grant_jti FROM auth_codes WHERE code_hash = $2) AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(code_hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if revoked.rows_affected() > 0 {
            tracing::warn!(client_id = %client_id, "authorization code replayed: its grant is revoked");
        }
        Ok(Err(CodeRefusal::Replayed))
    }

    pub async fn find_grant(&self, jti: &str) -> Result<Option<StoredGrant>> {
        let row = sqlx::query(
            "SELECT jti, client_id, user_id, card_id, expires_at, revoked_at, consumed_at FROM grants WHERE jti = $1",
        )
        .bind(jti)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.map(|r| {
            Ok(StoredGrant {
                jti: r.try_get("jti")?,
                client_id: r.try_get("client_id")?,
                user_id: r.try_get("user_id")?,
                card_id: r.try_get("card_id")?,
                expires_at: r.try_get("expires_at")?,
                revoked_at: r.try_get("revoked_at")?,
                consumed_at: r.try_get("consumed_at")?,
            })
        })
        .transpose()
        .map_err(|e: Error| e)
    }
}

/// An authorization code taken, in the transaction that redeems it. Another presentation of
/// the same code waits for this one to finish, then finds it used.
pub struct CodeRedemption {
    tx: Tx,
    code_hash: String,
    consent_id: String,
    pub code: TakenCode,
}

// Shows nothing of the code: its hash identifies it.
impl std::fmt::Debug for CodeRedemption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeRedemption")
    }
}

impl CodeRedemption {
    /// Uses up the code without a grant (it had expired, or the request did not match).
    pub async fn refuse(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Uses up the code and records the grant issued from it, in one commit.
    pub async fn issue(mut self, grant: NewGrant<'_>, now: i64) -> Result<()> {
        sqlx::query("UPDATE auth_codes SET grant_jti = $1 WHERE code_hash = $2")
            .bind(grant.jti)
            .bind(&self.code_hash)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO grants (jti, client_id, user_id, card_id, currency, amount_minor, details, expires_at, created_at, consent_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(grant.jti)
        .bind(grant.client_id)
        .bind(&self.code.user_id)
        .bind(&self.code.card_id)
        .bind(grant.currency)
        .bind(grant.amount_minor)
        .bind(&self.code.details)
        .bind(grant.expires_at)
        .bind(now)
        .bind(&self.consent_id)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }
}
