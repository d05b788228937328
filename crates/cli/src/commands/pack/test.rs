//! `pack test`: the pre-publish gate, a pack against the labelled corpus.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_publisher::corpus_test::{
    self, CorpusReport, Limits, Rate, DEFAULT_MAX_FP, DEFAULT_MIN_DETECTION,
};
use ferretwatch_pack_publisher::url_eval::{LevelCounts, UrlReport};
use serde_json::json;

use crate::error::CliError;
use crate::exit;
use crate::input::pack_dir;
use crate::output::{self, FormatArg, Report};

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
    /// A labelled URL list (`label<TAB>class<TAB>url`), scanned URL only against the gates
    /// in the pack's rules; repeatable. Default: the corpus's `urls/*.tsv`.
    #[arg(long = "urls", value_name = "FILE")]
    pub urls: Vec<PathBuf>,
    #[command(flatten)]
    pub output: FormatArg,
}

/// Tests a pack against the corpus: exit 0 when it meets the limits and no known false
/// positive regressed, 1 otherwise, 2 when the pack or corpus cannot be used.
pub fn run(args: TestArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        for (name, value) in [("--min-detection", args.min_detection), ("--max-fp", args.max_fp)] {
            if !(0.0..=1.0).contains(&value) {
                return Err(
                    CliError::input("invalid_argument", format!("{name} {value} must be between 0 and 1")).into()
                );
            }
        }
        let limits = Limits { min_detection: args.min_detection, max_fp: args.max_fp };
        let previous = args.previous.as_deref().map(pack_dir);
        let report = corpus_test::run(&pack_dir(&args.dir), &args.corpus, previous.as_deref(), limits, &args.urls)?;
        let status = if report.passed() { exit::SUCCESS } else { exit::FAILED };
        let json = json!({ "passed": report.passed(), "report": report });
        Ok(Report::new(text(&report), &json).with_status(status))
    })
}

fn text(r: &CorpusReport) -> String {
    let mut out = String::new();
    let pct = |rate: f64| format!("{:.1}%", rate * 100.0);
    let against = r.previous_version.as_deref().map(|v| format!(" (previous pack {v})")).unwrap_or_default();
    let _ = writeln!(out, "pack {} against the corpus{against}", r.pack_version);
    let mut line = |name: &str, now: Rate, before: Option<Rate>, what: &str| {
        let change = before.map(|b| format!("  was {}/{} = {}", b.hits, b.total, pct(b.rate))).unwrap_or_default();
        let _ = writeln!(out, "  {name:<16} {}/{} {what} = {}{change}", now.hits, now.total, pct(now.rate));
    };
    line("detection", r.detection, r.previous_detection, "phishing warned");
    line("false positives", r.false_positive, r.previous_false_positive, "benign at red");
    let _ = writeln!(out, "  per family:");
    for f in &r.families {
        let what = if f.class == "phishing" { "warned" } else { "red" };
        let change = f
            .previous
            .map(|p| format!("  {:+.1} pts (was {}/{})", (f.rate.rate - p.rate) * 100.0, p.hits, p.total))
            .unwrap_or_default();
        let name = format!("{}/{}", f.class, f.family);
        let _ = writeln!(
            out,
            "    {name:<32} {:>3}/{:<3} {what:<6} {:>6}{change}",
            f.rate.hits,
            f.rate.total,
            pct(f.rate.rate)
        );
    }
    if r.previous_version.is_some() {
        let _ = writeln!(out, "  pages whose level changed: {}", r.changed.len());
        for c in &r.changed {
            let _ = writeln!(out, "    {} {} → {}", c.file, c.before.as_str(), c.after.as_str());
        }
    }
    if !r.unexpected.is_empty() {
        let _ = writeln!(out, "  pages at a level other than the corpus expects: {}", r.unexpected.len());
        for p in &r.unexpected {
            let _ = writeln!(out, "    {} expected {} got {} ({})", p.file, p.expected, p.level.as_str(), p.score);
        }
    }
    if let Some(urls) = &r.urls {
        url_text(&mut out, urls);
    }
    for e in &r.reputation_exempt {
        let _ = writeln!(
            out,
            "  reputation exempt: {} ({}), suppressed by the rules' reputation_exempt",
            e.domain, e.listing
        );
    }
    for f in &r.failures {
        let _ = writeln!(out, "FAIL[{}]: {}", f.code, f.message);
    }
    for g in r.urls.iter().flat_map(|u| &u.gates).filter(|g| !g.passed) {
        let _ = writeln!(out, "FAIL[gate_failed]: {} measured {:.4} on {} URLs", g.gate, g.share, g.total);
    }
    let _ = write!(
        out,
        "{} (limits: detection ≥ {}, false positives ≤ {})",
        if r.passed() { "passed" } else { "FAILED" },
        r.min_detection,
        r.max_fp
    );
    out
}

fn url_text(out: &mut String, u: &UrlReport) {
    let pct = |rate: f64| format!("{:.2}%", rate * 100.0);
    let _ = writeln!(out, "labelled URLs, URL only ({}):", u.lists.join(", "));
    let mut table = |title: &str, rows: &std::collections::BTreeMap<String, LevelCounts>, total: &LevelCounts| {
        if total.total == 0 {
            return;
        }
        let _ = writeln!(out, "  {title:<26} {:>8} {:>9} {:>9}", "urls", "yellow+", "red");
        for (class, c) in rows.iter().chain(std::iter::once((&"(all)".to_owned(), total))) {
            let _ = writeln!(out, "    {class:<24} {:>8} {:>9} {:>9}", c.total, pct(c.warned_rate), pct(c.red_rate));
        }
    };
    table("phishing (recall)", &u.phishing, &u.phishing_total);
    table("benign (false positives)", &u.benign, &u.benign_total);
    for (label, rows) in [("missed", &u.phishing), ("false positive", &u.benign)] {
        for (class, c) in rows {
            for e in &c.examples {
                let finding = e.finding.as_deref().unwrap_or("no finding");
                let _ = writeln!(out, "    {label} {class}: {} {} {}: {finding}", e.url, e.level.as_str(), e.score);
            }
        }
    }
    if u.bad_lines > 0 {
        let _ = writeln!(out, "  malformed lines: {} (skipped)", u.bad_lines);
        for b in &u.bad_line_examples {
            let _ = writeln!(out, "    {}:{}: {}", b.file, b.line, b.reason);
        }
    }
    for g in &u.gates {
        let _ = writeln!(
            out,
            "  gate {:<48} {:>8} on {:>7} {}",
            g.gate,
            pct(g.share),
            g.total,
            if g.passed { "ok" } else { "FAILED" }
        );
    }
}
