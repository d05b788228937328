//! `canary test`: the staging gate. The new YARA rules are added to the current rules (the
//! origin's current pack with `--from`, otherwise a pack of the built-in rules), and that
//! pack goes through `pack test`'s gates against the corpus (detection, false positives,
//! the known false positives, the labelled URL lists), compared with the pack without
//! them. Nothing is signed or published.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_client::dir::pack_files;
use ferretwatch_pack_client::trust::verify::{State, Verifier};
use ferretwatch_pack_publisher::corpus_test::{self, Limits, DEFAULT_MAX_FP, DEFAULT_MIN_DETECTION};
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::canary::with_rules;
use ferretwatch_pack_publisher::{build, BuildOptions};
use ferretwatch_types::PackVersion;
use serde_json::json;

use crate::clock;
use crate::error::{CliError, Failure};
use crate::exit;
use crate::input::{read_root, read_text};
use crate::output::{self, FormatArg, Report};

/// `canary test`.
#[derive(Args)]
pub struct TestArgs {
    /// The new YARA rules.
    #[arg(long)]
    pub rule_file: PathBuf,
    /// Take the current rules from this origin's current pack (verified with --root);
    /// without it, from a pack of the built-in rules.
    #[arg(long, env = "FERRETWATCH_ORIGIN")]
    pub from: Option<String>,
    /// The root of trust, with --from.
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    pub root: PathBuf,
    /// The corpus directory (its manifest.json and known_fp.json).
    #[arg(long, env = "FERRETWATCH_CORPUS", default_value = "tests/corpus")]
    pub corpus: PathBuf,
    /// A labelled URL list (repeatable); default: the corpus's urls/*.tsv.
    #[arg(long = "urls", value_name = "FILE")]
    pub urls: Vec<PathBuf>,
    /// Fail below this share of phishing pages at yellow or red.
    #[arg(long, default_value_t = DEFAULT_MIN_DETECTION)]
    pub min_detection: f64,
    /// Fail above this share of benign pages at red.
    #[arg(long, default_value_t = DEFAULT_MAX_FP)]
    pub max_fp: f64,
    #[command(flatten)]
    pub output: FormatArg,
}

/// Runs the gate: exit 0 when the pack with the new rules passes, 1 when a gate fails
/// (each failure listed), 2 for rules that do not compile or unusable input.
pub fn run(args: TestArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let yara = read_text(&args.rule_file)?;
        let work = tempfile::tempdir().map_err(|e| CliError::failed("io", e.to_string()))?;
        let now = clock::now(None);
        let (base, version) = match &args.from {
            Some(url) => {
                let root = read_root(&args.root)?;
                let origin = Origin::open(url)?;
                let verified = Verifier::new(root, now, State::default()).verify(&origin.source(None))?;
                let version = PackVersion::parse(&verified.pack_version)
                    .map_err(|e| CliError::failed("origin_failed", format!("the origin's pack: {e}")))?;
                let own: BTreeMap<String, Vec<u8>> = verified
                    .files
                    .into_iter()
                    .filter(|(name, _)| !name.contains('/') && !verified.delegated.contains(name))
                    .collect();
                (own, version)
            }
            None => {
                let version = PackVersion::of_hour(now);
                let feeds = work.path().join("feeds");
                std::fs::create_dir_all(&feeds).map_err(|e| CliError::failed("io", e.to_string()))?;
                let dir = work.path().join("current");
                build(&BuildOptions::new(version.clone(), feeds, &dir))?;
                (pack_files(&dir)?, version)
            }
        };
        let current = work.path().join("without");
        let staged = work.path().join("with");
        // The same content under the same version, without and with the new rules.
        ferretwatch_pack_publisher::publish::canary::write_pack(&base, &version, &current)?;
        let added = with_rules(&base, &yara, &version, &staged)?;
        gate(&args, &staged, &current, &added)
    })
}

fn gate(args: &TestArgs, staged: &std::path::Path, current: &std::path::Path, added: &str) -> Result<Report, Failure> {
    for (name, value) in [("--min-detection", args.min_detection), ("--max-fp", args.max_fp)] {
        if !(0.0..=1.0).contains(&value) {
            return Err(CliError::input("invalid_argument", format!("{name} {value} must be between 0 and 1")).into());
        }
    }
    let limits = Limits { min_detection: args.min_detection, max_fp: args.max_fp };
    let report = corpus_test::run(staged, &args.corpus, Some(current), limits, &args.urls)?;
    // Beyond `pack test`'s gates: new rules must not raise any known-good page.
    let raised: Vec<_> = report.changed.iter().filter(|c| c.class == "benign" && c.after > c.before).collect();
    let passed = report.passed() && raised.is_empty();
    let mut text = format!(
        "staging gate for {} ({added}) on the current rules:\n  detection {}/{} ({:.1}%), benign at red {}/{} ({:.1}%)\n",
        args.rule_file.display(),
        report.detection.hits,
        report.detection.total,
        report.detection.rate * 100.0,
        report.false_positive.hits,
        report.false_positive.total,
        report.false_positive.rate * 100.0
    );
    for change in &report.changed {
        text.push_str(&format!(
            "  {} {} → {} with the new rules\n",
            change.file,
            change.before.as_str(),
            change.after.as_str()
        ));
    }
    for page in &report.unexpected {
        text.push_str(&format!("  {} expected {} got {}\n", page.file, page.expected, page.level.as_str()));
    }
    for change in &raised {
        text.push_str(&format!(
            "FAIL[benign_page_raised]: {} is known good and goes from {} to {} with the new rules\n",
            change.file,
            change.before.as_str(),
            change.after.as_str()
        ));
    }
    for failure in &report.failures {
        text.push_str(&format!("FAIL[{}]: {}\n", failure.code, failure.message));
    }
    for g in report.urls.iter().flat_map(|u| &u.gates).filter(|g| !g.passed) {
        text.push_str(&format!("FAIL[gate_failed]: {} measured {:.4} on {} URLs\n", g.gate, g.share, g.total));
    }
    text.push_str(if passed { "passed" } else { "FAILED: the new rules must not go out" });
    let raised: Vec<&str> = raised.iter().map(|c| c.file.as_str()).collect();
    let json = json!({ "passed": passed, "rules_file": added, "benign_pages_raised": raised, "report": report });
    Ok(Report::new(text, &json).with_status(if passed { exit::SUCCESS } else { exit::FAILED }))
}
