//! `ferretwatch intel …`: fetch threat feeds into normalised feed files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferretwatch_pack_client::manifest::FeedSource;
use ferretwatch_pack_publisher::feeds::SourceExt;
use ferretwatch_pack_publisher::fetch::DEFAULT_MAX_BYTES;
use ferretwatch_pack_publisher::{fetch, FetchError, FetchOutcome, FetchRequest, FetchStatus};
use ferretwatch_types::Timestamp;
use serde_json::json;

use crate::clock;
use crate::error::CliError;
use crate::input::{read_keys, read_root};
use crate::output::{self, FormatArg, Report};
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::intel::IntelPublish;
use ferretwatch_pack_publisher::publish::{publish_intel, DEFAULT_INTEL_TTL_SECS};

/// Threat-intelligence commands.
#[derive(Subcommand)]
pub enum IntelCommand {
    /// Fetch one feed (URL or file), normalise it and write DIR/NAME.feed.
    Fetch(FetchArgs),
    /// Fetch every public feed (URLhaus, PhishTank, Feodo Tracker) from its default endpoint.
    Update(UpdateArgs),
    /// Publish fresh filters from the feeds as the delegated intel role: signed by the
    /// automated intel key, with a new snapshot and timestamp from the online key; no
    /// publisher signature needed.
    Publish(PublishArgs),
}

/// Arguments of `intel publish`.
#[derive(Args)]
pub struct PublishArgs {
    /// The feeds directory (`*.feed`).
    #[arg(long, default_value = "intel")]
    feeds: PathBuf,
    /// The origin: file:///DIR, a directory, or s3://BUCKET[/PREFIX].
    #[arg(long, env = "FERRETWATCH_ORIGIN")]
    to: String,
    /// The root of trust.
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    root: PathBuf,
    /// The intel role's private key (the pack delegates `intel/*` to it).
    #[arg(long, env = "FERRETWATCH_INTEL_KEY")]
    intel_key: PathBuf,
    #[command(flatten)]
    online: crate::commands::pack::OnlineArgs,
    /// Seconds the published intel stays valid.
    #[arg(long, default_value_t = DEFAULT_INTEL_TTL_SECS)]
    intel_ttl: u64,
    #[command(flatten)]
    output: FormatArg,
}

/// Arguments of `intel fetch`.
#[derive(Args)]
pub struct FetchArgs {
    /// The feed's format and provider.
    #[arg(long)]
    source: FeedSource,
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
    #[arg(long = "only")]
    only: Vec<FeedSource>,
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
    /// The fetch time written into the feed, RFC 3339 UTC or Unix seconds (default: now).
    #[arg(long, value_parser = clock::parse_instant)]
    now: Option<Timestamp>,
    #[command(flatten)]
    output: FormatArg,
}

impl CommonArgs {
    fn request(&self, source: FeedSource, from: &str) -> FetchRequest {
        let mut request = FetchRequest::new(source, from, self.out.clone(), clock::now(self.now));
        request.max_bytes = self.max_bytes;
        request.timeout = std::time::Duration::from_secs(self.timeout_secs);
        request
    }
}

/// Runs an intel command.
pub fn run(command: IntelCommand) -> ExitCode {
    match command {
        IntelCommand::Fetch(args) => {
            let format = args.common.output.format;
            let request = fetch_request(&args);
            output::run(format, None, || Ok(report(&fetch(&request).map_err(|e| in_feed(request.source, e))?)))
        }
        IntelCommand::Update(args) => update(&args),
        IntelCommand::Publish(args) => publish(&args),
    }
}

fn publish(args: &PublishArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let online = args.online.load()?.ok_or_else(|| {
            CliError::input("invalid_argument", "--online-key (or FERRETWATCH_ONLINE_KEY) is required")
        })?;
        if !(3600..=14 * 86_400).contains(&args.intel_ttl) {
            return Err(CliError::input("invalid_argument", "--intel-ttl must be between 3600 and 1209600").into());
        }
        let intel_key = read_keys(std::slice::from_ref(&args.intel_key))?.remove(0);
        let root = read_root(&args.root)?;
        let origin = Origin::open(&args.to)?;
        let work = tempfile_dir()?;
        let request =
            IntelPublish { feeds: &args.feeds, ttl_secs: args.intel_ttl, now: clock::now(None), work: work.path() };
        let report = publish_intel(&origin, &root, &intel_key, &online, &request)?;
        let filters: Vec<String> = report.filters.iter().map(|(name, count)| format!("{name} ({count})")).collect();
        Ok(Report::new(
            format!(
                "intel {} published to {} as role version {}: {}; timestamp.json last",
                report.version,
                origin.url(),
                report.role_version,
                filters.join(", ")
            ),
            &json!({
                "version": report.version.as_str(),
                "role_version": report.role_version,
                "filters": report.filters.iter().map(|(n, c)| json!({"name": n, "count": c})).collect::<Vec<_>>(),
                "uploaded": report.uploaded,
            }),
        ))
    })
}

/// A scratch directory removed when dropped.
fn tempfile_dir() -> Result<ScratchDir, CliError> {
    let path =
        std::env::temp_dir().join(format!("ferretwatch-intel-{}-{}", std::process::id(), Timestamp::now().as_millis()));
    std::fs::create_dir_all(&path).map_err(|e| CliError::failed("io", format!("{}: {e}", path.display())))?;
    Ok(ScratchDir(path))
}

struct ScratchDir(PathBuf);

impl ScratchDir {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fetch_request(args: &FetchArgs) -> FetchRequest {
    let mut request = args.common.request(args.source, &args.from);
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
    request
}

fn update(args: &UpdateArgs) -> ExitCode {
    let format = args.common.output.format;
    let mut status = ExitCode::SUCCESS;
    for source in [FeedSource::Urlhaus, FeedSource::Phishtank, FeedSource::Feodo] {
        if !args.only.is_empty() && !args.only.contains(&source) {
            continue;
        }
        let custom = match source {
            FeedSource::Urlhaus => &args.urlhaus_url,
            FeedSource::Phishtank => &args.phishtank_url,
            _ => &args.feodo_url,
        };
        let Some(url) = custom.as_deref().or(source.profile().default_url) else { continue };
        let request = args.common.request(source, url);
        // One feed's outage must not stop the others; the previous feed file stays.
        match fetch(&request) {
            Ok(outcome) => {
                output::emit(format, &report(&outcome));
            }
            Err(e) => {
                output::fail(format, None, &in_feed(source, e));
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}

/// The error, naming the feed it concerns.
fn in_feed(source: FeedSource, error: FetchError) -> crate::error::CliError {
    use ferretwatch_types::{Coded, Fault};
    let message = format!("{source} feed: {error}");
    match error.fault() {
        Fault::Input => crate::error::CliError::input(error.code(), message),
        Fault::Operation => crate::error::CliError::failed(error.code(), message),
    }
}

fn report(outcome: &FetchOutcome) -> Report {
    let h = &outcome.header;
    let json = json!({ "status": outcome.status, "path": outcome.path, "feed": h });
    let status = match outcome.status {
        FetchStatus::Fetched => "fetched",
        FetchStatus::NotModified => "not modified (304), previous indicators kept",
    };
    let r = &h.report;
    let mut text = format!(
        "{}: {status} from {} → {}\n  {} rows: {} accepted, {} skipped by policy, {} bad; {} distinct indicators; expires {}",
        h.name,
        h.origin,
        outcome.path.display(),
        r.rows,
        r.accepted,
        r.skipped,
        r.bad,
        h.indicators,
        h.expires
    );
    for sample in &r.samples {
        text.push_str(&format!("\n  bad row at line {}: {}", sample.line, sample.reason));
    }
    if r.bad > r.samples.len() as u64 {
        text.push_str(&format!("\n  … and {} more bad rows", r.bad - r.samples.len() as u64));
    }
    Report::new(text, &json)
}
