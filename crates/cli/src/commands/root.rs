//! `ferretwatch root …`: the root of trust (publisher keys and thresholds) and its rotation.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use ferretwatch_pack_client::dir::write_atomic;
use ferretwatch_pack_client::trust::keys::KeyObject;
use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
use ferretwatch_pack_publisher::sign::sign_root;
use ferretwatch_types::Timestamp;

use crate::clock::parse_instant;
use crate::error::{CliError, Failure};
use crate::input::{read_input, read_keys};
use crate::output::{self, Format, Report};

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
        /// Expiry, RFC 3339 UTC (`2027-11-27T00:00:00Z`) or Unix seconds.
        #[arg(long, value_parser = parse_instant)]
        expires: Timestamp,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        /// An online timestamp key's public file: it alone signs `timestamp` (threshold 1),
        /// with a short expiry the service renews; the publishers sign the other roles.
        #[arg(long)]
        online_key: Option<PathBuf>,
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
    output::run(Format::Text, None, || match command {
        RootCommand::Create { keys, threshold, version, expires, out, online_key } => {
            create(&keys, threshold, version, expires, &out, online_key.as_deref())
        }
        RootCommand::Sign { file, key } => {
            let key = read_keys(std::slice::from_ref(&key))?.remove(0);
            let outcome = sign_root(&file, &key)?;
            Ok(Report::text(format!(
                "{}: signed by {}{}; {} signature(s)",
                file.display(),
                outcome.keyid,
                if outcome.replaced { " (replacing its earlier signature)" } else { "" },
                outcome.signatures
            )))
        }
    })
}

fn create(
    keys: &[PathBuf],
    threshold: u32,
    version: u64,
    expires: Timestamp,
    out: &Path,
    online_key: Option<&Path>,
) -> Result<Report, Failure> {
    let read_public = |path: &PathBuf| -> Result<KeyObject, Failure> {
        let key: KeyObject = serde_json::from_slice(&read_input(path)?)
            .map_err(|e| CliError::input("bad_key", format!("{} is not a public key file: {e}", path.display())))?;
        key.verifying_key()?;
        Ok(key)
    };
    let keys = keys.iter().map(read_public).collect::<Result<Vec<_>, Failure>>()?;
    let root = match online_key {
        Some(path) => Root::with_online_roles(version, expires, &keys, threshold, &read_public(&path.to_owned())?)?,
        None => Root::new(version, expires, &keys, threshold)?,
    };
    write_atomic(out, &Envelope::new(&root).to_bytes())
        .map_err(|e| CliError::input("io", format!("writing {}: {e}", out.display())))?;
    Ok(Report::text(format!(
        "{}: root version {version}, {} key(s), threshold {threshold}, expires {expires}; unsigned: each publisher \
         runs `ferretwatch root sign {} --key KEY`",
        out.display(),
        root.keys.len(),
        out.display()
    )))
}
