//! `ferretwatch pack deploy | rollback | emergency`: publishing to the origin
//! (`docs/formats/origin.md`). Wiring only; the work is in `ferretwatch_pack::publish`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack::publish::{self, EmergencyRule, Origin, PublishError, Republished, Severity};
use ferretwatch_pack::trust::keys::PrivateKey;
use ferretwatch_pack::trust::verify::VerifyError;
use ferretwatch_pack::PackVersion;
use ferretwatch_types::Timestamp;

/// `pack deploy`.
#[derive(Args)]
pub struct DeployArgs {
    /// The signed pack directory (or any file in it, e.g. dist/rules.json).
    #[arg(default_value = "dist")]
    pub dir: PathBuf,
    /// The origin: file:///DIR, a directory, or s3://BUCKET[/PREFIX].
    #[arg(long, env = "FERRETWATCH_ORIGIN")]
    pub to: String,
    /// The root of trust the pack must verify against before anything is uploaded.
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    pub root: PathBuf,
}

/// `pack rollback`.
#[derive(Args)]
pub struct RollbackArgs {
    /// The deployed version whose content to republish (YYYY.MM.DD.HH[.N]).
    #[arg(long = "to-version", visible_alias = "version")]
    pub to_version: PackVersion,
    /// The origin that served it (its history/VERSION/ is read).
    #[arg(long, env = "FERRETWATCH_ORIGIN")]
    pub from: String,
    /// Publisher private key(s); two for threshold 2 (or collect the second with `pack sign`).
    #[arg(long = "key", env = "FERRETWATCH_SIGNING_KEY", value_delimiter = ',', required = true)]
    pub keys: Vec<PathBuf>,
    /// The root of trust.
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    pub root: PathBuf,
    /// Where to write the republished pack (default dist-NEWVERSION; must be new or empty).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Deploy it once signed.
    #[arg(long)]
    pub deploy: bool,
    /// Deploy to this origin instead of --from.
    #[arg(long, requires = "deploy")]
    pub to: Option<String>,
}

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

/// Verifies and uploads a signed pack.
pub fn run_deploy(args: DeployArgs) -> ExitCode {
    let dir = super::pack_dir(&args.dir);
    let result = read_root(&args.root).and_then(|root| {
        let origin = Origin::open(&args.to)?;
        publish::deploy(&dir, &origin, &root, Timestamp::now())
    });
    match result {
        Ok(report) => {
            let previous = report.previous.map(|v| format!(" (was {v})")).unwrap_or_default();
            println!(
                "deployed {} to {}{previous}: {} object(s) uploaded, {} already there; timestamp.json last",
                report.version,
                report.origin,
                report.uploaded.len(),
                report.unchanged.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => report_error(&dir.display().to_string(), &e),
    }
}

/// Republishes an earlier version under a new one.
pub fn run_rollback(args: RollbackArgs) -> ExitCode {
    let result = (|| {
        let root = read_root(&args.root)?;
        let keys = read_keys(&args.keys)?;
        let origin = Origin::open(&args.from)?;
        let made = publish::rollback(&origin, &args.to_version, &root, &keys, args.out.clone(), Timestamp::now())?;
        println!(
            "rolled back: the content of {} as version {} in {} ({} of {} signature(s))",
            made.from_version,
            made.version,
            made.out.display(),
            made.signatures,
            made.threshold
        );
        if !args.deploy {
            return Ok(ExitCode::SUCCESS);
        }
        let to = args.to.as_deref().unwrap_or(&args.from);
        deploy_made(&made, to, &root, &origin, to == args.from)
    })();
    result.unwrap_or_else(|e| report_error(args.from.as_str(), &e))
}

/// Builds, signs and deploys the current pack plus one YARA rule.
pub fn run_emergency(args: EmergencyArgs) -> ExitCode {
    let result = (|| {
        let source = std::fs::read_to_string(&args.rule)
            .map_err(|e| PublishError::Invalid(format!("{}: {e}", args.rule.display())))?;
        let rule = EmergencyRule { rule_id: args.rule_id.clone(), severity: args.severity, source };
        let root = read_root(&args.root)?;
        let keys = read_keys(&args.keys)?;
        let origin = Origin::open(&args.to)?;
        let made = publish::emergency(&origin, &rule, &root, &keys, args.out.clone(), Timestamp::now())?;
        println!(
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
            return Ok(ExitCode::SUCCESS);
        }
        deploy_made(&made, &args.to, &root, &origin, true)
    })();
    result.unwrap_or_else(|e| report_error(&args.to, &e))
}

/// Deploys a republished pack, or says how to collect the missing signature.
fn deploy_made(
    made: &Republished,
    to: &str,
    root: &[u8],
    origin: &Origin,
    same_origin: bool,
) -> Result<ExitCode, PublishError> {
    if !made.fully_signed() {
        let out = made.out.display();
        eprintln!(
            "ferretwatch: {out} has {} of the {} signatures the root requires; a second publisher signs it with \
             `ferretwatch pack sign {out} --key THEIR.key`, then `ferretwatch pack deploy {out} --to {to}`",
            made.signatures, made.threshold
        );
        let missing = VerifyError::TooFewSignatures {
            file: "targets.json".into(),
            role: "targets".into(),
            valid: made.signatures,
            threshold: made.threshold,
        };
        return Ok(ExitCode::from(u8::try_from(missing.exit_status()).unwrap_or(1)));
    }
    let other;
    let origin = if same_origin {
        origin
    } else {
        other = Origin::open(to)?;
        &other
    };
    let report = publish::deploy(&made.out, origin, root, Timestamp::now())?;
    println!(
        "deployed {} to {}: {} object(s) uploaded; timestamp.json last",
        report.version,
        report.origin,
        report.uploaded.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The root of trust's bytes.
pub fn read_root(path: &Path) -> Result<Vec<u8>, PublishError> {
    std::fs::read(path).map_err(|e| PublishError::Invalid(format!("root of trust {}: {e}", path.display())))
}

/// Private keys, read from their files.
pub fn read_keys(paths: &[PathBuf]) -> Result<Vec<PrivateKey>, PublishError> {
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| PublishError::Invalid(format!("key {}: {e}", path.display())))?;
            // The error names the file, never its content.
            PrivateKey::from_json(&text).map_err(|e| PublishError::Invalid(format!("key {}: {e}", path.display())))
        })
        .collect()
}

/// Prints the error with its code; the exit status is the error's (2 bad input, 40–49 a
/// refused pack, 1 a failed operation).
pub fn report_error(subject: &str, error: &PublishError) -> ExitCode {
    match error {
        PublishError::Refused(_) => eprintln!("ferretwatch: REFUSED {subject}: error[{}]: {error}", error.code()),
        _ => eprintln!("ferretwatch: error[{}]: {error}", error.code()),
    }
    ExitCode::from(error.exit_status())
}
