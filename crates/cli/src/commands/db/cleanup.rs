//! `ferretwatch db cleanup`: deletes the console's expired state (sessions past their
//! expiry or idle longer than `console.idle_timeout_minutes`, as `admin
//! sessions-cleanup` does; pending OpenID Connect sign-ins; invitations never used). The
//! report API's
//! rate-limit state is not in the database (this process's memory, or Redis keys that
//! expire on their own), so there is none to clean; the result says so.

use clap::Args;
use ferretwatch_store::{Cleanup, Store};
use ferretwatch_types::Timestamp;
use serde_json::json;

use crate::console::{with_store, DbArgs};
use crate::error::{CliError, Failure};
use crate::output::{FormatArg, Report};

/// Where the rate-limit state lives, for the report.
pub const RATE_LIMIT_STATE: &str =
    "not in the database: kept in the server's memory, or in Redis with expiring keys (limits.redis)";

/// `db cleanup`.
#[derive(Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub output: FormatArg,
}

/// When a session is idle for too long, from the console's setting.
pub fn idle_cutoff(settings: &ferretwatch_server::Settings, now: Timestamp) -> Result<Timestamp, CliError> {
    let minutes = settings.console.idle_timeout_minutes;
    if minutes == 0 {
        return Err(CliError::input("invalid_config", "console.idle_timeout_minutes must be at least 1"));
    }
    Ok(now.minus_secs(u64::from(minutes) * 60))
}

/// Cleans up as of `now`: what expired, then the sessions idle since before `idle_cutoff`.
pub async fn clean(store: &dyn Store, now: Timestamp, idle_cutoff: Timestamp) -> Result<Cleanup, Failure> {
    let mut done = store.cleanup_expired(now).await?;
    // Past their end there are none left; this removes the idle ones (and counts them
    // with the sessions).
    done.sessions += store.delete_expired_sessions(now, idle_cutoff).await?;
    Ok(done)
}

/// The text of a cleanup.
pub fn text(done: &Cleanup) -> String {
    format!(
        "cleanup: {} expired or idle session(s), {} pending sign-in(s), {} unused invitation(s) deleted; \
         rate-limit state: {RATE_LIMIT_STATE}\n",
        done.sessions, done.oidc_pending, done.invitations
    )
}

/// The JSON of a cleanup.
pub fn to_json(done: &Cleanup) -> serde_json::Value {
    json!({
        "sessions": done.sessions,
        "oidc_pending": done.oidc_pending,
        "invitations": done.invitations,
        "rate_limit_state": RATE_LIMIT_STATE,
    })
}

pub fn run(args: &CleanupArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let now = Timestamp::now();
    let idle = idle_cutoff(&settings, now)?;
    let done = with_store(&settings, async |store| clean(store, now, idle).await)?;
    Ok(Report::new(text(&done), &to_json(&done)))
}
