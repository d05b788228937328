//! `ferretwatch pack sign` and `ferretwatch pack verify`: the two-person rule and what a
//! client checks before it trusts a pack (`docs/formats/signing.md`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use ferretwatch_pack::trust::http::HttpSource;
use ferretwatch_pack::trust::keys::PrivateKey;
use ferretwatch_pack::trust::metadata::{Envelope, Root};
use ferretwatch_pack::trust::sign_pack;
use ferretwatch_pack::trust::verify::{DirSource, Source, VerifiedPack, Verifier, VerifyError};
use ferretwatch_types::Timestamp;

use super::bad_input;

/// `pack sign`.
#[derive(Args)]
pub struct SignArgs {
    /// The built pack directory (or any file in it).
    pub dir: PathBuf,
    /// This publisher's private key file.
    #[arg(long, env = "FERRETWATCH_SIGNING_KEY")]
    pub key: PathBuf,
    /// Refuse to sign unless the root of trust lists this key for the pack roles.
    #[arg(long, env = "FERRETWATCH_ROOT")]
    pub root: Option<PathBuf>,
}

/// `pack verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// A pack directory (or any file in it), or the origin URL it is served under (http,
    /// https or file).
    #[arg(env = "FERRETWATCH_ORIGIN", default_value = "dist")]
    pub pack: String,
    /// The root of trust.
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    pub root: PathBuf,
    /// Client state (newest trusted root, highest versions seen); updated on success.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Verify as of this instant (RFC 3339 UTC) instead of now, e.g. to reproduce a report.
    #[arg(long)]
    pub now: Option<String>,
    /// Output format.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub format: String,
}

/// Adds one signature.
pub fn run_sign(args: SignArgs) -> ExitCode {
    match sign(&args) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => bad_input("sign_failed", format!("{e:#}"), false),
    }
}

fn sign(args: &SignArgs) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(&args.key).with_context(|| format!("reading {}", args.key.display()))?;
    let key = PrivateKey::from_json(&text)?;
    let root = match &args.root {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let envelope =
                Envelope::parse(&bytes).with_context(|| format!("{} is not TUF metadata", path.display()))?;
            Some(serde_json::from_value::<Root>(envelope.signed).with_context(|| format!("{}", path.display()))?)
        }
        None => None,
    };
    let dir = super::pack_dir(&args.dir);
    let outcome = sign_pack(&dir, &key, root.as_ref())?;
    let needed = root.as_ref().and_then(|r| r.roles.get("targets")).map(|r| r.threshold);
    Ok(format!(
        "{}: signed by {}{}; {} signature(s){}",
        dir.display(),
        outcome.keyid,
        if outcome.replaced { " (replacing its earlier signature)" } else { "" },
        outcome.signatures,
        needed.map(|n| format!(" of {n} required")).unwrap_or_default()
    ))
}

/// Verifies like a client; the exit status names the refusal (40–49, see docs/runbook.md).
pub fn run_verify(args: VerifyArgs) -> ExitCode {
    let json = args.format == "json";
    let now = match &args.now {
        None => Timestamp::now(),
        Some(text) => match Timestamp::parse(text) {
            Ok(t) => t,
            Err(_) => return bad_input("invalid_time", "--now must be RFC 3339 UTC", json),
        },
    };
    let root = match std::fs::read(&args.root) {
        Ok(bytes) => bytes,
        Err(e) => return bad_input("unreadable_root", format!("{}: {e}", args.root.display()), json),
    };
    let result = Verifier::with_state_dir(root, now, args.state.as_deref()).and_then(|verifier| {
        let source = source(&args.pack);
        let pack = verifier.verify(source.as_ref())?;
        if let Some(dir) = &args.state {
            pack.save_state(dir)?;
        }
        Ok(pack)
    });
    match result {
        Ok(pack) => {
            report_ok(&args.pack, &pack, json);
            ExitCode::SUCCESS
        }
        Err(e) => report_refusal(&args.pack, &e, json),
    }
}

/// The source a pack argument names: an http(s) origin URL, or a directory.
pub fn source(pack: &str) -> Box<dyn Source> {
    if pack.starts_with("http://") || pack.starts_with("https://") {
        Box::new(HttpSource::new(pack, Duration::from_secs(30)))
    } else {
        Box::new(DirSource(super::pack_dir(Path::new(pack.strip_prefix("file://").unwrap_or(pack)))))
    }
}

fn report_ok(pack: &str, verified: &VerifiedPack, json: bool) {
    let bytes: usize = verified.files.values().map(Vec::len).sum();
    if json {
        let out = serde_json::json!({
            "ok": true,
            "pack": pack,
            "pack_version": verified.pack_version,
            "version": verified.version,
            "root_version": verified.root_version,
            "expires": verified.expires.to_string(),
            "files": verified.files.len(),
            "bytes": bytes,
        });
        println!("{out}");
    } else {
        println!(
            "ok: {pack}: pack {} verified under root version {}: {} files, {bytes} bytes, each matching its signed \
             length and sha256; expires {}",
            verified.pack_version,
            verified.root_version,
            verified.files.len(),
            verified.expires
        );
    }
}

fn report_refusal(pack: &str, error: &VerifyError, json: bool) -> ExitCode {
    if json {
        let out = serde_json::json!({
            "ok": false,
            "pack": pack,
            "error": { "code": error.code(), "message": error.to_string(), "exit_status": error.exit_status() },
        });
        println!("{out}");
    }
    eprintln!("ferretwatch: REFUSED {pack}: error[{}]: {error}", error.code());
    ExitCode::from(u8::try_from(error.exit_status()).unwrap_or(1))
}
