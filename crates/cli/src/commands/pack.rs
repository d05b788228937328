//! `ferretwatch pack …`: build, sign and verify packs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferretwatch_pack::build::{DEFAULT_FP_RATE, DEFAULT_VALID_HOURS};
use ferretwatch_pack::{build, BuildError, BuildOptions, PackVersion, Timestamp};

use super::scan::Format;

/// Exit status when a feed shrank by more than half (rerun with --force to accept).
pub const EXIT_FEED_SHRUNK: u8 = 3;

/// Pack commands.
#[derive(Subcommand)]
pub enum PackCommand {
    /// Build a pack: rules, reputation filters, YARA sources and manifest.json.
    Build(Box<BuildArgs>),
    /// Add this publisher's signature (two publishers sign in turn; see docs/formats/signing.md).
    Sign(super::signing::SignArgs),
    /// Verify a pack as a client does; the exit status names the refusal (40–49).
    Verify(super::signing::VerifyArgs),
    /// Check a built pack: schema, hashes, sizes, rules, YARA, filters (exit 1 lists every problem).
    Validate(super::check::ValidateArgs),
    /// Scan the corpus with a pack: detection and false-positive rates, per family, against the previous pack.
    Test(super::check::TestArgs),
    /// Write the intel delta from a base pack to a newer one (clients patch their filters with it).
    Delta(super::check::DeltaArgs),
    /// Verify a signed pack, then upload it to the origin: files first, timestamp.json last, history kept.
    Deploy(super::publish::DeployArgs),
    /// Republish a deployed version's content under a new, higher version.
    Rollback(super::publish::RollbackArgs),
    /// Build, sign and deploy the current pack plus one YARA rule in one step.
    Emergency(super::publish::EmergencyArgs),
}

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
    /// Creation time, YYYY-MM-DDTHH:MM:SSZ (default: the start of the version's hour).
    #[arg(long, value_parser = parse_time)]
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
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text).map_err(|e| e.to_string())
}

/// Runs a pack command.
pub fn run(command: PackCommand) -> ExitCode {
    match command {
        PackCommand::Build(args) => run_build(*args),
        PackCommand::Sign(args) => super::signing::run_sign(args),
        PackCommand::Verify(args) => super::signing::run_verify(args),
        PackCommand::Validate(args) => super::check::run_validate(args),
        PackCommand::Test(args) => super::check::run_test(args),
        PackCommand::Delta(args) => super::check::run_delta(args),
        PackCommand::Deploy(args) => super::publish::run_deploy(args),
        PackCommand::Rollback(args) => super::publish::run_rollback(args),
        PackCommand::Emergency(args) => super::publish::run_emergency(args),
    }
}

fn run_build(args: BuildArgs) -> ExitCode {
    let json = args.format == Format::Json;
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
    let summary = match build(&options) {
        Ok(summary) => summary,
        Err(e) => {
            let status = super::fail(e.code(), &e, json);
            return match e {
                BuildError::Shrunk(_) => ExitCode::from(EXIT_FEED_SHRUNK),
                _ => status,
            };
        }
    };
    for warning in &summary.warnings {
        eprintln!("ferretwatch: warning: {warning}");
    }
    let m = &summary.manifest;
    if json {
        println!("{}", String::from_utf8_lossy(&m.to_json()).trim_end());
        return ExitCode::SUCCESS;
    }
    println!("pack {} → {}", m.version, summary.manifest_path.display());
    println!("  created {}  expires {}  min client {}", m.created, m.expires, m.min_client_version);
    for file in &m.files {
        let detail = match (file.kind, &file.encoding, file.count) {
            (Some(kind), Some(encoding), Some(count)) => format!("  {} {encoding}, {count} indicators", kind.name()),
            _ => String::new(),
        };
        println!("  {:<40} {:>10} bytes{detail}", file.name, file.size);
    }
    for a in &m.attribution {
        let state = if a.included { "included" } else { "EXPIRED, left out" };
        println!("  feed {} ({}): {} indicators, fetched {}, {state}", a.feed, a.source, a.indicators, a.fetched_at);
    }
    ExitCode::SUCCESS
}
