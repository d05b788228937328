//! The console's one permission table: what each role may do (`docs/console.md`).
//!
//! Roles are not ranked: an Admin manages accounts and settings but does not triage or
//! publish, an Auditor reads and exports the audit log and nothing else. Anyone may see
//! their own account, end their sessions and, when an Admin made them eligible, elevate
//! to one other role for a while (just in time, with a reason, audited).

use ferretwatch_store::TokenRole;

/// Something a console page or action requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// The dashboard: service health, the served pack, report volume, refusals.
    ViewDashboard,
    /// The audit log and the access log.
    ViewAudit,
    /// Exports of the audit log.
    ExportAudit,
    /// Accounts: invitations, roles, eligibility, disabling, sessions.
    ManageAccounts,
    /// Policies and settings: rate limits, thresholds.
    ManageSettings,
    /// Reports: triage and decisions.
    TriageReports,
    /// The Rules and Bulletins modules: proposals, their tests and signatures.
    ViewRules,
    /// Proposing a rule, a rollback's counterpart for reviewers, or a bulletin.
    ProposeRules,
    /// Rules and bulletins: approval and publication.
    PublishRules,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Self; 9] = [
        Self::ViewDashboard,
        Self::ViewAudit,
        Self::ExportAudit,
        Self::ManageAccounts,
        Self::ManageSettings,
        Self::TriageReports,
        Self::ViewRules,
        Self::ProposeRules,
        Self::PublishRules,
    ];

    /// A stable code, for exports and reviews.
    pub fn code(self) -> &'static str {
        match self {
            Self::ViewDashboard => "view_dashboard",
            Self::ViewAudit => "view_audit",
            Self::ExportAudit => "export_audit",
            Self::ManageAccounts => "manage_accounts",
            Self::ManageSettings => "manage_settings",
            Self::TriageReports => "triage_reports",
            Self::ViewRules => "view_rules",
            Self::ProposeRules => "propose_rules",
            Self::PublishRules => "publish_rules",
        }
    }

    /// In plain words, for refusals.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ViewDashboard => "view the dashboard",
            Self::ViewAudit => "read the audit and access logs",
            Self::ExportAudit => "export the audit log",
            Self::ManageAccounts => "manage accounts",
            Self::ManageSettings => "change policies and settings",
            Self::TriageReports => "triage reports",
            Self::ViewRules => "see rule and bulletin proposals",
            Self::ProposeRules => "propose rules and bulletins",
            Self::PublishRules => "publish rules and bulletins",
        }
    }
}

/// The table: each role and what it may do.
pub const TABLE: [(TokenRole, &[Permission]); 5] = [
    (TokenRole::Viewer, &[Permission::ViewDashboard, Permission::ViewAudit]),
    (
        TokenRole::Reviewer,
        &[Permission::ViewDashboard, Permission::TriageReports, Permission::ViewRules, Permission::ProposeRules],
    ),
    (TokenRole::Publisher, &[Permission::ViewDashboard, Permission::ViewRules, Permission::PublishRules]),
    (
        TokenRole::Admin,
        &[Permission::ViewDashboard, Permission::ViewAudit, Permission::ManageAccounts, Permission::ManageSettings],
    ),
    (TokenRole::Auditor, &[Permission::ViewAudit, Permission::ExportAudit]),
];

/// What `role` may do.
pub fn permissions(role: TokenRole) -> &'static [Permission] {
    TABLE.iter().find(|(r, _)| *r == role).map_or(&[], |(_, p)| p)
}

/// Whether `role` may do `permission`.
pub fn allows(role: TokenRole, permission: Permission) -> bool {
    permissions(role).contains(&permission)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_a_row_and_only_admins_manage_and_only_auditors_export() {
        for role in TokenRole::ALL {
            assert!(!permissions(role).is_empty(), "{role}");
            assert_eq!(allows(role, Permission::ManageAccounts), role == TokenRole::Admin);
            assert_eq!(allows(role, Permission::ExportAudit), role == TokenRole::Auditor);
            // The two-person rule starts with roles: who proposes never publishes.
            assert!(!(allows(role, Permission::ProposeRules) && allows(role, Permission::PublishRules)), "{role}");
        }
    }
}
