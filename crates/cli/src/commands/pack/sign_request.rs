//! `pack sign-request`: a publisher's signature on a pack or bulletin the admin console
//! staged, made offline with their own key (`docs/formats/signing.md`, "Signing
//! requests"). What is signed is described on standard error from the signed content
//! itself; the one-line answer to paste into the console goes to standard output (or
//! `--out`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_client::dir::write_atomic;
use ferretwatch_pack_publisher::signing::{describe, sign_request, SigningRequest};

use crate::error::CliError;
use crate::input::{read_input, read_keys, read_root_for_signers};
use crate::output::{self, Format, Report};

/// `pack sign-request`.
#[derive(Args)]
pub struct SignRequestArgs {
    /// The signing request the console offers (`proposal-N.request.json`; `-` for stdin).
    pub request: PathBuf,
    /// This publisher's private key file.
    #[arg(long, env = "FERRETWATCH_SIGNING_KEY")]
    pub key: PathBuf,
    /// Refuse to sign unless the root of trust lists this key (and sign only the roles it
    /// lists the key for).
    #[arg(long, env = "FERRETWATCH_ROOT")]
    pub root: Option<PathBuf>,
    /// Write the answer to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Signs a signing request.
pub fn run(args: SignRequestArgs) -> ExitCode {
    output::run(Format::Text, None, || {
        let bytes = read_input(&args.request)?;
        let request = SigningRequest::parse(&bytes)
            .map_err(|e| CliError::input("bad_request", format!("{}: {e}", args.request.display())))?;
        let key = read_keys(std::slice::from_ref(&args.key))?.remove(0);
        let root = args.root.as_deref().map(read_root_for_signers).transpose()?;
        eprint!("{}", describe(&request)?);
        let response = sign_request(&request, &key, root.as_ref())?;
        eprintln!("signed {} document(s) with key {}", response.signatures.len(), response.keyid);
        let line = String::from_utf8(response.to_bytes()).expect("JSON is UTF-8");
        match &args.out {
            Some(path) => {
                write_atomic(path, line.as_bytes())
                    .map_err(|e| CliError::failed("io", format!("{}: {e}", path.display())))?;
                Ok(Report::text(format!("wrote the signing response to {}", path.display())))
            }
            None => Ok(Report::text(line.trim_end().to_owned())),
        }
    })
}
