//! `pack build`: rules, reputation filters, YARA sources and the manifest.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_client::trust::keys::KeyObject;
use ferretwatch_pack_publisher::build::{DEFAULT_FP_RATE, DEFAULT_VALID_HOURS};
use ferretwatch_pack_publisher::publish::intel::write_delegation;
use ferretwatch_pack_publisher::sign::{check_mirrors, write_mirrors};
use ferretwatch_pack_publisher::{build, BuildOptions};
use ferretwatch_types::{PackVersion, Timestamp};

use crate::clock::parse_instant;
use crate::error::CliError;
use crate::input::read_input;
use crate::output::{self, FormatArg, Report};

/// Arguments of `pack build`.
#[derive(Args)]
pub struct BuildArgs {
    /// The pack version, YYYY.MM.DD.HH or YYYY.MM.DD.HH.N (UTC).
    #[arg(long)]
    version: PackVersion,
    /// rules.json to ship (default: the built-in rules). Its version is set to the pack's.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// The feeds directory that `intel fetch` wrote.
    #[arg(long, default_value = "intel")]
    feeds: PathBuf,
    /// A directory of YARA sources (*.yar, *.yara) to ship.
    #[arg(long)]
    yara: Option<PathBuf>,
    /// The output directory.
    #[arg(long, default_value = "dist")]
    out: PathBuf,
    /// The previous pack to compare feed sizes and versions with (default: --out).
    #[arg(long)]
    previous: Option<PathBuf>,
    /// Accept feeds that shrank by more than half since the previous pack.
    #[arg(long)]
    force: bool,
    /// Creation time, RFC 3339 UTC or Unix seconds (default: the start of the version's hour).
    #[arg(long, value_parser = parse_instant)]
    created: Option<Timestamp>,
    /// Hours until clients refuse the pack.
    #[arg(long, default_value_t = DEFAULT_VALID_HOURS)]
    valid_hours: u64,
    /// The oldest client version that can read the pack (default: this build's).
    #[arg(long)]
    min_client_version: Option<String>,
    /// False-positive target of the Bloom filters.
    #[arg(long, default_value_t = DEFAULT_FP_RATE)]
    fp_rate: f64,
    /// Delegate `intel/*` to this automated key's public file: it may then publish fresh
    /// filters (`intel publish`) without the publishers, and nothing else.
    #[arg(long)]
    delegate_intel: Option<PathBuf>,
    /// A mirror's base URL the signed targets list (repeatable, at most 8): clients may
    /// fetch the pack from each, all equal to the origin. https://, or http:// to a
    /// loopback host only.
    #[arg(long = "mirror", value_name = "URL")]
    mirrors: Vec<String>,
    #[command(flatten)]
    output: FormatArg,
}

/// Builds a pack; exit 3 when a feed shrank by more than half (rerun with --force).
pub fn run(args: BuildArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let mut options = BuildOptions::new(args.version, args.feeds, args.out);
        options.rules = args.rules;
        options.yara = args.yara;
        options.previous = args.previous;
        options.force = args.force;
        options.created = args.created;
        options.valid_hours = args.valid_hours;
        options.fp_rate = args.fp_rate;
        if let Some(min) = args.min_client_version {
            options.min_client_version = min;
        }
        let delegate = match &args.delegate_intel {
            Some(path) => Some(serde_json::from_slice::<KeyObject>(&read_input(path)?).map_err(|e| {
                CliError::input("bad_key", format!("{} is not a public key file: {e}", path.display()))
            })?),
            None => None,
        };
        check_mirrors(&args.mirrors)?;
        let out = options.out.clone();
        let summary = build(&options)?;
        write_delegation(&out, delegate.as_ref())?;
        write_mirrors(&out, &args.mirrors)?;
        for warning in &summary.warnings {
            output::warn(warning);
        }
        let m = &summary.manifest;
        let mut text = format!("pack {} → {}\n", m.version, summary.manifest_path.display());
        let _ = writeln!(text, "  created {}  expires {}  min client {}", m.created, m.expires, m.min_client_version);
        for file in &m.files {
            let detail = match (file.kind, &file.encoding, file.count) {
                (Some(kind), Some(encoding), Some(count)) => {
                    format!("  {} {encoding}, {count} indicators", kind.name())
                }
                _ => String::new(),
            };
            let _ = writeln!(text, "  {:<40} {:>10} bytes{detail}", file.name, file.size);
        }
        for a in &m.attribution {
            let state = if a.included { "included" } else { "EXPIRED, left out" };
            let _ = writeln!(
                text,
                "  feed {} ({}): {} indicators, fetched {}, {state}",
                a.feed, a.source, a.indicators, a.fetched_at
            );
        }
        for mirror in &args.mirrors {
            let _ = writeln!(text, "  mirror {mirror} (listed in targets.json when signed)");
        }
        Ok(Report::new(text, m))
    })
}
