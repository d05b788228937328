//! `pack sign`: one publisher's signature on a built pack (the two-person rule,
//! `docs/formats/signing.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_publisher::sign::sign_pack;
use serde_json::json;

use crate::input::{pack_dir, read_keys, read_root_for_signers};
use crate::output::{self, Format, Report};

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

/// Adds one signature.
pub fn run(args: SignArgs) -> ExitCode {
    output::run(Format::Text, None, || {
        let key = read_keys(std::slice::from_ref(&args.key))?.remove(0);
        let root = args.root.as_deref().map(read_root_for_signers).transpose()?;
        let dir = pack_dir(&args.dir);
        let outcome = sign_pack(&dir, &key, root.as_ref())?;
        let needed = root.as_ref().map(|r| r.threshold("targets"));
        let text = format!(
            "{}: signed by {}{}; {} signature(s){}",
            dir.display(),
            outcome.keyid,
            if outcome.replaced { " (replacing its earlier signature)" } else { "" },
            outcome.signatures,
            needed.map(|n| format!(" of {n} required")).unwrap_or_default()
        );
        let json = json!({ "keyid": outcome.keyid, "signatures": outcome.signatures, "required": needed });
        Ok(Report::new(text, &json))
    })
}
