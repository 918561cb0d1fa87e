//! Admin roles and what each may do. Every console route and action names the permission it
//! needs; the server checks it on every request (`Admin::require`).

use std::fmt;

/// An admin's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including inviting, changing and removing admins.
    Owner,
    /// Merchants, webhooks, points programmes and risk limits.
    Operator,
    /// Shoppers and their payments (read, freeze, unfreeze, start a recovery), and disputes.
    Support,
    /// Reads everything, changes nothing.
    Auditor,
}

pub const ROLES: [Role; 4] = [Role::Owner, Role::Operator, Role::Support, Role::Auditor];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Operator => "operator",
            Role::Support => "support",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        ROLES.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether this role may do `what`.
    pub fn may(self, what: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner => true,
            Role::Operator => matches!(
                what,
                ReadConsole | ManageMerchants | ManageWebhooks | ManagePoints | ManageRisk
            ),
            Role::Support => matches!(
                what,
                ReadConsole | ReadShoppers | FreezeShoppers | RecoverShoppers | ManageDisputes
            ),
            Role::Auditor => matches!(what, ReadConsole | ReadShoppers | ReadAdmins),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a console page or action needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// The dashboard, merchants, webhook endpoints and the audit log, read only: every role.
    ReadConsole,
    /// Shoppers with their payments and points: owner, support, auditor.
    ReadShoppers,
    /// The list of admins and open invitations: owner, auditor.
    ReadAdmins,
    /// Create and edit merchants, their vetting status, secrets and campaign: owner, operator.
    ManageMerchants,
    /// Retry events and re-enable endpoints: owner, operator.
    ManageWebhooks,
    /// The points programme: owner, operator.
    ManagePoints,
    /// Risk limits: owner, operator.
    ManageRisk,
    /// Freeze and unfreeze shoppers: owner, support.
    FreezeShoppers,
    /// Start a recovery (a link that works after a cool-down) for a shopper who lost their
    /// passkeys: owner, support.
    RecoverShoppers,
    /// Decide disputes: owner, support.
    ManageDisputes,
    /// Invite admins, change their roles, remove them: owner.
    ManageAdmins,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_ones_are_refused() {
        for role in ROLES {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Owner"), None);
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn only_the_owner_manages_admins_and_the_auditor_changes_nothing() {
        for role in ROLES {
            assert_eq!(role.may(Permission::ManageAdmins), role == Role::Owner);
            assert!(role.may(Permission::ReadConsole));
        }
        for change in [
            Permission::ManageMerchants,
            Permission::ManageWebhooks,
            Permission::ManagePoints,
            Permission::ManageRisk,
            Permission::FreezeShoppers,
            Permission::RecoverShoppers,
            Permission::ManageDisputes,
            Permission::ManageAdmins,
        ] {
            assert!(!Role::Auditor.may(change), "{change:?}");
        }
        assert!(!Role::Operator.may(Permission::FreezeShoppers));
        assert!(!Role::Operator.may(Permission::RecoverShoppers));
        assert!(Role::Support.may(Permission::RecoverShoppers));
        assert!(Role::Owner.may(Permission::RecoverShoppers));
        assert!(!Role::Support.may(Permission::ManageMerchants));
    }
}
