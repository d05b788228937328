//! `pack verify`: what a client checks before it trusts a pack; the exit status names the
//! refusal (40–50, `docs/cli.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_client::dir;
use ferretwatch_pack_client::trust::verify::VerifiedPack;
use ferretwatch_types::Timestamp;
use serde_json::json;

use crate::clock::{self, parse_instant};
use crate::input::{pack_source, read_root};
use crate::output::{self, FormatArg, Report};

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
    /// Verify as of this instant (RFC 3339 UTC or Unix seconds) instead of now, e.g. to
    /// reproduce a report.
    #[arg(long, value_parser = parse_instant)]
    pub now: Option<Timestamp>,
    #[command(flatten)]
    pub output: FormatArg,
}

/// Verifies like a client; the exit status names the refusal.
pub fn run(args: VerifyArgs) -> ExitCode {
    output::run(args.output.format, Some(&args.pack), || {
        let root = read_root(&args.root)?;
        let verifier = dir::verifier(root, clock::now(args.now), args.state.as_deref())?;
        let pack = verifier.verify(pack_source(&args.pack).as_ref())?;
        if let Some(state) = &args.state {
            dir::save_state(state, &pack)?;
        }
        Ok(report(&args.pack, &pack))
    })
}

/// One digest of a verified pack's content: SHA-256 over each file's name and SHA-256, in
/// name order. Two sources serve the same pack exactly when their digests are equal.
fn content_sha256(verified: &VerifiedPack) -> String {
    let mut lines = String::new();
    for (name, bytes) in &verified.files {
        lines.push_str(name);
        lines.push('\0');
        lines.push_str(&ferretwatch_types::Sha256::of(bytes).to_hex());
        lines.push('\n');
    }
    ferretwatch_types::Sha256::of(lines.as_bytes()).to_hex()
}

fn report(pack: &str, verified: &VerifiedPack) -> Report {
    let bytes: usize = verified.files.values().map(Vec::len).sum();
    let json = json!({
        "ok": true,
        "pack": pack,
        "pack_version": verified.pack_version,
        "version": verified.version,
        "root_version": verified.root_version,
        "expires": verified.expires.to_string(),
        "files": verified.files.len(),
        "bytes": bytes,
        "content_sha256": content_sha256(verified),
        "mirrors": verified.mirrors,
    });
    let text = format!(
        "ok: {pack}: pack {} verified under root version {}: {} files, {bytes} bytes, each matching its signed \
         length and sha256; expires {}",
        verified.pack_version,
        verified.root_version,
        verified.files.len(),
        verified.expires
    );
    Report::new(text, &json)
}
