//! Runbook §7.2 "Permission reviews": `admin inactive` (stale accounts), `admin
//! validate-2fa` (accounts without TOTP) and `admin permission-review` (every account
//! with what its role may do, from the console's one permission table).

use crate::output::spreadsheet_safe;
use std::fmt::Write;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use ferretwatch_server::console::permissions::permissions;
use ferretwatch_store::{Account, TokenRole};
use ferretwatch_types::Timestamp;
use serde::Serialize;
use serde_json::json;

use super::status;
use crate::console::{with_store, DbArgs};
use crate::error::{CliError, Failure};
use crate::exit;
use crate::output::{self, Format, FormatArg, Report};

fn accounts(db: &DbArgs) -> Result<Vec<Account>, Failure> {
    let settings = db.settings()?;
    with_store(&settings, async |store| Ok(store.list_accounts().await?))
}

fn describe(account: &Account) -> String {
    format!("{} ({}, id {})", account.email, account.role, account.id)
}

/// `admin inactive`.
#[derive(Args)]
pub struct InactiveArgs {
    /// Days without a sign-in (for an account never signed in: since it was created).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=36_500))]
    inactive_days: u64,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// Lists active accounts idle for the given days; exit 1 when there is one.
pub fn inactive(args: InactiveArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let all = accounts(&args.db)?;
        let now = Timestamp::now();
        let cutoff = now.minus_secs(args.inactive_days * 86_400);
        let active = all.iter().filter(|a| a.is_active()).count();
        let stale: Vec<&Account> =
            all.iter().filter(|a| a.is_active() && a.last_login_at.unwrap_or(a.created_at) < cutoff).collect();
        let mut text = String::new();
        let rows: Vec<_> = stale
            .iter()
            .map(|a| {
                let since = a.last_login_at.unwrap_or(a.created_at);
                let days = now.secs_since(since) / 86_400;
                let last = match a.last_login_at {
                    Some(at) => format!("last sign-in {at}"),
                    None => format!("never signed in, created {}", a.created_at),
                };
                let _ = writeln!(text, "  {}: {last}, {days} days ago", describe(a));
                json!({
                    "id": a.id.0, "email": a.email, "role": a.role.code(), "last_login_at": a.last_login_at.map(|t| t.to_string()),
                    "created_at": a.created_at.to_string(), "idle_days": days,
                })
            })
            .collect();
        let text = if stale.is_empty() {
            format!("no active account has gone {} days without a sign-in ({active} active)", args.inactive_days)
        } else {
            format!(
                "{} of {active} active account(s) without a sign-in for {} days or more (disable them, or record why \
                 they stay):\n{}",
                stale.len(),
                args.inactive_days,
                text.trim_end()
            )
        };
        let json =
            json!({ "ok": stale.is_empty(), "inactive_days": args.inactive_days, "active": active, "inactive": rows });
        let status = if stale.is_empty() { exit::SUCCESS } else { exit::FAILED };
        Ok(Report::new(text, &json).with_status(status))
    })
}

/// `admin validate-2fa`.
#[derive(Args)]
pub struct TwoFactorArgs {
    /// Fail when any active account lacks TOTP, whatever its role (default: only accounts
    /// that hold or may elevate to the admin role count).
    #[arg(long)]
    require_all_admins: bool,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// Lists active accounts without an enrolled TOTP; exit 1 when one of those counts.
pub fn two_factor(args: TwoFactorArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let all = accounts(&args.db)?;
        let active: Vec<&Account> = all.iter().filter(|a| a.is_active()).collect();
        let missing: Vec<&Account> = active.iter().copied().filter(|a| !a.totp_enrolled).collect();
        let is_admin = |a: &Account| a.role == TokenRole::Admin || a.eligible_role == Some(TokenRole::Admin);
        let counts = |a: &Account| args.require_all_admins || is_admin(a);
        let failing = missing.iter().filter(|a| counts(a)).count();
        let mut text = String::new();
        for a in &missing {
            let _ = writeln!(text, "  {}{}", describe(a), if counts(a) { "" } else { " (not an admin: not counted)" });
        }
        let scope = if args.require_all_admins { "account" } else { "admin account" };
        let text = if missing.is_empty() {
            format!("every active account has TOTP ({} active)", active.len())
        } else {
            let verdict = if failing == 0 {
                format!("no active {scope} lacks it")
            } else {
                format!("FAIL: {failing} active {scope}(s) without TOTP: re-enrol or disable them")
            };
            format!("{} active account(s) without TOTP:\n{text}{verdict}", missing.len())
        };
        let json = json!({
            "ok": failing == 0,
            "require_all_admins": args.require_all_admins,
            "active": active.len(),
            "without_totp": missing.iter().map(|a| json!({
                "id": a.id.0, "email": a.email, "role": a.role.code(),
                "eligible_role": a.eligible_role.map(TokenRole::code), "counted": counts(a),
            })).collect::<Vec<_>>(),
        });
        let status = if failing == 0 { exit::SUCCESS } else { exit::FAILED };
        Ok(Report::new(text, &json).with_status(status))
    })
}

/// How `permission-review` writes its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReviewFormat {
    /// A header and one row per account; permissions joined with `;`.
    Csv,
    /// One JSON document: an array of rows.
    Json,
    /// For people.
    Text,
}

/// `admin permission-review`.
#[derive(Args)]
pub struct PermissionReviewArgs {
    /// The output format.
    #[arg(long, value_enum, default_value_t = ReviewFormat::Text)]
    output_format: ReviewFormat,
    #[command(flatten)]
    db: DbArgs,
}

/// One account in the review.
#[derive(Serialize)]
struct ReviewRow {
    id: i64,
    email: String,
    role: &'static str,
    eligible_role: Option<&'static str>,
    permissions: Vec<&'static str>,
    totp_enrolled: bool,
    oidc_linked: bool,
    status: &'static str,
    created_at: String,
    created_by: String,
    last_login_at: Option<String>,
}

/// The CSV columns, in order.
pub const REVIEW_COLUMNS: [&str; 11] = [
    "id",
    "email",
    "role",
    "eligible_role",
    "permissions",
    "totp_enrolled",
    "oidc_linked",
    "status",
    "created_at",
    "created_by",
    "last_login_at",
];

/// Prints every account with its role's permissions.
pub fn permission_review(args: PermissionReviewArgs) -> ExitCode {
    let format = if args.output_format == ReviewFormat::Json { Format::Json } else { Format::Text };
    output::run(format, None, || {
        let now = Timestamp::now();
        let rows: Vec<ReviewRow> = accounts(&args.db)?
            .iter()
            .map(|a| ReviewRow {
                id: a.id.0,
                email: a.email.clone(),
                role: a.role.code(),
                eligible_role: a.eligible_role.map(TokenRole::code),
                permissions: permissions(a.role).iter().map(|p| p.code()).collect(),
                totp_enrolled: a.totp_enrolled,
                oidc_linked: a.oidc.is_some(),
                status: status(a, now),
                created_at: a.created_at.to_string(),
                created_by: a.created_by.clone(),
                last_login_at: a.last_login_at.map(|t| t.to_string()),
            })
            .collect();
        Ok(match args.output_format {
            ReviewFormat::Csv => Report::text(csv(&rows)?),
            ReviewFormat::Json => Report::new("", &rows),
            ReviewFormat::Text => Report::text(text(&rows)),
        })
    })
}

fn csv(rows: &[ReviewRow]) -> Result<String, CliError> {
    let failed = |e: csv::Error| CliError::failed("csv", e.to_string());
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(REVIEW_COLUMNS).map_err(failed)?;
    for r in rows {
        out.write_record([
            r.id.to_string(),
            spreadsheet_safe(&r.email),
            r.role.to_owned(),
            r.eligible_role.unwrap_or_default().to_owned(),
            r.permissions.join(";"),
            r.totp_enrolled.to_string(),
            r.oidc_linked.to_string(),
            r.status.to_owned(),
            r.created_at.clone(),
            spreadsheet_safe(&r.created_by),
            r.last_login_at.clone().unwrap_or_default(),
        ])
        .map_err(failed)?;
    }
    let bytes = out.into_inner().map_err(|e| CliError::failed("csv", e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| CliError::failed("csv", e.to_string()))
}

fn text(rows: &[ReviewRow]) -> String {
    let mut out = format!("{} account(s):\n", rows.len());
    for r in rows {
        let eligible = r.eligible_role.map(|e| format!(", may elevate to {e}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {} [{}] {}{eligible}: {}; TOTP {}, single sign-on {}; created {} by {}; last sign-in {}",
            r.id,
            r.email,
            r.status,
            r.role,
            r.permissions.join(", "),
            if r.totp_enrolled { "yes" } else { "NO" },
            if r.oidc_linked { "linked" } else { "no" },
            r.created_at,
            r.created_by,
            r.last_login_at.as_deref().unwrap_or("never"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_that_a_spreadsheet_would_evaluate_is_quoted_and_others_are_not() {
        for formula in ["=1+1@x.test", "+1@x", "-2@x", "@x", "\tx"] {
            assert_eq!(spreadsheet_safe(formula), format!("'{formula}"));
        }
        assert_eq!(spreadsheet_safe("alice@example.test"), "alice@example.test");
        assert_eq!(spreadsheet_safe("cli:ops"), "cli:ops");
    }
}
