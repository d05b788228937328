//! `ferretwatch root …`: the root of trust (publisher keys and thresholds) and its rotation.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use ferretwatch_pack::trust::keys::{KeyObject, PrivateKey};
use ferretwatch_pack::trust::metadata::{Envelope, Root};
use ferretwatch_pack::trust::{sign_root, write_atomic};
use ferretwatch_types::Timestamp;

use super::bad_input;

/// Root-of-trust commands.
#[derive(Subcommand)]
pub enum RootCommand {
    /// Write an unsigned root: these publisher keys sign every role, THRESHOLD of them
    /// needed. For a rotation, give the next version and publish the file as
    /// `N.root.json` once a threshold of old and of new keys have signed it.
    Create {
        /// A publisher's public key file (`keys generate` writes NAME.pub); repeat.
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        /// Signatures required for each role (2 in production).
        #[arg(long, default_value_t = 2)]
        threshold: u32,
        /// Root version: 1 for a new root of trust, previous + 1 for a rotation.
        #[arg(long, default_value_t = 1)]
        version: u64,
        /// Expiry, RFC 3339 UTC (`2027-11-27T00:00:00Z`).
        #[arg(long)]
        expires: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add one signature to a root file.
    Sign {
        /// The root file.
        file: PathBuf,
        /// The signer's private key file.
        #[arg(long)]
        key: PathBuf,
    },
}

/// Runs a root command.
pub fn run(command: RootCommand) -> ExitCode {
    let result = match command {
        RootCommand::Create { keys, threshold, version, expires, out } => {
            create(&keys, threshold, version, &expires, &out)
        }
        RootCommand::Sign { file, key } => sign(&file, &key),
    };
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => bad_input("root_failed", format!("{e:#}"), false),
    }
}

fn create(keys: &[PathBuf], threshold: u32, version: u64, expires: &str, out: &Path) -> anyhow::Result<String> {
    let expires = Timestamp::parse(expires).context("--expires must be RFC 3339 UTC, e.g. 2027-11-27T00:00:00Z")?;
    let keys = keys
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let key: KeyObject =
                serde_json::from_str(&text).with_context(|| format!("{} is not a public key file", path.display()))?;
            key.verifying_key()?;
            Ok(key)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let root = Root::new(version, expires, &keys, threshold)?;
    write_atomic(out, &Envelope::new(&root).to_bytes())?;
    Ok(format!(
        "{}: root version {version}, {} key(s), threshold {threshold}, expires {expires}; unsigned: each publisher \
         runs `ferretwatch root sign {} --key KEY`",
        out.display(),
        root.keys.len(),
        out.display()
    ))
}

fn sign(file: &Path, key: &Path) -> anyhow::Result<String> {
    let key =
        PrivateKey::from_json(&std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?)?;
    let outcome = sign_root(file, &key)?;
    Ok(format!(
        "{}: signed by {}{}; {} signature(s)",
        file.display(),
        outcome.keyid,
        if outcome.replaced { " (replacing its earlier signature)" } else { "" },
        outcome.signatures
    ))
}
