//! `ferretwatch db maintain`: what the daily timer runs
//! (`deploy/systemd/ferretwatch-db-maintenance.timer`): the cleanup, the retention run
//! with the settings' period and batch, then fresh planner statistics (PostgreSQL
//! `VACUUM (ANALYZE)` of the log and the aggregates; SQLite `ANALYZE` and
//! `PRAGMA optimize`). Each step's figures are in the result; the first failure stops it
//! with its exit status.

use clap::Args;
use ferretwatch_types::Timestamp;
use serde_json::json;

use crate::console::{with_store, DbArgs};
use crate::error::{CliError, Failure};
use crate::output::{FormatArg, Report};

use super::{cleanup, retention};

/// `db maintain`.
#[derive(Args)]
pub struct MaintainArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    pub output: FormatArg,
}

pub fn run(args: &MaintainArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let days = settings.lifecycle.retention_days;
    let size = settings.lifecycle.retention_batch;
    if days == 0 || size == 0 || size > ferretwatch_store::MAX_BATCH {
        return Err(
            CliError::input("invalid_argument", "lifecycle.retention_days or retention_batch is out of range").into()
        );
    }
    let now = Timestamp::now();
    let batch = retention::plan(days, size, now)?;
    let idle = cleanup::idle_cutoff(&settings, now)?;
    let (cleaned, retained, analyzed) = with_store(&settings, async |store| {
        let cleaned = cleanup::clean(store, now, idle).await?;
        let retained = retention::retain(store, &batch, days).await?;
        let analyzed = store.analyze().await?;
        Ok((cleaned, retained, analyzed))
    })?;
    let mut text = cleanup::text(&cleaned);
    text.push_str(&retention::text(&retained));
    text.push_str(&format!("analyze: {}", analyzed.statements.join("; ")));
    if let Some(free) = analyzed.free_pages {
        text.push_str(&format!(" ({free} free page(s) in the file, reused by new rows)"));
    }
    text.push('\n');
    let json = json!({
        "cleanup": cleanup::to_json(&cleaned),
        "retention": retained,
        "analyze": { "statements": analyzed.statements, "free_pages": analyzed.free_pages },
    });
    Ok(Report::new(text, &json))
}
