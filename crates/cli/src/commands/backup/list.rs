//! `backup list`: the finished backups at the destination, oldest first.

use clap::Args;
use ferretwatch_backup::select::manifest;
use serde_json::json;

use super::{block_on, destination, SettingsArgs};
use crate::error::Failure;
use crate::output::{FormatArg, Report};

/// `backup list`.
#[derive(Args)]
pub struct ListArgs {
    /// The destination (file:///DIR, a directory, s3://…); default `[backup] destination`.
    #[arg(long, visible_alias = "to")]
    from: Option<String>,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    pub(super) output: FormatArg,
}

/// Runs `backup list`.
pub fn run(args: &ListArgs) -> Result<Report, Failure> {
    let settings = args.settings.settings(None)?;
    let dest = destination(args.from.as_deref(), &settings)?;
    let manifests = block_on(async {
        let mut all = Vec::new();
        for id in dest.ids().await? {
            all.push(manifest(&dest, &id).await?);
        }
        Ok(all)
    })?;
    let mut text = format!("{} backup(s) at {}", manifests.len(), dest.url());
    let mut rows = Vec::new();
    for m in &manifests {
        let kinds: Vec<&str> = m.kinds.iter().map(|k| k.name()).collect();
        let rows_total: Option<i64> = m.database.as_ref().map(|d| d.tables.values().map(|t| t.rows).sum());
        text.push_str(&format!(
            "\n{}  {}  {:<22} {:>12} bytes{}{}",
            m.id,
            m.created(),
            kinds.join(","),
            m.size(),
            rows_total.map(|r| format!("  {r} rows")).unwrap_or_default(),
            if m.encrypted_to.is_some() { "  encrypted" } else { "" }
        ));
        rows.push(json!({
            "id": m.id, "created_at": m.created_at, "kinds": kinds, "objects": m.objects.len(),
            "bytes": m.size(), "rows": rows_total, "encrypted_to": m.encrypted_to,
            "identity": m.database.as_ref().map(|d| &d.identity),
        }));
    }
    Ok(Report::new(text, &json!({ "destination": dest.url(), "backups": rows })))
}
