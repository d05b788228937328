//! `pack deploy`: verify a signed pack as a client would, then upload it to the origin
//! (`docs/formats/origin.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::timestamp::{degradation_summary, DEFAULT_TTL_SECS};
use ferretwatch_pack_publisher::publish::{self, DeployReport, OnlineKey};
use serde_json::json;

use crate::clock;
use crate::error::{CliError, Failure};
use crate::input::{pack_dir, read_keys, read_root};
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
    #[command(flatten)]
    pub online: OnlineArgs,
}

/// The online timestamp key, for roots whose `timestamp` role is signed online.
#[derive(Args, Clone)]
pub struct OnlineArgs {
    /// The online timestamp key (a private key the root lists for `timestamp` only).
    #[arg(long = "online-key", env = "FERRETWATCH_ONLINE_KEY")]
    pub key: Option<PathBuf>,
    /// Seconds the timestamp stays valid (a day; the service renews it).
    #[arg(long = "timestamp-ttl", env = "FERRETWATCH_TIMESTAMP_TTL", default_value_t = DEFAULT_TTL_SECS)]
    pub ttl: u64,
}

impl OnlineArgs {
    /// The key, read and checked, when one is given.
    pub fn load(&self) -> Result<Option<OnlineKey>, Failure> {
        let Some(path) = &self.key else { return Ok(None) };
        if !(60..=7 * 24 * 3600).contains(&self.ttl) {
            return Err(CliError::input("invalid_argument", "--timestamp-ttl must be between 60 and 604800").into());
        }
        let key = read_keys(std::slice::from_ref(path))?.remove(0);
        Ok(Some(OnlineKey { key, ttl_secs: self.ttl }))
    }

    /// The same, from the environment alone (rollback and emergency deploy through it).
    pub fn from_env() -> Result<Option<OnlineKey>, Failure> {
        let key = std::env::var_os("FERRETWATCH_ONLINE_KEY").map(PathBuf::from);
        let ttl =
            std::env::var("FERRETWATCH_TIMESTAMP_TTL").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_TTL_SECS);
        OnlineArgs { key, ttl }.load()
    }
}

/// Verifies and uploads a signed pack.
pub fn run(args: DeployArgs) -> ExitCode {
    let dir = pack_dir(&args.dir);
    output::run(Format::Text, Some(&dir.display().to_string()), || {
        let root = read_root(&args.root)?;
        let origin = Origin::open(&args.to)?;
        let online = args.online.load()?;
        Ok(deployed(&publish::deploy_online(&dir, &origin, &root, clock::now(None), online.as_ref())?))
    })
}

/// What a deploy reports (also after a rollback or an emergency rule).
pub fn deployed(report: &DeployReport) -> Report {
    let previous = report.previous.as_ref().map(|v| format!(" (was {v})")).unwrap_or_default();
    let mut text = format!(
        "deployed {} to {}{previous}: {} object(s) uploaded, {} already there; timestamp.json last",
        report.version,
        report.origin,
        report.uploaded.len(),
        report.unchanged.len()
    );
    if report.degradation > 1 {
        text.push_str(&format!(
            "; still at degradation level {} ({}): `pack timestamp --degradation 1` restores full service",
            report.degradation,
            degradation_summary(report.degradation)
        ));
    }
    let json = json!({
        "version": report.version.as_str(),
        "previous": report.previous.as_ref().map(|v| v.as_str()),
        "origin": report.origin,
        "uploaded": report.uploaded,
        "unchanged": report.unchanged,
        "degradation": report.degradation,
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
    let online = OnlineArgs::from_env()?;
    Ok(deployed(&publish::deploy_online(&made.out, origin, root, clock::now(None), online.as_ref())?))
}
