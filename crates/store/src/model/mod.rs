//! The store's data model. Input types validate in their constructors; output types are
//! plain data.

mod audit;
mod common;
mod console;
mod incident;
mod lifecycle;
mod moderation;
mod proposal;
mod report;
mod review;
mod stats;
mod token;
mod triage;

pub(crate) use audit::seal;
pub use audit::{
    audit_hash, AuditEntry, AuditFilter, AuditSigner, AuditVerifier, ChainCheck, ChainProblem, ChainReport,
    NewAuditEntry, AUDIT_DOMAIN,
};
pub use common::{Page, PageOf};
pub use console::{
    AccessByNetwork, AccessEvent, AccessOutcome, AccessSummary, Account, AccountId, AccountSecrets, Elevation, Email,
    Invitation, InvitationId, NewAccount, NewInvitation, NewSession, Session, SessionStage, SettingValue,
};
pub use incident::{AlertNotice, Incident, IncidentEvent, IncidentId, IncidentState, Priority};
pub use lifecycle::{
    host_of, Analyzed, BatchOutcome, Cleanup, ConnectionState, DailyCount, ForgetTarget, Forgotten, IndexInfo,
    IndexReport, KeyedHash, Reapplied, RetentionBatch, ScoreLevel, SlowQueries, SlowQuery, Tombstone, TombstoneKey,
    TombstoneSubject, DAY_MS, FORGOTTEN_URL, MAX_BATCH,
};
pub use moderation::{
    Actor, ModerationAudit, ModerationEntry, ModerationFilter, ModerationSort, ModerationState, StateChange,
};
pub use proposal::{NewProposal, Proposal, ProposalId, ProposalKind, ProposalSignature, ProposalState};
pub use report::{
    ClientNet, ExtensionVersion, Finding, Findings, InstallTokenId, NewReport, ReportId, ReportKind, ReportReason,
    ReportReceipt, ReportUrl, Score, StoredReport, UrlHash,
};
pub use review::{AbuseFinding, AbuseKind, SuspiciousFilter, SuspiciousReport};
pub use stats::{
    BucketCount, HostCount, LevelCount, OutcomeCount, PackReportCount, ReasonCount, ReportStats, ReportStatsQuery,
};
pub(crate) use token::generate_secret;
pub use token::{IssuedToken, NewToken, TokenHash, TokenId, TokenName, TokenRecord, TokenRole, TOKEN_PREFIX};
pub use triage::{InboxFilter, InboxGroup, InboxKind};

/// Which database this is: a random id chosen when its first migrations ran (the
/// `store_identity` row). A backup records it, so a backup of another database is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreIdentity {
    /// The random id (hex).
    pub id: String,
    /// When the database was created, milliseconds since the epoch.
    pub created_at: i64,
}

/// Totals for metrics gauges and the health page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreCounts {
    /// Rows in the report log of kind `report`.
    pub reports: i64,
    /// Rows in the report log of kind `false_positive`.
    pub false_positives: i64,
    /// Moderation entries per state, in [`ModerationState::ALL`] order.
    pub moderation: [i64; 4],
    /// Tokens not revoked.
    pub active_tokens: i64,
}

impl StoreCounts {
    /// Moderation entries in `state`.
    pub fn in_state(&self, state: ModerationState) -> i64 {
        let index = ModerationState::ALL.iter().position(|s| *s == state).unwrap_or(0);
        self.moderation[index]
    }
}

/// Connection-pool figures for the `database pool` metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Of those, idle.
    pub idle: u32,
    /// The configured maximum.
    pub max: u32,
}
