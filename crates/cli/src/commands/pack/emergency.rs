//! `pack emergency`: the current pack plus one YARA rule, built, signed and deployed in
//! one step.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_client::bulletin::Severity;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::{self, EmergencyRule};

use super::deploy::deploy_when_signed;
use crate::clock;
use crate::input::{read_keys, read_root, read_text};
use crate::output::{self, Format, Report};

/// `pack emergency`.
#[derive(Args)]
pub struct EmergencyArgs {
    /// The rule's id, e.g. PHISH-2025-001.
    #[arg(long)]
    pub rule_id: String,
    /// low, medium, high or critical.
    #[arg(long)]
    pub severity: Severity,
    /// The YARA rule file.
    #[arg(long, env = "FERRETWATCH_EMERGENCY_RULE")]
    pub rule: PathBuf,
    /// Publisher private key(s); two for threshold 2 (or collect the second with `pack sign`).
    #[arg(long = "key", env = "FERRETWATCH_SIGNING_KEY", value_delimiter = ',', required = true)]
    pub keys: Vec<PathBuf>,
    /// The root of trust.
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    pub root: PathBuf,
    /// The origin: its current pack is the base, and the update is deployed there.
    #[arg(long, env = "FERRETWATCH_ORIGIN")]
    pub to: String,
    /// Where to write the update (default dist-NEWVERSION; must be new or empty).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Build and sign only; deploy later with `pack deploy`.
    #[arg(long)]
    pub no_deploy: bool,
}

/// Builds, signs and deploys the current pack plus one YARA rule.
pub fn run(args: EmergencyArgs) -> ExitCode {
    output::run(Format::Text, Some(&args.to), || {
        let source = read_text(&args.rule)?;
        let rule = EmergencyRule { rule_id: args.rule_id.clone(), severity: args.severity, source };
        let root = read_root(&args.root)?;
        let keys = read_keys(&args.keys)?;
        let origin = Origin::open(&args.to)?;
        let made = publish::emergency(&origin, &rule, &root, &keys, args.out.clone(), clock::now(None))?;
        let text = format!(
            "emergency rule {} ({}) added to {} as version {} in {} ({} of {} signature(s))",
            rule.rule_id,
            rule.severity,
            made.from_version,
            made.version,
            made.out.display(),
            made.signatures,
            made.threshold
        );
        if args.no_deploy {
            return Ok(Report::text(text));
        }
        output::emit(Format::Text, &Report::text(text));
        deploy_when_signed(&made, &origin, &root)
    })
}
