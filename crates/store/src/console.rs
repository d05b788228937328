//! What the admin console needs from storage: accounts, invitations, sessions, the access
//! log, settings and the audit log. A supertrait of [`crate::Store`], so both backends
//! implement it and the server reaches it through the same `Arc<dyn Store>`.
//!
//! Every change an administrator makes is written together with its audit entry, in one
//! transaction: there is no committed change without its entry, and no entry for a change
//! that did not happen.

use async_trait::async_trait;
use ferretwatch_types::{Sha256, Timestamp};

use crate::model::{
    AccessByNetwork, AccessEvent, AccessSummary, Account, AccountId, AccountSecrets, AuditEntry, AuditFilter,
    AuditSigner, Email, InboxFilter, InboxGroup, Invitation, ModerationEntry, NewAccount, NewAuditEntry, NewInvitation,
    NewSession, Session, SettingValue, StateChange, TokenRole,
};
use crate::Result;

/// Report volume over a window, for the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportVolume {
    /// Reports.
    pub reports: i64,
    /// False-positive reports.
    pub false_positives: i64,
}

/// An audited write: the entry to record and the key to sign it with.
#[derive(Clone, Copy)]
pub struct Audited<'a> {
    /// The entry.
    pub entry: &'a NewAuditEntry,
    /// The server's audit key.
    pub signer: &'a dyn AuditSigner,
}

impl std::fmt::Debug for Audited<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audited").field("entry", self.entry).finish_non_exhaustive()
    }
}

/// Storage for the admin console (see the module documentation).
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    // --- invitations and accounts ---

    /// Stores an invitation, audited.
    async fn create_invitation(&self, invitation: &NewInvitation, audit: Audited<'_>) -> Result<Invitation>;

    /// The invitation whose code hashes to `code_hash`, used or not.
    async fn find_invitation(&self, code_hash: &Sha256) -> Result<Option<Invitation>>;

    /// Sets the TOTP seed an open invitation offers, unless one is set already; returns
    /// the invitation as stored (so a reloaded enrolment page shows the same seed).
    async fn offer_invitation_totp(&self, code_hash: &Sha256, totp_secret: &[u8]) -> Result<Invitation>;

    /// Redeems an open invitation: creates the account with the invitation's role and
    /// recovery codes and marks the invitation used, in one transaction, audited.
    /// `NotFound` when no open invitation has that code at `account.created_at`;
    /// `Conflict` when the email is taken.
    async fn redeem_invitation(&self, code_hash: &Sha256, account: &NewAccount, audit: Audited<'_>) -> Result<Account>;

    /// Every account, oldest first.
    async fn list_accounts(&self) -> Result<Vec<Account>>;

    /// One account.
    async fn get_account(&self, id: AccountId) -> Result<Account>;

    /// An account and what signs it in, by email.
    async fn find_account_by_email(&self, email: &Email) -> Result<Option<(Account, AccountSecrets)>>;

    /// The account linked to an OpenID Connect identity.
    async fn find_account_by_oidc(&self, issuer: &str, subject: &str) -> Result<Option<(Account, AccountSecrets)>>;

    /// What signs an account in.
    async fn account_secrets(&self, id: AccountId) -> Result<AccountSecrets>;

    /// Links (or with `None` unlinks) an OpenID Connect identity, audited. `Conflict`
    /// when another account has it.
    async fn link_oidc(&self, id: AccountId, identity: Option<(&str, &str)>, audit: Audited<'_>) -> Result<Account>;

    /// Changes an account's standing role and the role it may elevate to, audited.
    async fn set_account_role(
        &self,
        id: AccountId,
        role: TokenRole,
        eligible: Option<TokenRole>,
        audit: Audited<'_>,
    ) -> Result<Account>;

    /// Disables (`Some(at)`) or re-enables (`None`) an account, audited. Disabling ends
    /// its sessions in the same transaction.
    async fn set_account_disabled(&self, id: AccountId, at: Option<Timestamp>, audit: Audited<'_>) -> Result<Account>;

    /// Accepts TOTP time step `step` if it is later than the last accepted one (so a code
    /// is never accepted twice, even by two requests at once).
    async fn accept_totp_step(&self, id: AccountId, step: i64) -> Result<bool>;

    /// Spends a recovery code: `true` when it was unused (and is now used).
    async fn use_recovery_code(&self, id: AccountId, code_hash: &Sha256, at: Timestamp) -> Result<bool>;

    /// Recovery codes not yet used.
    async fn recovery_codes_left(&self, id: AccountId) -> Result<i64>;

    /// Records a failed sign-in: increments the count and sets the lock-out end that
    /// `lock_for(count)` gives. Returns the new count.
    async fn record_login_failure(
        &self,
        id: AccountId,
        at: Timestamp,
        lock_for_ms: &(dyn Fn(i64) -> i64 + Sync),
    ) -> Result<i64>;

    /// Records a successful sign-in: resets the failures and sets the last sign-in time.
    async fn record_login_success(&self, id: AccountId, at: Timestamp) -> Result<()>;

    // --- sessions ---

    /// Stores a session.
    async fn create_session(&self, session: &NewSession) -> Result<()>;

    /// The session whose id hashes to `id_hash`, if it exists (expired or not).
    async fn find_session(&self, id_hash: &Sha256) -> Result<Option<Session>>;

    /// Records activity, coalesced: writes only when the stored time is more than
    /// `granularity_ms` older than `at` (keep it well under the idle timeout).
    async fn touch_session(&self, id_hash: &Sha256, at: Timestamp, granularity_ms: i64) -> Result<()>;

    /// Grants an elevation on a session, audited.
    async fn elevate_session(
        &self,
        id_hash: &Sha256,
        role: TokenRole,
        until: Timestamp,
        reason: &str,
        audit: Audited<'_>,
    ) -> Result<()>;

    /// Ends an elevation early.
    async fn end_elevation(&self, id_hash: &Sha256) -> Result<()>;

    /// Ends one session. Returns whether it existed.
    async fn delete_session(&self, id_hash: &Sha256) -> Result<bool>;

    /// Ends every session of an account; returns how many.
    async fn delete_account_sessions(&self, id: AccountId) -> Result<u64>;

    /// Deletes sessions past their absolute end or idle since before `idle_cutoff`, and
    /// pending sign-ins past their end; returns how many rows.
    async fn delete_expired_sessions(&self, now: Timestamp, idle_cutoff: Timestamp) -> Result<u64>;

    /// Sessions of an account, newest first.
    async fn list_account_sessions(&self, id: AccountId) -> Result<Vec<Session>>;

    /// Stores a pending OpenID Connect sign-in (opaque text), keyed by a cookie's hash.
    async fn put_oidc_pending(&self, id_hash: &Sha256, payload: &str, expires_at: Timestamp) -> Result<()>;

    /// Takes (reads and deletes) a pending sign-in that has not expired at `now`.
    async fn take_oidc_pending(&self, id_hash: &Sha256, now: Timestamp) -> Result<Option<String>>;

    // --- the access log ---

    /// Appends a sign-in attempt.
    async fn append_access(&self, event: &AccessEvent) -> Result<()>;

    /// The newest attempts, newest first.
    async fn list_access(&self, since: Timestamp, limit: u32) -> Result<Vec<AccessEvent>>;

    /// Attempts per address since `since`, most first (the runbook's 7-day review).
    async fn access_summary(&self, since: Timestamp) -> Result<Vec<AccessSummary>>;

    /// Attempts per address and network since `since`, with more than `over` attempts
    /// (the runbook's anomaly query), most first.
    async fn access_by_network(&self, since: Timestamp, over: i64) -> Result<Vec<AccessByNetwork>>;

    // --- settings ---

    /// Every stored setting, by key.
    async fn list_settings(&self) -> Result<Vec<SettingValue>>;

    /// Sets settings (key, value), audited, in one transaction.
    async fn put_settings(
        &self,
        values: &[(String, String)],
        at: Timestamp,
        by: &str,
        audit: Audited<'_>,
    ) -> Result<()>;

    // --- triage ---

    /// A page of the triage inbox (`limit` groups after `offset`), with each URL's reasons.
    async fn triage_inbox(&self, filter: &InboxFilter, limit: u32, offset: u32) -> Result<Vec<InboxGroup>>;

    /// A reviewer's decision on one URL, with its audit entry, in one transaction: the
    /// state change, the moderation audit row and the signed audit entry. `NotFound` for an
    /// unknown URL hash, `Conflict` for a transition the current state does not allow
    /// (including one a concurrent reviewer made first).
    async fn decide(&self, change: &StateChange, audit: Audited<'_>) -> Result<ModerationEntry>;

    // --- the dashboard ---

    /// Reports and false positives received after each of `since` (one index-only range
    /// scan from the earliest; keep the windows to days).
    async fn report_volume(&self, since: [Timestamp; 3]) -> Result<[ReportVolume; 3]>;

    // --- the audit log ---

    /// Appends an entry chained to the newest and signed.
    async fn append_audit(&self, audit: Audited<'_>) -> Result<AuditEntry>;

    /// A page of entries, newest first.
    async fn list_audit(&self, filter: &AuditFilter, limit: u32) -> Result<Vec<AuditEntry>>;

    /// Entries after `after_seq` in sequence order, at most `limit` (for verification and
    /// export; no filter, so gaps show).
    async fn audit_after(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>>;
}
