//! An issuer admin as the console sees them, and the one check every console action makes.

use uuid::Uuid;

use super::role::{Permission, Role};
use crate::audit::Actor;
use crate::error::{Error, Result};

/// An issuer admin.
#[derive(Clone, Debug)]
pub struct Admin {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
}

impl Admin {
    /// Refuses with 403 `role_forbidden` unless the admin's role allows `what`.
    pub fn require(&self, what: Permission) -> Result<()> {
        if self.role.may(what) {
            Ok(())
        } else {
            Err(Error::forbidden(
                "role_forbidden",
                format!(
                    "Your role ({}) does not allow this. Ask an owner if you need it.",
                    self.role
                ),
            ))
        }
    }

    /// The admin as the audit log names them.
    pub fn actor(&self) -> Actor {
        Actor::Admin(self.id.to_string())
    }
}
