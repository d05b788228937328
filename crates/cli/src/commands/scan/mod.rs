//! `ferretwatch scan`: one page, or a batch of URLs, and the verdict explained.

mod batch;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use ferretwatch_detect::{Engine, LocalState, Page, Resource, Rules, ScanOptions, Thresholds, DEFAULT_YARA};
use ferretwatch_pack_client::dir;
use ferretwatch_pack_client::load::{load, YaraLimit};
use ferretwatch_types::Timestamp;

pub use render::render_text;

use crate::clock::{self, parse_instant};
use crate::error::{CliError, Failure};
use crate::exit;
use crate::input::{pack_source, read_input, read_root, read_text};
use crate::output::{self, Format, FormatArg, Report};

/// Arguments of `ferretwatch scan`.
#[derive(Args)]
#[command(group = clap::ArgGroup::new("input").required(true).args(["url", "batch"]))]
pub struct ScanArgs {
    /// The page URL.
    #[arg(long)]
    url: Option<String>,
    /// The page's HTML source (`-` for standard input).
    #[arg(long, requires = "url")]
    html: Option<PathBuf>,
    /// A file with one URL per line, or JSON lines {"url": …, "html": …} (`-` for standard input).
    #[arg(long, conflicts_with_all = ["url", "html", "format"])]
    batch: Option<PathBuf>,
    /// rules.json to use instead of the built-in rules.
    #[arg(long, conflicts_with = "pack")]
    rules: Option<PathBuf>,
    /// Scan with a signed pack (directory or origin URL): its rules, filters and YARA
    /// rules, after verifying it against --root like a client does.
    #[arg(long, conflicts_with = "yara")]
    pack: Option<String>,
    /// The root of trust that --pack is verified against.
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json", requires = "pack")]
    root: PathBuf,
    /// A state directory for --pack, as `pack verify --state` keeps it: the versions seen
    /// (an older pack is refused as a rollback) and the root rotations followed.
    #[arg(long, requires = "pack")]
    state: Option<PathBuf>,
    /// Scan with the pack a client installed with `ferretwatch update --dir DIR` (verified
    /// when it was installed; delta-patched filters are accepted by their signed hashes).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["rules", "pack", "yara"])]
    client: Option<PathBuf>,
    #[command(flatten)]
    output: FormatArg,
    /// The page's favicon (ICO, PNG, GIF, JPEG or BMP).
    #[arg(long, requires = "url")]
    favicon: Option<PathBuf>,
    /// JSON array of resources the page loaded: [{"kind": "image", "url": "…"}].
    #[arg(long, requires = "url")]
    resources: Option<PathBuf>,
    /// When this browser first saw the domain, RFC 3339 UTC or Unix seconds (with --now;
    /// omit for "never").
    #[arg(long, requires = "now", value_parser = parse_instant)]
    first_seen: Option<Timestamp>,
    /// The time now, RFC 3339 UTC or Unix seconds; enables the new-domain signal (and is
    /// the clock --pack is verified at).
    #[arg(long, value_parser = parse_instant)]
    now: Option<Timestamp>,
    /// A domain the user trusts (repeatable); suppresses warnings unless a severe signal fires.
    #[arg(long = "allow", value_name = "DOMAIN")]
    allow: Vec<String>,
    /// Override the yellow threshold.
    #[arg(long, requires = "red")]
    yellow: Option<u8>,
    /// Override the red threshold.
    #[arg(long, requires = "yellow")]
    red: Option<u8>,
    /// Extra YARA rule file (repeatable).
    #[arg(long = "yara", value_name = "FILE")]
    yara: Vec<PathBuf>,
    /// Leave out the built-in YARA rules.
    #[arg(long)]
    no_builtin_yara: bool,
    /// Hard time limit of the YARA scan, in milliseconds.
    #[arg(long, default_value_t = 200)]
    yara_timeout_ms: u64,
}

/// Runs `scan`.
pub fn run(args: ScanArgs) -> ExitCode {
    let format = args.output.format;
    let prepared = build_engine(&args).and_then(|engine| Ok((engine, scan_options(&args)?)));
    let (engine, options) = match prepared {
        Ok(prepared) => prepared,
        Err(Failure(e)) => return output::fail(format, args.pack.as_deref(), e.as_ref()),
    };
    if let Some(batch) = &args.batch {
        return batch::run(&engine, &options, batch);
    }
    output::run(format, None, || {
        let url = args.url.as_deref().unwrap_or_default();
        let html = args.html.as_deref().map(read_text).transpose()?;
        let favicon = args.favicon.as_deref().map(read_input).transpose()?;
        let resources: Vec<Resource> = match args.resources.as_deref() {
            Some(path) => serde_json::from_str(&read_text(path)?)
                .map_err(|e| CliError::input("bad_resources", format!("{}: {e}", path.display())))?,
            None => Vec::new(),
        };
        let state =
            args.now.map(|now| LocalState { first_seen: args.first_seen.map(Timestamp::as_secs), now: now.as_secs() });
        let page = Page { url, html: html.as_deref(), resources: &resources, favicon: favicon.as_deref(), state };
        let verdict = engine.scan(&page, &options)?;
        let text = if format == Format::Text { render_text(url, &verdict) } else { String::new() };
        let report = Report::new(text, &verdict);
        Ok(report.with_status(exit::level(verdict.level)))
    })
}

fn scan_options(args: &ScanArgs) -> Result<ScanOptions, Failure> {
    let mut options = ScanOptions { user_allowlist: args.allow.clone(), ..ScanOptions::default() };
    if let (Some(yellow), Some(red)) = (args.yellow, args.red) {
        let thresholds = Thresholds { yellow, red };
        thresholds.validate().map_err(|e| CliError::input("bad_thresholds", e.to_string()))?;
        options.thresholds = Some(thresholds);
    }
    Ok(options)
}

/// Builds the engine from the rules and YARA options, or from a verified pack.
fn build_engine(args: &ScanArgs) -> Result<Engine, Failure> {
    if let Some(pack) = &args.pack {
        return pack_engine(args, pack);
    }
    if let Some(dir) = &args.client {
        return client_engine(args, dir);
    }
    let rules = match &args.rules {
        Some(path) => crate::commands::rules::load_rules(path)?,
        None => Rules::builtin(),
    };
    let engine = Engine::new(rules)?;
    let mut sources: Vec<(String, String)> = Vec::new();
    if !args.no_builtin_yara {
        sources.push(("builtin.yar".into(), DEFAULT_YARA.into()));
    }
    for path in &args.yara {
        sources.push((path.display().to_string(), read_text(path)?));
    }
    if sources.is_empty() {
        return Ok(engine);
    }
    let timeout = Duration::from_millis(args.yara_timeout_ms);
    Ok(engine.with_yara(sources.iter().map(|(n, s)| (n.as_str(), s.as_str())), timeout)?)
}

/// The engine of the pack a client installed in `dir`.
fn client_engine(args: &ScanArgs, dir: &std::path::Path) -> Result<Engine, Failure> {
    use ferretwatch_pack_client::install::ClientDir;
    let now = clock::now(args.now);
    let client = ClientDir::open(dir)?;
    let state = client.load_state()?;
    let pack = state.as_ref().and_then(|s| s.updater.current.as_ref()).ok_or_else(|| {
        CliError::failed("no_pack", format!("{} has no pack installed: run ferretwatch update", dir.display()))
    })?;
    if pack.expires <= now {
        output::warn(format!("pack {} expired at {}: run ferretwatch update", pack.pack_version, pack.expires));
    }
    let loaded = client.load(pack, now, Duration::from_millis(args.yara_timeout_ms))?;
    for name in &loaded.expired_filters {
        output::warn(format!("filter {name} has expired and is not used"));
    }
    Ok(loaded.engine)
}

/// Verifies the pack against the root of trust, then builds the engine from the verified
/// bytes only.
fn pack_engine(args: &ScanArgs, pack: &str) -> Result<Engine, Failure> {
    let now = clock::now(args.now);
    let root = read_root(&args.root)?;
    let verifier = dir::verifier(root, now, args.state.as_deref())?;
    let verified = verifier.verify(pack_source(pack).as_ref())?;
    if let Some(state) = &args.state {
        dir::save_state(state, &verified)?;
    }
    let loaded = load(
        &verified.files,
        now,
        YaraLimit::Timeout(Duration::from_millis(args.yara_timeout_ms)),
        !args.no_builtin_yara,
    )?;
    for name in &loaded.expired_filters {
        output::warn(format!("filter {name} has expired and is not used"));
    }
    Ok(loaded.engine)
}
