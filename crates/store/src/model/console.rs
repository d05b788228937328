//! The admin console's accounts, invitations, sessions, access log and settings.
//!
//! The store keeps no secret in a form that signs anyone in: passwords are argon2id PHC
//! strings, TOTP seeds arrive already encrypted (the server holds the key), and session
//! ids, invitation codes and recovery codes are stored as digests (SHA-256 for 256-bit
//! random values, a keyed hash for the shorter recovery codes; the server computes both).

use std::fmt;

use ferretwatch_types::{Sha256, Timestamp};

use crate::error::ValidationError;
use crate::model::TokenRole;

/// An account's server-assigned id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(pub i64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An account's sign-in name: an email address, lower-cased, 3 to 254 characters with one
/// `@` and no whitespace or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Accepts and lower-cases an address.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let email = raw.trim().to_lowercase();
        let ok = (3..=254).contains(&email.len())
            && email.matches('@').count() == 1
            && !email.starts_with('@')
            && !email.ends_with('@')
            && email.chars().all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '<' | '>' | '"' | '\''));
        if !ok {
            return Err(ValidationError::new("email", "must be an email address (name@domain)"));
        }
        Ok(Self(email))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An account as the console shows it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// Its sign-in name.
    pub email: String,
    /// Its standing role.
    pub role: TokenRole,
    /// The role it may elevate to for a while, with a reason, if any.
    pub eligible_role: Option<TokenRole>,
    /// Whether it has a confirmed TOTP seed (every account enrolled by invitation has).
    pub totp_enrolled: bool,
    /// Whether it has a password (an account may sign in through OpenID Connect only).
    pub has_password: bool,
    /// The OpenID Connect identity linked to it: issuer and subject.
    pub oidc: Option<(String, String)>,
    /// When it was created.
    pub created_at: Timestamp,
    /// Who created it (the invitation's author).
    pub created_by: String,
    /// The last successful sign-in.
    pub last_login_at: Option<Timestamp>,
    /// When it was disabled; a disabled account cannot sign in.
    pub disabled_at: Option<Timestamp>,
    /// Failed sign-ins since the last success.
    pub failed_logins: i64,
    /// Until when sign-in is refused after repeated failures.
    pub locked_until: Option<Timestamp>,
}

impl Account {
    /// Not disabled.
    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none()
    }
}

/// What signs an account in, for the server to check (never shown).
#[derive(Clone, PartialEq, Eq)]
pub struct AccountSecrets {
    /// The argon2id PHC string, if the account has a password.
    pub password_hash: Option<String>,
    /// The TOTP seed, encrypted by the server.
    pub totp_secret: Option<Vec<u8>>,
    /// The last TOTP time step accepted (a code is never accepted twice).
    pub totp_last_step: i64,
}

impl fmt::Debug for AccountSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountSecrets").field("totp_last_step", &self.totp_last_step).finish_non_exhaustive()
    }
}

/// A new invitation: the digest of its code, the role it grants, and when it expires.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// SHA-256 of the invitation code (the code itself is shown once).
    pub code_hash: Sha256,
    /// The role the account gets.
    pub role: TokenRole,
    /// The address the invitation is for, if bound to one.
    pub email: Option<Email>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// An invitation's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvitationId(pub i64);

/// A stored invitation.
#[derive(Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Its id.
    pub id: InvitationId,
    /// The role it grants.
    pub role: TokenRole,
    /// The address it is bound to, if any.
    pub email: Option<String>,
    /// The TOTP seed offered on the enrolment page (encrypted), once one was drawn.
    pub totp_secret: Option<Vec<u8>>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// When it was redeemed.
    pub used_at: Option<Timestamp>,
}

impl fmt::Debug for Invitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invitation")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .finish_non_exhaustive()
    }
}

impl Invitation {
    /// Not redeemed and not expired at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.used_at.is_none() && now < self.expires_at
    }
}

/// The account an invitation creates.
#[derive(Clone)]
pub struct NewAccount {
    /// Its sign-in name.
    pub email: Email,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// The encrypted TOTP seed (confirmed by a code before this is built).
    pub totp_secret: Vec<u8>,
    /// The time step of the confirming code (so it cannot be replayed).
    pub totp_last_step: i64,
    /// Keyed digests of the one-time recovery codes.
    pub recovery_codes: Vec<Sha256>,
    /// When.
    pub created_at: Timestamp,
}

impl fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAccount").field("email", &self.email).finish_non_exhaustive()
    }
}

/// How far a session has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// The first factor (password or OpenID Connect) passed; TOTP is still due.
    Password,
    /// Signed in.
    Full,
}

impl SessionStage {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Full => "full",
        }
    }

    pub(crate) fn from_code(code: &str) -> Option<Self> {
        match code {
            "password" => Some(Self::Password),
            "full" => Some(Self::Full),
            _ => None,
        }
    }
}

/// A new session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the session id in the cookie.
    pub id_hash: Sha256,
    /// Whose.
    pub account_id: AccountId,
    /// How far.
    pub stage: SessionStage,
    /// When.
    pub created_at: Timestamp,
    /// The absolute end.
    pub expires_at: Timestamp,
    /// The client's network, as the access log records it.
    pub client_net: Option<String>,
}

/// A just-in-time elevation in force on a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elevation {
    /// The role it grants.
    pub role: TokenRole,
    /// When it ends.
    pub until: Timestamp,
    /// Why, as given.
    pub reason: String,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of its id.
    pub id_hash: Sha256,
    /// Whose.
    pub account_id: AccountId,
    /// How far.
    pub stage: SessionStage,
    /// When.
    pub created_at: Timestamp,
    /// The last request (coalesced to a minute).
    pub last_seen_at: Timestamp,
    /// The absolute end.
    pub expires_at: Timestamp,
    /// The client's network.
    pub client_net: Option<String>,
    /// The elevation, if one was granted (check `until`).
    pub elevation: Option<Elevation>,
}

/// How a sign-in attempt ended, as the access log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessOutcome {
    /// Signed in.
    Success,
    /// Wrong password (or unknown account: the log does not tell them apart to readers
    /// of the page, but does here, for the runbook's review).
    BadPassword,
    /// No such account.
    UnknownAccount,
    /// Wrong or replayed TOTP or recovery code.
    BadSecondFactor,
    /// Refused: the account is locked after repeated failures.
    Locked,
    /// Refused: too many attempts from the network or for the account.
    Throttled,
    /// Refused: the account is disabled.
    Disabled,
    /// Signed out.
    Logout,
}

impl AccessOutcome {
    /// Every outcome.
    pub const ALL: [Self; 8] = [
        Self::Success,
        Self::BadPassword,
        Self::UnknownAccount,
        Self::BadSecondFactor,
        Self::Locked,
        Self::Throttled,
        Self::Disabled,
        Self::Logout,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::BadPassword => "bad_password",
            Self::UnknownAccount => "unknown_account",
            Self::BadSecondFactor => "bad_second_factor",
            Self::Locked => "locked",
            Self::Throttled => "throttled",
            Self::Disabled => "disabled",
            Self::Logout => "logout",
        }
    }

    /// The outcome with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.code() == code)
    }

    /// A failed attempt (what the runbook's access audit alerts on).
    pub fn is_failure(self) -> bool {
        !matches!(self, Self::Success | Self::Logout)
    }
}

/// One row of the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEvent {
    /// When.
    pub at: Timestamp,
    /// The address given (lower-cased, at most 254 characters; not necessarily an account).
    pub email: String,
    /// The account, when the address names one.
    pub account_id: Option<AccountId>,
    /// The client's network (`/24` or `/48`).
    pub client_net: String,
    /// `password`, `totp`, `recovery`, `oidc` or `logout`.
    pub method: String,
    /// How it ended.
    pub outcome: AccessOutcome,
    /// The user agent, cut to 256 characters.
    pub user_agent: Option<String>,
}

/// Per-address figures of the access log over a window (the runbook's first access query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSummary {
    /// The address.
    pub email: String,
    /// Attempts.
    pub attempts: i64,
    /// Of which failed.
    pub failures: i64,
    /// The first in the window.
    pub first: Timestamp,
    /// The last in the window.
    pub last: Timestamp,
}

/// Attempts per address and network over a window (the runbook's second access query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessByNetwork {
    /// The address.
    pub email: String,
    /// The network.
    pub client_net: String,
    /// Attempts.
    pub attempts: i64,
    /// Of which failed.
    pub failures: i64,
}

/// One console setting (a policy: a rate limit, a threshold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingValue {
    /// Its key.
    pub key: String,
    /// Its value, as text.
    pub value: String,
    /// When it was last changed.
    pub updated_at: Timestamp,
    /// By whom.
    pub updated_by: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_lower_cased_and_checked() {
        assert_eq!(Email::parse(" Alice@Example.TEST ").unwrap().as_str(), "alice@example.test");
        for bad in ["", "a", "@x", "x@", "a@b@c", "a b@c", "a<script>@x", "a\u{0}@x"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn access_outcomes_round_trip_and_only_success_and_logout_are_not_failures() {
        for o in AccessOutcome::ALL {
            assert_eq!(AccessOutcome::from_code(o.code()), Some(o));
            assert_eq!(o.is_failure(), !matches!(o, AccessOutcome::Success | AccessOutcome::Logout));
        }
    }
}
