//! `ferretwatch db connections`: the database's connections by state. PostgreSQL: this
//! database's rows of `pg_stat_activity` grouped by state (`active`, `idle`,
//! `idle in transaction`, …); many `idle in transaction` ones hold locks and hold back
//! vacuum. SQLite: this command's own pool (the server's connections are in its
//! `ferretwatch_db_pool_connections` metric).

use clap::Args;
use serde_json::json;

use crate::console::{with_store, DbArgs};
use crate::error::Failure;
use crate::output::{FormatArg, Report};

/// `db connections`.
#[derive(Args)]
pub struct ConnectionsArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    pub output: FormatArg,
}

pub fn run(args: &ConnectionsArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let (backend, states) =
        with_store(&settings, async |store| Ok((store.backend().name(), store.connection_states().await?)))?;
    let mut text = format!("connections ({backend}):\n");
    for s in &states {
        text.push_str(&format!("  {:<28} {}\n", s.state, s.connections));
    }
    let json = json!({
        "backend": backend,
        "states": states.iter().map(|s| json!({ "state": s.state, "connections": s.connections })).collect::<Vec<_>>(),
    });
    Ok(Report::new(text, &json))
}
