//! `ferretwatch db indexes`: index health. PostgreSQL: every index of the application's
//! tables with its size and scans since the statistics were reset; invalid ones (a failed
//! concurrent build) need attention, unused ones (never scanned, enforcing nothing) are
//! candidates for dropping. SQLite: `PRAGMA quick_check` and the index list. Exit 1 when
//! an index is invalid or the check finds damage.

use clap::Args;
use ferretwatch_store::IndexReport;
use serde_json::json;

use crate::console::{with_store, DbArgs};
use crate::error::Failure;
use crate::exit;
use crate::output::{FormatArg, Report};

/// `db indexes`.
#[derive(Args)]
pub struct IndexesArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    pub output: FormatArg,
}

fn text(report: &IndexReport) -> String {
    let mut text = String::new();
    if let Some(check) = &report.integrity {
        text.push_str(&format!("integrity (quick_check): {check}\n"));
    }
    for i in &report.indexes {
        let size = i.size_bytes.map_or("-".to_owned(), |b| format!("{:.1} MB", b as f64 / 1e6));
        let scans = i.scans.map_or("-".to_owned(), |s| s.to_string());
        let mut notes = Vec::new();
        if !i.valid {
            notes.push("INVALID");
        }
        if i.scans == Some(0) && !i.unique {
            notes.push("unused");
        }
        text.push_str(&format!(
            "  {:<40} {:<22} {:>10} {:>10} scans  {}\n",
            i.name,
            i.table,
            size,
            scans,
            notes.join(" ")
        ));
    }
    text.push_str(&format!(
        "{} index(es), {} invalid, {} unused\n",
        report.indexes.len(),
        report.invalid().count(),
        report.unused().count()
    ));
    text
}

pub fn run(args: &IndexesArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let report = with_store(&settings, async |store| Ok(store.index_health().await?))?;
    let json = json!({
        "healthy": report.healthy(),
        "integrity": report.integrity,
        "invalid": report.invalid().map(|i| &i.name).collect::<Vec<_>>(),
        "unused": report.unused().map(|i| &i.name).collect::<Vec<_>>(),
        "indexes": report.indexes.iter().map(|i| json!({
            "table": i.table, "name": i.name, "size_bytes": i.size_bytes, "scans": i.scans,
            "valid": i.valid, "unique": i.unique,
        })).collect::<Vec<_>>(),
    });
    let status = if report.healthy() { exit::SUCCESS } else { exit::FAILED };
    Ok(Report::new(text(&report), &json).with_status(status))
}
