//! `ferretwatch scan`: one page, or a batch.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use ferretwatch_detect::{
    Engine, Level, LocalState, Page, Resource, Rules, ScanOptions, Thresholds, Verdict, DEFAULT_YARA,
};

use ferretwatch_pack::load::load;
use ferretwatch_pack::trust::verify::{State, Verifier};
use ferretwatch_types::Timestamp;

use super::{bad_input, read_input};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: level, score and each finding with its evidence.
    Text,
    /// One JSON object.
    Json,
}

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
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The page's favicon (ICO, PNG, GIF, JPEG or BMP).
    #[arg(long, requires = "url")]
    favicon: Option<PathBuf>,
    /// JSON array of resources the page loaded: [{"kind": "image", "url": "…"}].
    #[arg(long, requires = "url")]
    resources: Option<PathBuf>,
    /// Unix time at which this browser first saw the domain (with --now; omit for "never").
    #[arg(long, requires = "now")]
    first_seen: Option<u64>,
    /// Unix time now; enables the new-domain signal.
    #[arg(long)]
    now: Option<u64>,
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
    let json = args.format == Format::Json;
    let engine = match build_engine(&args) {
        Ok(engine) => engine,
        Err((code, message)) => return bad_input(code, message, json),
    };
    let mut options = ScanOptions { user_allowlist: args.allow.clone(), ..ScanOptions::default() };
    if let (Some(yellow), Some(red)) = (args.yellow, args.red) {
        let thresholds = Thresholds { yellow, red };
        if let Err(e) = thresholds.validate() {
            return bad_input("bad_thresholds", e, json);
        }
        options.thresholds = Some(thresholds);
    }
    if let Some(batch) = &args.batch {
        return super::batch::run(&engine, &options, batch);
    }
    let url = args.url.as_deref().unwrap_or_default();
    let html = match args.html.as_deref().map(read_text).transpose() {
        Ok(html) => html,
        Err(message) => return bad_input("io", message, json),
    };
    let favicon =
        match args.favicon.as_deref().map(|p| read_input(p).map_err(|e| format!("{}: {e}", p.display()))).transpose() {
            Ok(favicon) => favicon,
            Err(message) => return bad_input("io", message, json),
        };
    let resources: Vec<Resource> = match args.resources.as_deref().map(read_resources).transpose() {
        Ok(resources) => resources.unwrap_or_default(),
        Err(message) => return bad_input("bad_resources", message, json),
    };
    let state = args.now.map(|now| LocalState { first_seen: args.first_seen, now });
    let page = Page { url, html: html.as_deref(), resources: &resources, favicon: favicon.as_deref(), state };
    match engine.scan(&page, &options) {
        Ok(verdict) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&verdict).expect("verdict serialises"));
            } else {
                print!("{}", render_text(url, &verdict));
            }
            ExitCode::from(match verdict.level {
                Level::Green => 0,
                Level::Yellow => 10,
                Level::Red => 20,
            })
        }
        Err(e) => bad_input(e.code(), e, json),
    }
}

fn read_text(path: &Path) -> Result<String, String> {
    let bytes = read_input(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // Pages are not always valid UTF-8; scan what can be read rather than refuse.
    Ok(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn read_resources(path: &Path) -> Result<Vec<Resource>, String> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Builds the engine from the rules and YARA options.
fn build_engine(args: &ScanArgs) -> Result<Engine, (&'static str, String)> {
    if let Some(pack) = &args.pack {
        return pack_engine(args, pack);
    }
    let rules = match &args.rules {
        Some(path) => super::rules::load_rules(path)?,
        None => Rules::builtin(),
    };
    let engine = Engine::new(rules).map_err(|e| (e.code(), e.to_string()))?;
    let mut sources: Vec<(String, String)> = Vec::new();
    if !args.no_builtin_yara {
        sources.push(("builtin.yar".into(), DEFAULT_YARA.into()));
    }
    for path in &args.yara {
        sources.push((path.display().to_string(), read_text(path).map_err(|m| ("io", m))?));
    }
    if sources.is_empty() {
        return Ok(engine);
    }
    engine
        .with_yara(sources.iter().map(|(n, s)| (n.as_str(), s.as_str())), Duration::from_millis(args.yara_timeout_ms))
        .map_err(|e| (e.code(), e.to_string()))
}

/// Verifies the pack against the root of trust, then builds the engine from the verified
/// bytes only.
fn pack_engine(args: &ScanArgs, pack: &str) -> Result<Engine, (&'static str, String)> {
    let now = args.now.map_or_else(Timestamp::now, Timestamp::from_secs);
    let root = std::fs::read(&args.root).map_err(|e| ("unreadable_root", format!("{}: {e}", args.root.display())))?;
    let verified = Verifier::new(root, now, State::default())
        .verify(super::signing::source(pack).as_ref())
        .map_err(|e| (e.code(), format!("pack refused: {e}")))?;
    let loaded = load(&verified.files, now, Duration::from_millis(args.yara_timeout_ms), !args.no_builtin_yara)
        .map_err(|e| ("bad_pack", e.to_string()))?;
    for name in &loaded.expired_filters {
        eprintln!("ferretwatch: warning: filter {name} has expired and is not used");
    }
    Ok(loaded.engine)
}

/// The verdict for people.
pub fn render_text(url: &str, verdict: &Verdict) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let level = verdict.level.as_str().to_uppercase();
    let _ = writeln!(out, "{level}  score {}/100  {url}", verdict.score);
    let _ = writeln!(out, "rules {}", verdict.pack_version);
    if verdict.allowlisted {
        let _ = writeln!(out, "allowlisted by you: warning suppressed");
    }
    if verdict.partial {
        let _ = writeln!(out, "partial: a signal hit its time limit; the score is a lower bound");
    }
    if !verdict.truncated.is_empty() {
        let _ = writeln!(out, "truncated to documented limits: {}", verdict.truncated.join(", "));
    }
    if verdict.findings.is_empty() {
        let _ = writeln!(out, "no findings");
    }
    for f in &verdict.findings {
        let brand = f.brand.as_deref().map(|b| format!(" [{b}]")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  +{:>5.1}  {:<28} (weight {} × confidence {:.2}){brand}\n          {}",
            f64::from(f.contribution) / 1000.0,
            f.key.name(),
            f.weight,
            f64::from(f.confidence) / 1000.0,
            f.evidence
        );
    }
    out
}
