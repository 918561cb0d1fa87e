//! Card authorizations made at the approval (see migration 0019): recorded before the card
//! network is called, moved on by conditional writes so that the approving node, the node
//! redeeming the grant and the reconciler never both act on one authorization.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::store::direct::SqlConn;

use crate::store::error::{Error, Result};
use crate::store::Store;

/// Where an authorization made at the approval is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizationState {
    /// Recorded; the card network is being asked (or the approving node stopped).
    Authorizing,
    /// The approval committed with it: the grant's payment will adopt it.
    Approved,
    /// The payment that redeemed the grant uses it.
    Adopted,
    /// The card network declined it; nothing to release.
    Declined,
    /// The card network did not decide; nothing took effect.
    Failed,
    /// Being released (the approval did not commit, or the grant lapsed unredeemed).
    Voiding,
    Voided,
}

impl AuthorizationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authorizing => "authorizing",
            Self::Approved => "approved",
            Self::Adopted => "adopted",
            Self::Declined => "declined",
            Self::Failed => "failed",
            Self::Voiding => "voiding",
            Self::Voided => "voided",
        }
    }

    fn parse(stored: &str) -> Result<Self> {
        Ok(match stored {
            "authorizing" => Self::Authorizing,
            "approved" => Self::Approved,
            "adopted" => Self::Adopted,
            "declined" => Self::Declined,
            "failed" => Self::Failed,
            "voiding" => Self::Voiding,
            "voided" => Self::Voided,
            other => {
                return Err(Error::Corrupt(format!(
                    "unknown approval authorization state {other:?}"
                )))
            }
        })
    }
}

/// An authorization to record before the card network is asked.
pub struct NewAuthorization<'a> {
    pub grant_jti: &'a str,
    pub consent_id: &'a str,
    pub user_id: &'a str,
    pub card_id: &'a str,
    pub currency: &'a str,
    pub amount_minor: i64,
    /// How long the approving node holds it before the reconciler may release it.
    pub lease_until: i64,
    /// When it is released if no payment has adopted it (after the grant could be redeemed).
    pub void_after: i64,
}

#[derive(Clone, Debug)]
pub struct StoredAuthorization {
    pub grant_jti: String,
    pub consent_id: String,
    pub user_id: String,
    pub card_id: String,
    pub currency: String,
    pub amount_minor: i64,
    pub state: AuthorizationState,
    pub reference: Option<String>,
}

fn authorization_row(r: &AnyRow) -> Result<StoredAuthorization> {
    Ok(StoredAuthorization {
        grant_jti: r.try_get("grant_jti")?,
        consent_id: r.try_get("consent_id")?,
        user_id: r.try_get("user_id")?,
        card_id: r.try_get("card_id")?,
        currency: r.try_get("currency")?,
        amount_minor: r.try_get("amount_minor")?,
        state: AuthorizationState::parse(&r.try_get::<String, _>("state")?)?,
        reference: r.try_get("reference")?,
    })
}

const COLUMNS: &str =
    "grant_jti, consent_id, user_id, card_id, currency, amount_minor, state, reference";

/// What redeeming a grant found of its authorization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Adoption {
    /// The grant's approval made none (points paid it all, or it predates authorizing at
    /// approval): the payment authorizes the card itself.
    None,
    /// The authorization the payment now uses.
    Adopted { reference: String },
    /// It was released (the grant lapsed): the payment cannot use it.
    Released,
}

impl Store {
    /// Records an authorization about to be asked of the card network, held by this node.
    pub async fn start_approval_authorization(
        &self,
        new: NewAuthorization<'_>,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin_single().await?;
        sqlx::query(
            "INSERT INTO approval_authorizations (grant_jti, consent_id, user_id, card_id, currency,
                    amount_minor, state, lease_until, void_after, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'authorizing', $7, $8, $9, $9)",
        )
        .bind(new.grant_jti)
        .bind(new.consent_id)
        .bind(new.user_id)
        .bind(new.card_id)
        .bind(new.currency)
        .bind(new.amount_minor)
        .bind(new.lease_until)
        .bind(new.void_after)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends an authorization the card network did not make (`Declined` or `Failed`), or one
    /// released (`Voided`), from the state `from`. False when it was not in `from`.
    pub async fn end_approval_authorization(
        &self,
        grant_jti: &str,
        from: AuthorizationState,
        to: AuthorizationState,
        decline_code: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.begin_single().await?;
        let ended = sqlx::query(
            "UPDATE approval_authorizations SET state = $1, decline_code = $2, updated_at = $3
             WHERE grant_jti = $4 AND state = $5",
        )
        .bind(to.as_str())
        .bind(decline_code)
        .bind(now)
        .bind(grant_jti)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ended.rows_affected() == 1)
    }

    /// Takes an authorization to release it, holding it until `lease_until`: one this node
    /// is still authorizing (`own`: its approval did not commit), or, for the reconciler, one
    /// whose node stopped (its lease passed: a whole second after `lease_until`) or whose
    /// grant lapsed unredeemed. Exactly one
    /// caller gets it; gives it with its reference when known.
    pub async fn take_approval_authorization_to_void(
        &self,
        grant_jti: &str,
        own: bool,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<StoredAuthorization>> {
        let mut tx = self.begin_single().await?;
        let taken = sqlx::query(&format!(
            "UPDATE approval_authorizations SET state = 'voiding', lease_until = $1, updated_at = $2
             WHERE grant_jti = $3 AND (
                 ($4 = 1 AND state = 'authorizing')
              OR (state IN ('authorizing', 'voiding') AND lease_until < $2)
              OR (state = 'approved' AND void_after <= $2
                  AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.grant_jti = $3)))
             RETURNING {COLUMNS}"
        ))
        .bind(lease_until)
        .bind(now)
        .bind(grant_jti)
        .bind(i64::from(own))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        taken.as_ref().map(authorization_row).transpose()
    }

    /// Notes the reference of an authorization being released, learnt by asking again.
    pub async fn note_approval_authorization_reference(
        &self,
        grant_jti: &str,
        reference: &str,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin_single().await?;
        sqlx::query(
            "UPDATE approval_authorizations SET reference = $1, updated_at = $2
             WHERE grant_jti = $3 AND state = 'voiding'",
        )
        .bind(reference)
        .bind(now)
        .bind(grant_jti)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Authorizations the reconciler releases now: held past their lease by a node that
    /// stopped, or approved for a grant that lapsed unredeemed.
    pub async fn lapsed_approval_authorizations(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<StoredAuthorization>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM approval_authorizations a
             WHERE (state IN ('authorizing', 'voiding') AND lease_until < $1)
                OR (state = 'approved' AND void_after <= $1
                    AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.grant_jti = a.grant_jti))
             ORDER BY lease_until LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(authorization_row).collect()
    }

    /// The payment redeeming grant `grant_jti` takes the authorization its approval made
    /// (again, when a retry finishes a payment whose first attempt was cut off).
    pub async fn adopt_approval_authorization(
        &self,
        grant_jti: &str,
        now: i64,
    ) -> Result<Adoption> {
        let mut tx = self.begin_single().await?;
        let adopted = sqlx::query(
            "UPDATE approval_authorizations SET state = 'adopted', updated_at = $1
             WHERE grant_jti = $2 AND state IN ('approved', 'adopted')
             RETURNING reference",
        )
        .bind(now)
        .bind(grant_jti)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        if let Some(row) = adopted {
            let reference: Option<String> = row.try_get("reference")?;
            return reference
                .map(|reference| Adoption::Adopted { reference })
                .ok_or_else(|| {
                    Error::Corrupt("an approved authorization without its reference".into())
                });
        }
        let found = sqlx::query("SELECT state FROM approval_authorizations WHERE grant_jti = $1")
            .bind(grant_jti)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(match found {
            // An approval commits only with its authorization approved: a grant whose
            // authorization is anywhere else had none that could be used.
            Some(_) => Adoption::Released,
            None => Adoption::None,
        })
    }
}

/// In the approval's transaction: the authorization this node made moves to `approved` with
/// its reference. False when the reconciler took it meanwhile (the approval must not commit).
pub(crate) async fn approve_authorization_in(
    conn: &mut (dyn SqlConn + 'static),
    grant_jti: &str,
    reference: &str,
    now: i64,
) -> Result<bool> {
    let approved = sqlx::query(
        "UPDATE approval_authorizations SET state = 'approved', reference = $1, updated_at = $2
         WHERE grant_jti = $3 AND state = 'authorizing'",
    )
    .bind(reference)
    .bind(now)
    .bind(grant_jti)
    .execute(conn)
    .await?;
    Ok(approved.rows_affected() == 1)
}

/// In the transaction that redeems grant `grant_jti`: its payment takes the authorization
/// the grant's approval made, as [`Store::adopt_approval_authorization`] does on its own.
pub(crate) async fn adopt_authorization_in(
    conn: &mut (dyn SqlConn + 'static),
    grant_jti: &str,
    now: i64,
) -> Result<Adoption> {
    let adopted = sqlx::query(
        "UPDATE approval_authorizations SET state = 'adopted', updated_at = $1
         WHERE grant_jti = $2 AND state IN ('approved', 'adopted')
         RETURNING reference",
    )
    .bind(now)
    .bind(grant_jti)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = adopted {
        let reference: Option<String> = row.try_get("reference")?;
        return reference
            .map(|reference| Adoption::Adopted { reference })
            .ok_or_else(|| {
                Error::Corrupt("an approved authorization without its reference".into())
            });
    }
    let found = sqlx::query("SELECT state FROM approval_authorizations WHERE grant_jti = $1")
        .bind(grant_jti)
        .fetch_optional(&mut *conn)
        .await?;
    // As in `adopt_approval_authorization`: any other state had nothing that could be used.
    Ok(match found {
        Some(_) => Adoption::Released,
        None => Adoption::None,
    })
}
