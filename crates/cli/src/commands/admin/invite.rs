//! `admin invite --role ROLE [--email ADDR] [--hours N]`: an invitation to the console.
//!
//! The code is 256 random bits, shown once as part of the enrolment link on standard
//! output; the database keeps its SHA-256. The invitation and its `account.invited` audit
//! entry are written in one transaction, signed with the server's audit key. No password is
//! ever set here: the invitee chooses one and enrols TOTP on the enrolment page.

use std::process::ExitCode;

use clap::Args;
use ferretwatch_server::console::codes::new_invitation_code;
use ferretwatch_store::{Audited, Email, NewAuditEntry, NewInvitation, TokenRole};
use ferretwatch_types::Timestamp;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::console::{signing_keys, with_store, DbArgs};
use crate::error::CliError;
use crate::output::{self, Format, Report};

/// `admin invite`.
#[derive(Args)]
pub struct InviteArgs {
    /// The role the account gets: viewer, reviewer, publisher, admin or auditor.
    #[arg(long)]
    role: String,
    /// Bind the invitation to this address (default: anyone holding the link).
    #[arg(long)]
    email: Option<String>,
    /// Hours the link stays valid (default: the console's `invitation_hours`, 72).
    #[arg(long)]
    hours: Option<u32>,
    #[command(flatten)]
    db: DbArgs,
}

/// Creates the invitation and prints its link.
pub fn run(args: InviteArgs) -> ExitCode {
    output::run(Format::Text, None, || {
        let role = TokenRole::parse(&args.role).map_err(|e| CliError::input("invalid_role", e.to_string()))?;
        let email = args
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|e| CliError::input("invalid_email", e.to_string()))?;
        let settings = args.db.settings()?;
        let hours = args.hours.unwrap_or(settings.console.invitation_hours);
        if hours == 0 {
            return Err(CliError::input("invalid_argument", "--hours must be at least 1").into());
        }
        let keys = signing_keys(&settings, true)?;
        let (code, code_hash) = new_invitation_code().map_err(|e| CliError::failed("random", e.to_string()))?;
        let now = Timestamp::now();
        let expires_at = now.plus_secs(u64::from(hours) * 3600);
        let actor = super::actor();
        let target = email.as_ref().map_or_else(|| "any".to_owned(), |e| e.as_str().to_owned());
        let invitation =
            NewInvitation { code_hash, role, email, created_by: actor.clone(), created_at: now, expires_at };
        let entry = NewAuditEntry {
            at: now,
            actor,
            action: "account.invited".into(),
            target: target.clone(),
            details: json!({ "role": role.code(), "expires_at": expires_at.as_millis() }),
        };
        with_store(&settings, async |store| {
            store.create_invitation(&invitation, Audited { entry: &entry, signer: &keys }).await?;
            Ok(())
        })?;
        if settings.console.public_url.is_none() {
            output::warn(format_args!(
                "console.public_url is not set: the link names the listen address {}",
                settings.console_url()
            ));
        }
        // The link goes to standard output only, once; the notes to standard error.
        output::note(format_args!(
            "invited {target} as {role}; the link works once, until {expires_at}, and is shown only now: \
             send it over a channel you trust"
        ));
        Ok(Report::text(format!("{}/admin/enrol?code={}", settings.console_url(), code.expose_secret())))
    })
}
