//! `ferretwatch db slow-queries [--min-ms 100]`: the ten statements with the highest mean
//! execution time above the threshold, from PostgreSQL's `pg_stat_statements`. Exit 0
//! when none is that slow; 1 when some are, or when there are no statistics to tell
//! (the extension not loaded, or SQLite): that is reported as unavailable, with the
//! reason, never as a pass.

use clap::Args;
use ferretwatch_store::SlowQueries;
use serde_json::json;

use crate::console::{with_store, DbArgs};
use crate::error::Failure;
use crate::exit;
use crate::output::{FormatArg, Report};

/// Statements listed at most.
pub const TOP: u32 = 10;

/// `db slow-queries`.
#[derive(Args)]
pub struct SlowQueriesArgs {
    /// The mean execution time above which a statement is listed, in milliseconds.
    #[arg(long, default_value_t = 100)]
    min_ms: u32,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    pub output: FormatArg,
}

pub fn run(args: &SlowQueriesArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let found = with_store(&settings, async |store| Ok(store.slow_queries(f64::from(args.min_ms), TOP).await?))?;
    Ok(match found {
        SlowQueries::Unavailable { reason } => Report::new(
            format!("slow queries: UNAVAILABLE: {reason}\n"),
            &json!({ "available": false, "reason": reason, "min_ms": args.min_ms, "queries": [] }),
        )
        .with_status(exit::FAILED),
        SlowQueries::Available(queries) => {
            let mut text = format!("slow queries (mean above {} ms): {}\n", args.min_ms, queries.len());
            for q in &queries {
                let one_line: String = q.query.split_whitespace().collect::<Vec<_>>().join(" ");
                let shown: String = one_line.chars().take(160).collect();
                text.push_str(&format!(
                    "  {:>10.1} ms mean  {:>8} calls  {:>12.0} ms total  {shown}\n",
                    q.mean_ms, q.calls, q.total_ms
                ));
            }
            let json = json!({
                "available": true,
                "min_ms": args.min_ms,
                "queries": queries.iter().map(|q| json!({
                    "query": q.query, "calls": q.calls, "mean_ms": q.mean_ms, "total_ms": q.total_ms,
                })).collect::<Vec<_>>(),
            });
            let status = if queries.is_empty() { exit::SUCCESS } else { exit::FAILED };
            Report::new(text, &json).with_status(status)
        }
    })
}
