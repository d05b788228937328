//! `ferretwatch pack validate`, `pack test` and `pack delta`: the checks between building a
//! pack and signing it, and the daily delta clients apply instead of the full intel.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ferretwatch_pack::corpus_test::{self, CorpusReport, Limits, DEFAULT_MAX_FP, DEFAULT_MIN_DETECTION};
use ferretwatch_pack::delta::{self, DeltaOptions, DEFAULT_MAX_FP_GROWTH};
use ferretwatch_pack::trust::write_atomic;
use ferretwatch_pack::validate::{self, Report, Severity};

use super::scan::Format;
use super::{bad_input, EXIT_FAILED};

/// `pack validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// The pack directory, or any file in it (the runbook passes `dist/rules.json`).
    #[arg(default_value = "dist")]
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `pack test`.
#[derive(Args)]
pub struct TestArgs {
    /// The pack directory, or any file in it.
    #[arg(default_value = "dist")]
    pub dir: PathBuf,
    /// The corpus directory (its manifest.json and, when present, known_fp.json).
    #[arg(default_value = "tests/corpus")]
    pub corpus: PathBuf,
    /// The pack in production, to compare with (per-family changes, pages whose level changed).
    #[arg(long)]
    pub previous: Option<PathBuf>,
    /// Fail below this share of phishing pages at yellow or red.
    #[arg(long, default_value_t = DEFAULT_MIN_DETECTION)]
    pub min_detection: f64,
    /// Fail above this share of benign pages at red.
    #[arg(long, default_value_t = DEFAULT_MAX_FP)]
    pub max_fp: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

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
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Validates a pack: exit 0 when it may ship, 1 with every problem found, 2 when the
/// directory cannot be read.
pub fn run_validate(args: ValidateArgs) -> ExitCode {
    let json = args.format == Format::Json;
    let dir = super::pack_dir(&args.dir);
    let report = match validate::validate(&dir) {
        Ok(report) => report,
        Err(e) => return bad_input(e.code(), &e, json),
    };
    if json {
        println!("{}", serde_json::json!({ "ok": report.ok(), "report": report }));
    } else {
        print_validation(&report);
    }
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

fn print_validation(report: &Report) {
    let version = report.version.as_deref().unwrap_or("?");
    let errors = report.errors().count();
    let warnings = report.problems.len() - errors;
    for p in &report.problems {
        let level = if p.severity == Severity::Error { "error" } else { "warning" };
        let file = p.file.as_deref().map(|f| format!("{f}: ")).unwrap_or_default();
        println!("{level}[{}]: {file}{}", p.code, p.message);
    }
    let verdict = if report.ok() { "valid" } else { "INVALID" };
    println!(
        "pack {version} in {}: {verdict} ({} files, {} bytes; {errors} error(s), {warnings} warning(s))",
        report.dir.display(),
        report.files,
        report.total_bytes
    );
}

/// Tests a pack against the corpus: exit 0 when it meets the limits and no known false
/// positive regressed, 1 otherwise, 2 when the pack or corpus cannot be used.
pub fn run_test(args: TestArgs) -> ExitCode {
    let json = args.format == Format::Json;
    for (name, value) in [("--min-detection", args.min_detection), ("--max-fp", args.max_fp)] {
        if !(0.0..=1.0).contains(&value) {
            return bad_input("invalid_argument", format!("{name} {value} must be between 0 and 1"), json);
        }
    }
    let limits = Limits { min_detection: args.min_detection, max_fp: args.max_fp };
    let previous = args.previous.as_deref().map(super::pack_dir);
    let report = match corpus_test::run(&super::pack_dir(&args.dir), &args.corpus, previous.as_deref(), limits) {
        Ok(report) => report,
        Err(e) => return bad_input(e.code(), &e, json),
    };
    if json {
        println!("{}", serde_json::json!({ "passed": report.passed(), "report": report }));
    } else {
        print_test(&report);
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

fn print_test(r: &CorpusReport) {
    let pct = |rate: f64| format!("{:.1}%", rate * 100.0);
    let against = r.previous_version.as_deref().map(|v| format!(" (previous pack {v})")).unwrap_or_default();
    println!("pack {} against the corpus{against}", r.pack_version);
    let line = |name: &str, now: corpus_test::Rate, before: Option<corpus_test::Rate>, what: &str| {
        let change = before.map(|b| format!("  was {}/{} = {}", b.hits, b.total, pct(b.rate))).unwrap_or_default();
        println!("  {name:<16} {}/{} {what} = {}{change}", now.hits, now.total, pct(now.rate));
    };
    line("detection", r.detection, r.previous_detection, "phishing warned");
    line("false positives", r.false_positive, r.previous_false_positive, "benign at red");
    println!("  per family:");
    for f in &r.families {
        let what = if f.class == "phishing" { "warned" } else { "red" };
        let change = f
            .previous
            .map(|p| format!("  {:+.1} pts (was {}/{})", (f.rate.rate - p.rate) * 100.0, p.hits, p.total))
            .unwrap_or_default();
        let name = format!("{}/{}", f.class, f.family);
        println!("    {name:<32} {:>3}/{:<3} {what:<6} {:>6}{change}", f.rate.hits, f.rate.total, pct(f.rate.rate));
    }
    if r.previous_version.is_some() {
        println!("  pages whose level changed: {}", r.changed.len());
        for c in &r.changed {
            println!("    {} {} → {}", c.file, c.before.as_str(), c.after.as_str());
        }
    }
    if !r.unexpected.is_empty() {
        println!("  pages at a level other than the corpus expects: {}", r.unexpected.len());
        for p in &r.unexpected {
            println!("    {} expected {} got {} ({})", p.file, p.expected, p.level.as_str(), p.score);
        }
    }
    for f in &r.failures {
        println!("FAIL[{}]: {}", f.code, f.message);
    }
    println!(
        "{} (limits: detection ≥ {}, false positives ≤ {})",
        if r.passed() { "passed" } else { "FAILED" },
        r.min_detection,
        r.max_fp
    );
}

/// Writes the delta from the base pack to the target pack: exit 0 when written, 1 when no
/// delta can be offered (clients take the full pack), 2 on bad input.
pub fn run_delta(args: DeltaArgs) -> ExitCode {
    let json = args.format == Format::Json;
    if args.max_fp_growth.is_nan() || args.max_fp_growth < 1.0 {
        return bad_input("invalid_argument", "--max-fp-growth must be at least 1", json);
    }
    let (from, to) = (super::pack_dir(&args.from), super::pack_dir(&args.to));
    let options = DeltaOptions { max_fp_growth: args.max_fp_growth };
    let summary = match delta::make(&from, &args.base_feeds, &to, &args.feeds, options) {
        Ok(summary) => summary,
        Err(e @ delta::DeltaError::FilterFull { .. }) => return super::fail(e.code(), &e, json),
        Err(e) => return bad_input(e.code(), &e, json),
    };
    let d = &summary.delta;
    let out = args.out.unwrap_or_else(|| delta::delta_path(&to, &d.base_version));
    let bytes = d.to_bytes();
    if let Err(e) = write_delta(&out, &bytes) {
        return bad_input("io", format!("{e:#}"), json);
    }
    if json {
        let changes: Vec<_> = summary
            .changes
            .iter()
            .map(
                |(kind, removed, added)| serde_json::json!({ "kind": kind.name(), "removed": removed, "added": added }),
            )
            .collect();
        let value = serde_json::json!({
            "base_version": d.base_version.as_str(), "target_version": d.target_version.as_str(),
            "path": out.display().to_string(), "size": bytes.len(), "changes": changes,
        });
        println!("{value}");
    } else {
        println!("delta {} → {}: {} bytes → {}", d.base_version, d.target_version, bytes.len(), out.display());
        for (kind, removed, added) in &summary.changes {
            println!("  {:<5} -{removed} +{added}", kind.name());
        }
    }
    ExitCode::SUCCESS
}

fn write_delta(out: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    write_atomic(out, bytes).with_context(|| format!("writing {}", out.display()))
}
