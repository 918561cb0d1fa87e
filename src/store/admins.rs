//! Issuer admins, their passkeys and their one-time invitations. Changes to who is an admin
//! and with which role are serialized on the audit chain's lock, so that "never the last
//! owner" holds under concurrent changes on every node.

use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use super::audit::{append, AuditRecord};
use super::error::{Error, Refusal, Result};
use super::passkeys::record_use_in_table;
use super::users::parse_uuid;
use super::{is_unique_violation, CounterUpdate, PasskeyUse, Store, Tx};

#[derive(Clone, Debug)]
pub struct StoredAdmin {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub created_at: i64,
}

/// An invitation as stored: found by the digest of its token.
#[derive(Clone, Debug)]
pub struct StoredInvite {
    pub email: String,
    pub role: String,
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub struct NewInvite<'a> {
    pub token_hash: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    pub invited_by: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

pub struct NewAdmin<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub email_normalized: &'a str,
    pub role: &'a str,
}

pub struct NewAdminPasskey<'a> {
    pub id: Uuid,
    pub credential_id: &'a str,
    pub name: &'a str,
    pub credential_json: &'a str,
}

#[derive(Clone, Debug)]
pub struct StoredAdminPasskey {
    pub id: Uuid,
    pub admin_id: Uuid,
    pub name: String,
    pub credential_json: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const ADMIN_COLUMNS: &str = "id, email, role, created_at";
const PASSKEY_COLUMNS: &str = "id, admin_id, name, credential, created_at, last_used_at";

fn admin_row(r: &AnyRow) -> Result<StoredAdmin> {
    Ok(StoredAdmin {
        id: parse_uuid(&r.try_get::<String, _>("id")?)?,
        email: r.try_get("email")?,
        role: r.try_get("role")?,
        created_at: r.try_get("created_at")?,
    })
}

fn passkey_row(r: &AnyRow) -> Result<StoredAdminPasskey> {
    Ok(StoredAdminPasskey {
        id: parse_uuid(&r.try_get::<String, _>("id")?)?,
        admin_id: parse_uuid(&r.try_get::<String, _>("admin_id")?)?,
        name: r.try_get("name")?,
        credential_json: r.try_get("credential")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

async fn insert_passkey(
    tx: &mut Tx,
    admin_id: Uuid,
    passkey: &NewAdminPasskey<'_>,
    now: i64,
) -> Result<()> {
    let inserted = sqlx::query(
        "INSERT INTO admin_passkeys (id, admin_id, credential_id, name, credential, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(passkey.id.to_string())
    .bind(admin_id.to_string())
    .bind(passkey.credential_id)
    .bind(passkey.name)
    .bind(passkey.credential_json)
    .bind(now)
    .execute(&mut **tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => Err(Error::Refused(Refusal::PasskeyAlreadyRegistered)),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// Checks, under the audit chain's lock (held until the commit, so that concurrent changes
/// are serialized), that the admin exists and that the console keeps an owner once the admin is
/// no longer one (unless `stays_owner`).
async fn owners_left(tx: &mut Tx, admin_id: Uuid, stays_owner: bool) -> Result<()> {
    tx.lock_audit_chain().await?;
    let current = sqlx::query("SELECT role FROM admins WHERE id = $1")
        .bind(admin_id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)?;
    if stays_owner || current.try_get::<String, _>("role")? != "owner" {
        return Ok(());
    }
    let others = sqlx::query("SELECT COUNT(*) AS n FROM admins WHERE role = 'owner' AND id <> $1")
        .bind(admin_id.to_string())
        .fetch_one(&mut **tx)
        .await?;
    if others.try_get::<i64, _>("n")? == 0 {
        return Err(Error::Refused(Refusal::LastOwner));
    }
    Ok(())
}

impl Store {
    pub async fn admin_email_in_use(&self, email_normalized: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS found FROM admins WHERE email_normalized = $1")
            .bind(email_normalized)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.is_some())
    }

    /// Stores an invitation and its audit entry together.
    pub async fn insert_admin_invite(
        &self,
        invite: &NewInvite<'_>,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO admin_invites (token_hash, email, role, invited_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(invite.token_hash)
        .bind(invite.email)
        .bind(invite.role)
        .bind(invite.invited_by)
        .bind(invite.created_at)
        .bind(invite.expires_at)
        .execute(&mut *tx)
        .await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn find_admin_invite(&self, token_hash: &str) -> Result<Option<StoredInvite>> {
        let row = sqlx::query(
            "SELECT email, role, invited_by, created_at, expires_at, used_at
             FROM admin_invites WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.map(|r| {
            Ok(StoredInvite {
                email: r.try_get("email")?,
                role: r.try_get("role")?,
                invited_by: r.try_get("invited_by")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                used_at: r.try_get("used_at")?,
            })
        })
        .transpose()
    }

    /// Invitations neither used nor expired, newest first (the token is never stored).
    pub async fn open_admin_invites(&self, now: i64) -> Result<Vec<StoredInvite>> {
        let rows = sqlx::query(
            "SELECT email, role, invited_by, created_at, expires_at, used_at FROM admin_invites
             WHERE used_at IS NULL AND expires_at > $1 ORDER BY created_at DESC",
        )
        .bind(now)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredInvite {
                    email: r.try_get("email")?,
                    role: r.try_get("role")?,
                    invited_by: r.try_get("invited_by")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                    used_at: r.try_get("used_at")?,
                })
            })
            .collect()
    }

    /// Uses the invitation up and creates its admin with their first passkey, in one
    /// transaction: an invitation used or expired meanwhile is refused (`Refusal::InviteGone`),
    /// an address that became an admin's meanwhile too (`Refusal::EmailTaken`).
    pub async fn accept_admin_invite(
        &self,
        token_hash: &str,
        admin: &NewAdmin<'_>,
        passkey: &NewAdminPasskey<'_>,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<StoredAdmin> {
        let mut tx = self.begin().await?;
        let used = sqlx::query(
            "UPDATE admin_invites SET used_at = $1, admin_id = $2
             WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(admin.id.to_string())
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(Error::Refused(Refusal::InviteGone));
        }
        let inserted = sqlx::query(
            "INSERT INTO admins (id, email, email_normalized, role, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(admin.id.to_string())
        .bind(admin.email)
        .bind(admin.email_normalized)
        .bind(admin.role)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                tx.rollback().await?;
                return Err(Error::Refused(Refusal::EmailTaken));
            }
            other => other?,
        };
        insert_passkey(&mut tx, admin.id, passkey, now).await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(StoredAdmin {
            id: admin.id,
            email: admin.email.to_string(),
            role: admin.role.to_string(),
            created_at: now,
        })
    }

    pub async fn find_admin(&self, id: Uuid) -> Result<Option<StoredAdmin>> {
        let row = sqlx::query(&format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&mut *self.read().await?)
            .await?;
        row.as_ref().map(admin_row).transpose()
    }

    pub async fn list_admins(&self) -> Result<Vec<StoredAdmin>> {
        let rows = sqlx::query(&format!(
            "SELECT {ADMIN_COLUMNS} FROM admins ORDER BY created_at, email_normalized"
        ))
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(admin_row).collect()
    }

    /// Changes an admin's role; taking the owner role from the last owner is refused
    /// (`Refusal::LastOwner`).
    pub async fn set_admin_role(&self, id: Uuid, role: &str, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Err(refused) = owners_left(&mut tx, id, role == "owner").await {
            tx.rollback().await?;
            return Err(refused);
        }
        sqlx::query("UPDATE admins SET role = $1 WHERE id = $2")
            .bind(role)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes an admin with their passkeys; the last owner is never removed
    /// (`Refusal::LastOwner`).
    pub async fn remove_admin(&self, id: Uuid, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Err(refused) = owners_left(&mut tx, id, false).await {
            tx.rollback().await?;
            return Err(refused);
        }
        sqlx::query("DELETE FROM admin_passkeys WHERE admin_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM admins WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_admin_passkey(
        &self,
        admin_id: Uuid,
        passkey: &NewAdminPasskey<'_>,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        insert_passkey(&mut tx, admin_id, passkey, now).await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn find_admin_passkey(
        &self,
        admin_id: Uuid,
        credential_id: &str,
    ) -> Result<Option<StoredAdminPasskey>> {
        let row = sqlx::query(&format!(
            "SELECT {PASSKEY_COLUMNS} FROM admin_passkeys WHERE admin_id = $1 AND credential_id = $2"
        ))
        .bind(admin_id.to_string())
        .bind(credential_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        row.as_ref().map(passkey_row).transpose()
    }

    pub async fn list_admin_passkeys(&self, admin_id: Uuid) -> Result<Vec<StoredAdminPasskey>> {
        let rows = sqlx::query(&format!(
            "SELECT {PASSKEY_COLUMNS} FROM admin_passkeys WHERE admin_id = $1 ORDER BY created_at, id"
        ))
        .bind(admin_id.to_string())
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.iter().map(passkey_row).collect()
    }

    /// Records a verified assertion on an admin passkey; a counter that did not move forward
    /// is refused (`CounterUpdate::Regressed`).
    pub async fn record_admin_passkey_use(&self, used: &PasskeyUse) -> Result<CounterUpdate> {
        let mut conn = self.write().await?;
        record_use_in_table(&mut *conn, used, "admin_passkeys").await
    }
}
