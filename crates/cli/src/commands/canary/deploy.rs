//! `canary deploy`, `canary finalize` and `canary status`: the canary's pack at the origin.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use ferretwatch_pack_publisher::corpus_test::{self, Limits};
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::canary::{self, CanaryRecord, Decision};
use serde_json::json;

use super::PublishArgs;
use crate::clock;
use crate::commands::pack::deploy_when_signed;
use crate::error::{CliError, Failure};
use crate::exit;
use crate::input::{read_keys, read_root, read_text};
use crate::output::{self, FormatArg, Report};

/// `canary deploy`.
#[derive(Args)]
pub struct DeployArgs {
    /// The new YARA rules.
    #[arg(long)]
    pub rule_file: PathBuf,
    /// Percent of installs that take the canary (1 to 100).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub canary_percentage: u64,
    /// The corpus the canary pack must pass (as `canary test`).
    #[arg(long, env = "FERRETWATCH_CORPUS", default_value = "tests/corpus")]
    pub corpus: PathBuf,
    /// A labelled URL list (repeatable); default: the corpus's urls/*.tsv.
    #[arg(long = "urls", value_name = "FILE")]
    pub urls: Vec<PathBuf>,
    #[command(flatten)]
    pub publish: PublishArgs,
    #[command(flatten)]
    pub output: FormatArg,
}

fn out_dir(given: &Option<PathBuf>, what: &str) -> PathBuf {
    given.clone().unwrap_or_else(|| PathBuf::from(format!("dist-canary-{what}-{}", clock::now(None).as_secs())))
}

/// Builds, gates, signs and deploys a canary, then records it at the origin.
pub fn run(args: DeployArgs) -> ExitCode {
    output::run(args.output.format, Some(&args.publish.to), || {
        let yara = read_text(&args.rule_file)?;
        let root = read_root(&args.publish.root)?;
        let keys = read_keys(&args.publish.keys)?;
        let origin = Origin::open(&args.publish.to)?;
        let out = out_dir(&args.publish.out, "deploy");
        let started =
            canary::start(&origin, &yara, args.canary_percentage, &root, &keys, out.clone(), clock::now(None))?;
        let pack = out.join(ferretwatch_pack_client::trust::metadata::CANARY_DIR);
        let report = corpus_test::run(&pack, &args.corpus, Some(&out), Limits::default(), &args.urls)?;
        let raised = report.changed.iter().filter(|c| c.class == "benign" && c.after > c.before).count();
        if !report.passed() || raised > 0 {
            let mut text = format!(
                "canary {} refused by the staging gate; nothing was deployed ({} known-good page(s) raised):",
                started.record.pack_version, raised
            );
            for failure in &report.failures {
                text.push_str(&format!("\nFAIL[{}]: {}", failure.code, failure.message));
            }
            let json = json!({ "deployed": false, "canary": started.record, "report": report });
            return Ok(Report::new(text, &json).with_status(exit::FAILED));
        }
        // Deployed, or an error (exit 42 with what the second publisher runs): then
        // nothing is recorded and the canary does not run.
        deploy_when_signed(&started.made, &origin, &root)?;
        canary::record_started(&origin, &started.record)?;
        let r = &started.record;
        let text = format!(
            "canary {} deployed to {}: {}% of installs take it (salt {}), the others the control {} (was {})",
            r.pack_version,
            origin.url(),
            r.percentage,
            r.salt,
            r.control_version,
            r.previous_version
        );
        Ok(Report::new(text, &json!({ "deployed": true, "canary": r })))
    })
}

/// How to end the canary.
#[derive(Clone, Copy, ValueEnum)]
pub enum DecisionArg {
    /// The canary's pack for everyone.
    Promote,
    /// The control pack for everyone.
    Rollback,
}

/// `canary finalize`.
#[derive(Args)]
pub struct FinalizeArgs {
    /// promote or rollback.
    #[arg(long, value_enum)]
    pub decision: DecisionArg,
    #[command(flatten)]
    pub publish: PublishArgs,
    #[command(flatten)]
    pub output: FormatArg,
}

/// Ends the running canary and records how.
pub fn finalize(args: FinalizeArgs) -> ExitCode {
    output::run(args.output.format, Some(&args.publish.to), || {
        let root = read_root(&args.publish.root)?;
        let keys = read_keys(&args.publish.keys)?;
        let origin = Origin::open(&args.publish.to)?;
        let decision = match args.decision {
            DecisionArg::Promote => Decision::Promote,
            DecisionArg::Rollback => Decision::Rollback,
        };
        let out = out_dir(&args.publish.out, "final");
        let (made, record) = canary::finish_canary(&origin, decision, &root, &keys, out, clock::now(None))?;
        deploy_when_signed(&made, &origin, &root)?;
        canary::record_finished(&origin, &record)?;
        let version = record.final_version.as_ref().map(ToString::to_string).unwrap_or_default();
        let text = match decision {
            Decision::Promote => format!(
                "canary {} promoted: every install takes {version} (the canary's rules), deployed to {}",
                record.pack_version,
                origin.url()
            ),
            Decision::Rollback => format!(
                "canary {} rolled back: every install takes {version} (the control's rules, as {}), deployed to {}",
                record.pack_version,
                record.control_version,
                origin.url()
            ),
        };
        Ok(Report::new(text, &json!({ "canary": record })))
    })
}

/// `canary status`.
#[derive(Args)]
pub struct StatusArgs {
    /// The origin (file:///DIR, a directory or s3://BUCKET[/PREFIX]).
    #[arg(long, env = "FERRETWATCH_ORIGIN")]
    pub to: String,
    #[command(flatten)]
    pub output: FormatArg,
}

/// Prints the running canary (exit 0 either way).
pub fn status(args: StatusArgs) -> ExitCode {
    output::run(args.output.format, Some(&args.to), || {
        let origin = Origin::open(&args.to)?;
        let record = canary::running(&origin)?;
        Ok(Report::new(describe(record.as_ref()), &json!({ "running": record })))
    })
}

fn describe(record: Option<&CanaryRecord>) -> String {
    match record {
        Some(r) => format!(
            "canary {} runs since {}: {}% of installs (salt {}), control {}",
            r.pack_version, r.started_at, r.percentage, r.salt, r.control_version
        ),
        None => "no canary runs".into(),
    }
}

/// The running canary at `to`, or a clear error.
pub fn running(to: &str) -> Result<CanaryRecord, Failure> {
    let origin = Origin::open(to)?;
    canary::running(&origin)?
        .ok_or_else(|| CliError::input("no_canary", format!("no canary runs at {}", origin.url())).into())
}
