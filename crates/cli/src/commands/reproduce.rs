//! `ferretwatch reproduce`: fetch a URL in headless Chromium behind the egress guard
//! (`docs/reproduce.md`), optionally scan the rendered page with packs from an origin
//! (the reporter's `--pack-version` and the current one) and store the artifacts.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use ferretwatch_pack_publisher::origin::{open_store, Origin, S3Options};
use ferretwatch_reproduce::artifacts::{self, Summary};
use ferretwatch_reproduce::scan::{self, Comparison, PageScan, Reported};
use ferretwatch_reproduce::{reproduce, Guard, Limits, Reproduction};
use ferretwatch_types::Timestamp;
use serde::Serialize;

use crate::error::{CliError, Failure};
use crate::exit;
use crate::input::read_root;
use crate::output::{self, FormatArg, Report};

/// Arguments of `ferretwatch reproduce`.
#[derive(Args)]
pub struct ReproduceArgs {
    /// The URL to reproduce (http or https, no credentials).
    #[arg(long)]
    url: String,
    /// The pack version the reporter's client ran: the page is scanned with it (from the
    /// origin's history) as well as with the current pack. Needs --origin.
    #[arg(long, requires = "origin")]
    pack_version: Option<String>,
    /// The pack origin (`file:///DIR`, a directory, or `s3://BUCKET[/PREFIX]`): scan the
    /// rendered page with its current pack.
    #[arg(long)]
    origin: Option<String>,
    /// The root of trust the origin's packs are verified against.
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    root: PathBuf,
    /// Let the browser reach loopback addresses (tests and local development only;
    /// private and link-local addresses stay refused).
    #[arg(long)]
    allow_loopback: bool,
    /// The hard time cap of the whole reproduction, in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    seconds: u64,
    /// Store the summary, screenshot and DOM in this object store
    /// (`reproductions/ID/…`).
    #[arg(long)]
    artifacts: Option<String>,
    /// The Chromium executable.
    #[arg(long, env = "FERRETWATCH_CHROMIUM", default_value = "/usr/bin/chromium")]
    chromium: PathBuf,
    #[command(flatten)]
    output: FormatArg,
}

/// What the command prints as JSON.
#[derive(Serialize)]
struct Outcome<'a> {
    ok: bool,
    id: Option<&'a str>,
    reproduction: &'a Reproduction,
    current: Option<&'a PageScan>,
    comparison: Option<&'a Comparison>,
}

/// Runs `reproduce`.
pub fn run(args: ReproduceArgs) -> ExitCode {
    output::run(args.output.format, None, || body(&args))
}

fn body(args: &ReproduceArgs) -> Result<Report, Failure> {
    let url = url::Url::parse(&args.url).map_err(|e| CliError::input("bad_url", format!("{}: {e}", args.url)))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::failed("runtime", e.to_string()))?;
    let limits =
        Limits { time: Duration::from_secs(args.seconds), chromium: args.chromium.clone(), ..Limits::default() };
    let guard = Guard { allow_loopback: args.allow_loopback, loopback_ports: Vec::new() };
    let reproduction = runtime.block_on(reproduce(&url, &limits, guard))?;
    let now = Timestamp::now();
    let page_url =
        if reproduction.final_url.starts_with("http") { &reproduction.final_url } else { &reproduction.requested_url };

    // The pack library blocks on its own runtime: outside ours.
    let (current, comparison) = match (&args.origin, &args.pack_version) {
        (Some(origin), Some(version)) => {
            let root = read_root(&args.root)?;
            let reported = Reported { pack_version: version.clone(), keys: Vec::new(), score: None };
            let comparison =
                scan::compare(origin, &S3Options::from_env(), &root, &reported, &reproduction.dom_html, page_url, now);
            (comparison.at_current.scan.clone(), Some(comparison))
        }
        (Some(origin), None) => {
            let root = read_root(&args.root)?;
            let origin = Origin::open(origin)?;
            let pack = scan::load_pack(&origin, &root, None, now)
                .map_err(|e| CliError::failed("pack_refused", e.to_string()))?;
            let scan = scan::scan_page(&reproduction.dom_html, page_url, &pack, now)
                .map_err(|e| CliError::failed("scan_failed", e.to_string()))?;
            (Some(scan), None)
        }
        _ => (None, None),
    };

    let id = match &args.artifacts {
        Some(store_url) => {
            let store = open_store(store_url, &S3Options::from_env())?;
            let id = artifacts::new_id(now);
            let summary = Summary {
                id: id.clone(),
                created_ms: now.as_millis(),
                actor: "cli".into(),
                url_hash: None,
                reproduction: reproduction.clone(),
                comparison: comparison.clone(),
                comparison_error: None,
                reporter_reason: None,
            };
            runtime
                .block_on(artifacts::write(&store, &summary, &reproduction.dom_html, &reproduction.screenshot_png))
                .map_err(|e| CliError::failed("artifacts_failed", e.to_string()))?;
            Some(id)
        }
        None => None,
    };

    let status = match current.as_ref().map(|s| s.level.as_str()) {
        Some("red") => exit::RED,
        Some("yellow") => exit::YELLOW,
        _ => exit::SUCCESS,
    };
    let text = render_text(&reproduction, current.as_ref(), comparison.as_ref(), id.as_deref());
    let json = Outcome {
        ok: true,
        id: id.as_deref(),
        reproduction: &reproduction,
        current: current.as_ref(),
        comparison: comparison.as_ref(),
    };
    Ok(Report::new(text, &json).with_status(status))
}

fn render_text(r: &Reproduction, current: Option<&PageScan>, c: Option<&Comparison>, id: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "requested  {}", r.requested_url);
    let _ = writeln!(out, "final      {}", r.final_url);
    for hop in &r.chain {
        let _ = writeln!(out, "  {} {}", hop.status, hop.url);
    }
    for refusal in r.refused.iter().filter(|f| f.by_page) {
        let ip = refusal.ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        let _ = writeln!(out, "refused    {} ({ip}): {}", refusal.host, refusal.reason);
    }
    let background: std::collections::BTreeSet<&str> =
        r.refused.iter().filter(|f| !f.by_page).map(|f| f.host.as_str()).collect();
    if !background.is_empty() {
        let hosts: Vec<&str> = background.into_iter().collect();
        let _ = writeln!(out, "browser's own background connections, refused: {}", hosts.join(", "));
    }
    let _ = writeln!(out, "dom sha256 {} ({} bytes)", r.dom_sha256, r.dom_html.len());
    let _ = writeln!(out, "screenshot {} bytes", r.screenshot_png.len());
    let _ = writeln!(out, "transfer   {} bytes", r.bytes_transferred);
    let _ = writeln!(out, "elapsed    {} ms{}", r.elapsed_ms, if r.timed_out { " (timed out)" } else { "" });
    if let Some(error) = &r.error {
        let _ = writeln!(out, "error      {error}");
    }
    if let Some(c) = c {
        for (label, side) in [("reporter's", &c.at_reporter_version), ("current", &c.at_current)] {
            match (&side.scan, &side.error) {
                (Some(s), _) => {
                    let keys = s.keys().join(", ");
                    let _ = writeln!(out, "{label} pack {}: {} ({}) {keys}", s.version, s.level, s.score);
                }
                (None, error) => {
                    let _ =
                        writeln!(out, "{label} pack {}: {}", side.version, error.as_deref().unwrap_or("no verdict"));
                }
            }
        }
        let d = &c.reproduced_to_current;
        let _ = writeln!(out, "current vs reporter's: +{:?} -{:?}", d.added, d.removed);
    } else if let Some(s) = current {
        let _ = writeln!(out, "pack {}: {} ({}) {}", s.version, s.level, s.score, s.keys().join(", "));
    }
    if let Some(id) = id {
        let _ = writeln!(out, "artifacts  reproductions/{id}/");
    }
    out
}
