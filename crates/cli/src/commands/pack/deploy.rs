//! `pack deploy`: verify a signed pack as a client would, then upload it to the origin
//! (`docs/formats/origin.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::{self, DeployReport};
use serde_json::json;

use crate::clock;
use crate::error::Failure;
use crate::input::{pack_dir, read_root};
use crate::output::{self, Format, Report};

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

/// Verifies and uploads a signed pack.
pub fn run(args: DeployArgs) -> ExitCode {
    let dir = pack_dir(&args.dir);
    output::run(Format::Text, Some(&dir.display().to_string()), || {
        let root = read_root(&args.root)?;
        let origin = Origin::open(&args.to)?;
        Ok(deployed(&publish::deploy(&dir, &origin, &root, clock::now(None))?))
    })
}

/// What a deploy reports (also after a rollback or an emergency rule).
pub fn deployed(report: &DeployReport) -> Report {
    let previous = report.previous.as_ref().map(|v| format!(" (was {v})")).unwrap_or_default();
    let text = format!(
        "deployed {} to {}{previous}: {} object(s) uploaded, {} already there; timestamp.json last",
        report.version,
        report.origin,
        report.uploaded.len(),
        report.unchanged.len()
    );
    let json = json!({
        "version": report.version.as_str(),
        "previous": report.previous.as_ref().map(|v| v.as_str()),
        "origin": report.origin,
        "uploaded": report.uploaded,
        "unchanged": report.unchanged,
    });
    Report::new(text, &json)
}

/// Deploys a republished pack to `origin` once it carries the signatures the root
/// requires; until then says how a second publisher adds theirs, and exits as
/// `pack verify` would (42).
pub fn deploy_when_signed(
    made: &ferretwatch_pack_publisher::publish::Republished,
    origin: &Origin,
    root: &[u8],
) -> Result<Report, Failure> {
    if !made.fully_signed() {
        let out = made.out.display();
        output::note(format!(
            "{out} has {} of the {} signatures the root requires; a second publisher signs it with \
             `ferretwatch pack sign {out} --key THEIR.key`, then `ferretwatch pack deploy {out} --to {}`",
            made.signatures,
            made.threshold,
            origin.url()
        ));
        return Err(ferretwatch_pack_client::trust::verify::VerifyError::TooFewSignatures {
            file: made.out.join("targets.json").display().to_string(),
            role: "targets".into(),
            valid: made.signatures,
            threshold: made.threshold,
        }
        .into());
    }
    Ok(deployed(&publish::deploy(&made.out, origin, root, clock::now(None))?))
}
