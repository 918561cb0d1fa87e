//! WebAuthn ceremony state. It never leaves the server: the browser's session holds only the
//! ceremony's random id, and the state is taken out exactly once.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::error::Result;
use super::Store;

/// A ceremony taken out of the store.
#[derive(Debug)]
pub struct Taken {
    pub kind: String,
    pub state: String,
    pub expires_at: i64,
}

fn taken(r: &AnyRow) -> Result<Taken> {
    Ok(Taken {
        kind: r.try_get("kind")?,
        state: r.try_get("state")?,
        expires_at: r.try_get("expires_at")?,
    })
}

impl Store {
    pub async fn put_ceremony(
        &self,
        id: &str,
        kind: &str,
        state: &str,
        expires_at: i64,
    ) -> Result<()> {
        let mut tx = self.begin_one().await?;
        sqlx::query("INSERT INTO ceremonies (id, kind, state, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(kind)
            .bind(state)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a ceremony under an id its session derives (the sign-in's), replacing the one an
    /// earlier start in the same session left.
    pub async fn replace_ceremony(
        &self,
        id: &str,
        kind: &str,
        state: &str,
        expires_at: i64,
    ) -> Result<()> {
        let mut tx = self.begin_single().await?;
        sqlx::query(
            "INSERT INTO ceremonies (id, kind, state, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET
               kind = excluded.kind, state = excluded.state, expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(kind)
        .bind(state)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reads a ceremony without taking it: a step that then succeeds takes it inside its own
    /// transaction (see [`Store::approve_consent`]); one that fails takes it with
    /// [`Store::take_ceremony`].
    pub async fn find_ceremony(&self, id: &str) -> Result<Option<Taken>> {
        let row = sqlx::query("SELECT kind, state, expires_at FROM ceremonies WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        row.as_ref().map(taken).transpose()
    }

    /// Deletes and returns the ceremony in one statement, so that of two concurrent
    /// attempts only one gets it.
    pub async fn take_ceremony(&self, id: &str) -> Result<Option<Taken>> {
        let mut tx = self.begin_one().await?;
        let row =
            sqlx::query("DELETE FROM ceremonies WHERE id = $1 RETURNING kind, state, expires_at")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        row.as_ref().map(taken).transpose()
    }
}
