//! `ferretwatch db forget --url URL | --install-token-id ID [--reason R]`: deletes every
//! report of a URL (and redacts the URL in its moderation entry), or an install's reports
//! received up to now, and records a keyed tombstone in the same transaction. A forgotten
//! URL is refused from then on (410 at the report API).

use clap::Args;
use ferretwatch_store::{ForgetTarget, InstallTokenId, ReportUrl};
use ferretwatch_types::Timestamp;
use serde_json::json;

use crate::console::{with_store, DbArgs};
use crate::error::{CliError, Failure};
use crate::output::{FormatArg, Report};

/// `db forget`.
#[derive(Args)]
#[group(required = true, multiple = false, id = "subject")]
pub struct ForgetArgs {
    /// The URL whose reports to delete (normalised as the report API does).
    #[arg(long, group = "subject")]
    url: Option<String>,
    /// The install token id (its first 32 hex digits) whose reports to delete.
    #[arg(long, group = "subject")]
    install_token_id: Option<String>,
    /// Why, recorded with the tombstone (1 to 200 characters; never the URL itself).
    #[arg(long, default_value = "operator request")]
    reason: String,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    pub output: FormatArg,
}

pub fn run(args: &ForgetArgs) -> Result<Report, Failure> {
    let bad = |e: ferretwatch_store::ValidationError| CliError::input("invalid_argument", e.to_string());
    let target = match (&args.url, &args.install_token_id) {
        (Some(url), None) => ForgetTarget::Url(ReportUrl::parse(url).map_err(bad)?.hash()),
        // The service issues install token ids in lower case; one copied in upper case is
        // the same install.
        (None, Some(id)) => ForgetTarget::Install(InstallTokenId::parse(&id.to_ascii_lowercase()).map_err(bad)?),
        _ => return Err(CliError::input("invalid_argument", "give --url or --install-token-id").into()),
    };
    let settings = args.db.settings()?;
    let key = super::tombstone_key(&settings, true)?;
    let done =
        with_store(&settings, async |store| Ok(store.forget(&key, &target, &args.reason, Timestamp::now()).await?))?;
    // With backups configured, the deletion ledger beside them learns it now, not at the
    // next backup: a restore of any earlier backup re-applies it.
    let ledger = match &settings.backup.destination {
        Some(_) => {
            let dest = crate::commands::backup::destination(None, &settings)?;
            Some(crate::commands::backup::ledger::update(&dest, &settings)?)
        }
        None => None,
    };
    let what = match target {
        ForgetTarget::Url(_) => "the URL",
        ForgetTarget::Install(_) => "the install",
    };
    let mut text = format!(
        "forgot {what}: {} report(s) deleted{}; tombstone {} ({}, {})\n",
        done.reports_deleted,
        if done.moderation_redacted { ", its moderation entry's URL redacted" } else { "" },
        done.tombstone.keyed_hash.to_hex(),
        done.tombstone.subject.code(),
        if done.new { "new" } else { "already recorded" },
    );
    if let Some(n) = ledger {
        text.push_str(&format!("the deletion ledger beside the backups holds {n} tombstone(s)\n"));
    }
    Ok(Report::new(
        text,
        &json!({
            "ledger": ledger,
            "subject": done.tombstone.subject.code(),
            "hash": done.tombstone.keyed_hash.to_hex(),
            "created_at": done.tombstone.created_at,
            "new": done.new,
            "reports_deleted": done.reports_deleted,
            "moderation_redacted": done.moderation_redacted,
        }),
    ))
}
