//! `backup keygen`: a new identity (the private key, mode 0600) and its recipient file
//! (`FILE.pub`), for `--encrypt-to FILE.pub` and `--identity FILE`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use clap::Args;
use ferretwatch_backup::crypt::Identity;
use serde_json::json;

use crate::error::{CliError, Failure};
use crate::output::{FormatArg, Report};

/// `backup keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// The identity file to write (refused if it exists); the recipient goes to FILE.pub.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    pub(super) output: FormatArg,
}

/// Runs `backup keygen`.
pub fn run(args: &KeygenArgs) -> Result<Report, Failure> {
    let identity = Identity::generate()?;
    let public = PathBuf::from(format!("{}.pub", args.out.display()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&args.out)
        .map_err(|e| CliError::input("unwritable", format!("{}: {e}", args.out.display())))?;
    file.write_all(identity.to_file_text().as_bytes())
        .map_err(|e| CliError::failed("unwritable", format!("{}: {e}", args.out.display())))?;
    std::fs::write(&public, identity.recipient().to_file_text())
        .map_err(|e| CliError::failed("unwritable", format!("{}: {e}", public.display())))?;
    let fingerprint = identity.recipient().fingerprint();
    Ok(Report::new(
        format!(
            "identity {} (keep it off the backup machine), recipient {} (fingerprint {fingerprint}): \
             back up with --encrypt-to {}",
            args.out.display(),
            public.display(),
            public.display()
        ),
        &json!({ "identity": args.out, "recipient": public, "fingerprint": fingerprint }),
    ))
}
