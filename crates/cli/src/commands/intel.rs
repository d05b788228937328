//! `ferretwatch intel …`: fetch threat feeds into normalised feed files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferretwatch_pack::fetch::DEFAULT_MAX_BYTES;
use ferretwatch_pack::{fetch, FetchError, FetchOutcome, FetchRequest, FetchStatus, Source, Timestamp};

use super::scan::Format;

/// Threat-intelligence commands.
#[derive(Subcommand)]
pub enum IntelCommand {
    /// Fetch one feed (URL or file), normalise it and write DIR/NAME.feed.
    Fetch(FetchArgs),
    /// Fetch every public feed (URLhaus, PhishTank, Feodo Tracker) from its default endpoint.
    Update(UpdateArgs),
}

/// Arguments of `intel fetch`.
#[derive(Args)]
pub struct FetchArgs {
    /// The feed's format and provider.
    #[arg(long, value_parser = parse_source)]
    source: Source,
    /// An http(s) URL, a file:// URL or a path.
    #[arg(long)]
    from: String,
    #[command(flatten)]
    common: CommonArgs,
    /// The feed's name, used as its file name (default: the source).
    #[arg(long)]
    name: Option<String>,
    /// Keep URL query strings in the keys (default: per source).
    #[arg(long, conflicts_with = "drop_query")]
    keep_query: bool,
    /// Drop URL query strings from the keys (default: per source).
    #[arg(long)]
    drop_query: bool,
    /// Hours indicators stay valid (default: 72 for URLhaus and Feodo, 168 otherwise).
    #[arg(long)]
    ttl_hours: Option<u64>,
    /// Confidence in per mille (default: per source).
    #[arg(long, value_parser = clap::value_parser!(u16).range(0..=1000))]
    confidence: Option<u16>,
    /// License and attribution line for the manifest (default: per source).
    #[arg(long)]
    license: Option<String>,
}

/// Arguments of `intel update`.
#[derive(Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Fetch only these sources (repeatable).
    #[arg(long = "only", value_parser = parse_source)]
    only: Vec<Source>,
    /// Another URLhaus endpoint.
    #[arg(long)]
    urlhaus_url: Option<String>,
    /// Another PhishTank endpoint (for example one with your application key).
    #[arg(long)]
    phishtank_url: Option<String>,
    /// Another Feodo Tracker endpoint.
    #[arg(long)]
    feodo_url: Option<String>,
}

/// Options both fetch commands take.
#[derive(Args)]
struct CommonArgs {
    /// The feeds directory.
    #[arg(long, default_value = "intel")]
    out: PathBuf,
    /// The largest document accepted, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_BYTES)]
    max_bytes: u64,
    /// HTTP timeout for one feed, in seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn parse_source(text: &str) -> Result<Source, String> {
    text.parse()
}

/// Runs an intel command.
pub fn run(command: IntelCommand) -> ExitCode {
    match command {
        IntelCommand::Fetch(args) => {
            let format = args.common.format;
            let request = fetch_request(&args);
            match fetch(&request) {
                Ok(outcome) => {
                    report(&outcome, format);
                    ExitCode::SUCCESS
                }
                Err(e) => failed(request.source, &e, format),
            }
        }
        IntelCommand::Update(args) => update(&args),
    }
}

fn fetch_request(args: &FetchArgs) -> FetchRequest {
    let mut request = FetchRequest::new(args.source, args.from.clone(), args.common.out.clone(), Timestamp::now());
    request.name = args.name.clone();
    request.keep_query = if args.keep_query {
        Some(true)
    } else if args.drop_query {
        Some(false)
    } else {
        None
    };
    request.ttl_hours = args.ttl_hours;
    request.confidence = args.confidence;
    request.license = args.license.clone();
    request.max_bytes = args.common.max_bytes;
    request.timeout = std::time::Duration::from_secs(args.common.timeout_secs);
    request
}

fn update(args: &UpdateArgs) -> ExitCode {
    let mut failures = 0;
    for source in [Source::Urlhaus, Source::Phishtank, Source::Feodo] {
        if !args.only.is_empty() && !args.only.contains(&source) {
            continue;
        }
        let custom = match source {
            Source::Urlhaus => &args.urlhaus_url,
            Source::Phishtank => &args.phishtank_url,
            _ => &args.feodo_url,
        };
        let Some(url) = custom.as_deref().or(source.profile().default_url) else { continue };
        let mut request = FetchRequest::new(source, url, args.common.out.clone(), Timestamp::now());
        request.max_bytes = args.common.max_bytes;
        request.timeout = std::time::Duration::from_secs(args.common.timeout_secs);
        match fetch(&request) {
            Ok(outcome) => report(&outcome, args.common.format),
            Err(e) => {
                // One feed's outage must not stop the others; the previous feed file stays.
                failed(source, &e, args.common.format);
                failures += 1;
            }
        }
    }
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn report(outcome: &FetchOutcome, format: Format) {
    let h = &outcome.header;
    if format == Format::Json {
        let line = serde_json::json!({
            "status": outcome.status,
            "path": outcome.path,
            "feed": h,
        });
        println!("{line}");
        return;
    }
    let status = match outcome.status {
        FetchStatus::Fetched => "fetched",
        FetchStatus::NotModified => "not modified (304), previous indicators kept",
    };
    println!("{}: {status} from {} → {}", h.name, h.origin, outcome.path.display());
    let r = &h.report;
    println!(
        "  {} rows: {} accepted, {} skipped by policy, {} bad; {} distinct indicators; expires {}",
        r.rows, r.accepted, r.skipped, r.bad, h.indicators, h.expires
    );
    for sample in &r.samples {
        println!("  bad row at line {}: {}", sample.line, sample.reason);
    }
    if r.bad > r.samples.len() as u64 {
        println!("  … and {} more bad rows", r.bad - r.samples.len() as u64);
    }
}

fn failed(source: Source, error: &FetchError, format: Format) -> ExitCode {
    super::fail(error.code(), format!("{source} feed: {error}"), format == Format::Json)
}
