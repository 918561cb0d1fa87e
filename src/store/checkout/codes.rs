//! Authorization codes and payment grants: a code is taken once, in the transaction that
//! records its grant; a code presented again revokes that grant.

use sqlx::Row;

use crate::store::cards::{sealed_card_row_as, SEALED_CARD_PREFIXED};
use crate::store::error::Result;
use crate::store::{SealedNumber, Store, Tx};
use crate::vault::stored::StoredCard;

/// An authorization code taken for redemption.
#[derive(Debug)]
pub struct TakenCode {
    pub redirect_uri: String,
    pub code_challenge: String,
    pub user_id: String,
    pub card_id: String,
    pub details: String,
    pub expires_at: i64,
    /// The id chosen at approval for the grant (the approval's receipt names it); `None` for
    /// a code approved before receipts.
    pub grant_jti: Option<String>,
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
    /// Whether the shopper it was granted by is frozen now.
    pub shopper_frozen: bool,
    /// The points programme version and campaign multiplier its approval used (`None` for a
    /// grant approved before versions).
    pub points_programme_version: Option<i64>,
    pub points_multiplier_percent: Option<i64>,
}

/// A grant read for its redemption, with the card it was approved for.
pub struct GrantToRedeem {
    pub grant: StoredGrant,
    /// The card with its number sealed; `None` when the shopper removed it.
    pub card: Option<(StoredCard, SealedNumber)>,
}

impl Store {
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
             RETURNING consent_id, redirect_uri, code_challenge, user_id, card_id, details, expires_at, grant_jti",
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
                    grant_jti: r.try_get("grant_jti")?,
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

    /// A grant with the card it was approved for (with its number sealed), in one read: the
    /// card is `None` when the shopper removed it.
    pub async fn find_grant(&self, jti: &str) -> Result<Option<GrantToRedeem>> {
        let row = sqlx::query(&format!(
            "SELECT g.jti, g.client_id, g.user_id, g.card_id, g.expires_at, g.revoked_at, g.consumed_at,
                    u.frozen_at, c.points_programme_version, c.points_multiplier_percent,
                    {SEALED_CARD_PREFIXED}
             FROM grants g LEFT JOIN users u ON u.id = g.user_id
             LEFT JOIN consents c ON c.id = g.consent_id
             LEFT JOIN cards cd ON cd.id = g.card_id AND cd.user_id = g.user_id
             WHERE g.jti = $1"
        ))
        .bind(jti)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.map(|r| {
            Ok(GrantToRedeem {
                grant: StoredGrant {
                    jti: r.try_get("jti")?,
                    client_id: r.try_get("client_id")?,
                    user_id: r.try_get("user_id")?,
                    card_id: r.try_get("card_id")?,
                    expires_at: r.try_get("expires_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                    consumed_at: r.try_get("consumed_at")?,
                    shopper_frozen: r.try_get::<Option<i64>, _>("frozen_at")?.is_some(),
                    points_programme_version: r.try_get("points_programme_version")?,
                    points_multiplier_percent: r.try_get("points_multiplier_percent")?,
                },
                card: sealed_card_row_as(&r)?,
            })
        })
        .transpose()
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

    /// Uses up the code and records the grant issued from it, in one commit. The code names
    /// its grant already when the approval chose the id (every code since receipts): then
    /// nothing is written to it again.
    pub async fn issue(mut self, grant: NewGrant<'_>, now: i64) -> Result<()> {
        if self.code.grant_jti.as_deref() != Some(grant.jti) {
            sqlx::query("UPDATE auth_codes SET grant_jti = $1 WHERE code_hash = $2")
                .bind(grant.jti)
                .bind(&self.code_hash)
                .execute(&mut *self.tx)
                .await?;
        }
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
