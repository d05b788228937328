//! `pack delta`: the daily intel delta clients apply instead of the full filters.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_client::dir::write_atomic;
use ferretwatch_pack_publisher::delta::{self, DeltaOptions, DEFAULT_MAX_FP_GROWTH};
use serde_json::json;

use crate::error::CliError;
use crate::input::pack_dir;
use crate::output::{self, FormatArg, Report};

/// `pack delta`.
#[derive(Args)]
pub struct DeltaArgs {
    /// The base pack (the one clients hold), or any file in it.
    #[arg(long)]
    pub from: PathBuf,
    /// The feeds directory the base pack was built from.
    #[arg(long)]
    pub base_feeds: PathBuf,
    /// The target pack (the new one), or any file in it.
    #[arg(long, default_value = "dist")]
    pub to: PathBuf,
    /// The feeds directory the target pack was built from.
    #[arg(long, default_value = "intel")]
    pub feeds: PathBuf,
    /// Where to write the delta (default: TO/deltas/BASE_VERSION.fwd, signed with the pack).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Refuse a Bloom patch once the target would raise the base filter's expected
    /// false-positive rate by more than this factor (clients then take the full pack).
    #[arg(long, default_value_t = DEFAULT_MAX_FP_GROWTH)]
    pub max_fp_growth: f64,
    #[command(flatten)]
    pub output: FormatArg,
}

/// Writes the delta from the base pack to the target pack: exit 0 when written, 1 when no
/// delta can be offered (clients take the full pack), 2 on bad input.
pub fn run(args: DeltaArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        if args.max_fp_growth.is_nan() || args.max_fp_growth < 1.0 {
            return Err(CliError::input("invalid_argument", "--max-fp-growth must be at least 1").into());
        }
        let (from, to) = (pack_dir(&args.from), pack_dir(&args.to));
        let options = DeltaOptions { max_fp_growth: args.max_fp_growth };
        let summary = delta::make(&from, &args.base_feeds, &to, &args.feeds, options)?;
        let d = &summary.delta;
        let out = args.out.clone().unwrap_or_else(|| delta::delta_path(&to, &d.base_version));
        let bytes = d.to_bytes();
        write(&out, &bytes)?;
        let changes: Vec<_> = summary
            .changes
            .iter()
            .map(|(kind, removed, added)| json!({ "kind": kind.name(), "removed": removed, "added": added }))
            .collect();
        let json = json!({
            "base_version": d.base_version.as_str(), "target_version": d.target_version.as_str(),
            "path": out.display().to_string(), "size": bytes.len(), "changes": changes,
        });
        let mut text =
            format!("delta {} → {}: {} bytes → {}", d.base_version, d.target_version, bytes.len(), out.display());
        for (kind, removed, added) in &summary.changes {
            text.push_str(&format!("\n  {:<5} -{removed} +{added}", kind.name()));
        }
        Ok(Report::new(text, &json))
    })
}

fn write(out: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let failed = |e: std::io::Error| CliError::input("io", format!("writing {}: {e}", out.display()));
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    write_atomic(out, bytes).map_err(failed)
}
