//! `ferretwatch db cleanup`: deletes the console's expired state (sessions past their
//! expiry, pending OpenID Connect sign-ins, invitations never used). The report API's
//! rate-limit state is not in the database (this process's memory, or Redis keys that
//! expire on their own), so there is none to clean; the result says so.

use clap::Args;
use ferretwatch_store::{Cleanup, Store};
use ferretwatch_types::Timestamp;
use serde_json::json;

use crate::console::{with_store, DbArgs};
use crate::error::Failure;
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

/// Cleans up as of now.
pub async fn clean(store: &dyn Store) -> Result<Cleanup, Failure> {
    Ok(store.cleanup_expired(Timestamp::now()).await?)
}

/// The text of a cleanup.
pub fn text(done: &Cleanup) -> String {
    format!(
        "cleanup: {} expired session(s), {} pending sign-in(s), {} unused invitation(s) deleted; \
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
    let done = with_store(&settings, async |store| clean(store).await)?;
    Ok(Report::new(text(&done), &to_json(&done)))
}
