//! `ferretwatch admin …`: administration from the command line: admin API tokens,
//! invitations to the console, and the runbook's access reviews (§7.1 "Monitor admin
//! access", §7.2 "Permission reviews") on either database.
//!
//! The reviews are gates: they print what they found and exit 1 (the exit table's "a gate
//! did not pass") when something needs a person's attention, so a timer or CI job can run
//! them as they are.

mod access;
mod invite;
mod review;
mod token;

use std::process::ExitCode;

use clap::Subcommand;
use ferretwatch_store::Account;
use ferretwatch_types::Timestamp;

/// Admin commands.
#[derive(Subcommand)]
pub enum AdminCommand {
    /// Admin API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Invite someone to the admin console: prints the enrolment link (shown only now).
    Invite(invite::InviteArgs),
    /// The access log's review and anomaly queries (runbook §7.2); exit 1 on an alert.
    AccessAudit(access::AccessAuditArgs),
    /// Active accounts without a sign-in for N days; exit 1 when there is one.
    Inactive(review::InactiveArgs),
    /// Active accounts without TOTP; exit 1 when an admin (with --require-all-admins,
    /// anyone) lacks it.
    #[command(name = "validate-2fa")]
    Validate2fa(review::TwoFactorArgs),
    /// Every account with its role's permissions, for the quarterly review.
    PermissionReview(review::PermissionReviewArgs),
    /// Deletes sessions past their end or idle too long (runbook §5.3).
    SessionsCleanup(access::CleanupArgs),
}

/// Runs an admin command.
pub fn run(command: AdminCommand) -> ExitCode {
    match command {
        AdminCommand::Token(command) => token::run(command),
        AdminCommand::Invite(args) => invite::run(args),
        AdminCommand::AccessAudit(args) => access::audit(args),
        AdminCommand::Inactive(args) => review::inactive(args),
        AdminCommand::Validate2fa(args) => review::two_factor(args),
        AdminCommand::PermissionReview(args) => review::permission_review(args),
        AdminCommand::SessionsCleanup(args) => access::cleanup(args),
    }
}

/// Who the command line acts as in the audit log: `cli:$USER`, or `cli`.
pub fn actor() -> String {
    match std::env::var("USER") {
        Ok(user) if !user.trim().is_empty() => format!("cli:{}", user.trim()),
        _ => "cli".to_owned(),
    }
}

/// An account's standing: `disabled`, `locked` (refusing sign-in after failures) or
/// `active`.
pub fn status(account: &Account, now: Timestamp) -> &'static str {
    if account.disabled_at.is_some() {
        "disabled"
    } else if account.locked_until.is_some_and(|until| until > now) {
        "locked"
    } else {
        "active"
    }
}

/// Text from the access log (whatever address someone typed at the sign-in page) made safe
/// for a terminal: control characters are shown escaped, never sent.
pub fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_the_access_log_reach_the_terminal_escaped() {
        assert_eq!(printable("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(printable("alice@example.test"), "alice@example.test");
    }
}
