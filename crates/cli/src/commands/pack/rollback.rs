//! `pack rollback`: a deployed version's content, republished under a new, higher version.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish;
use ferretwatch_types::PackVersion;

use super::deploy::deploy_when_signed;
use crate::clock;
use crate::input::{read_keys, read_root};
use crate::output::{self, Format, Report};

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

/// Republishes an earlier version under a new one (and deploys it with --deploy).
pub fn run(args: RollbackArgs) -> ExitCode {
    output::run(Format::Text, Some(&args.from), || {
        let root = read_root(&args.root)?;
        let keys = read_keys(&args.keys)?;
        let origin = Origin::open(&args.from)?;
        let made = publish::rollback(&origin, &args.to_version, &root, &keys, args.out.clone(), clock::now(None))?;
        let text = format!(
            "rolled back: the content of {} as version {} in {} ({} of {} signature(s))",
            made.from_version,
            made.version,
            made.out.display(),
            made.signatures,
            made.threshold
        );
        if !args.deploy {
            return Ok(Report::text(text));
        }
        output::emit(Format::Text, &Report::text(text));
        match args.to.as_deref().filter(|to| *to != args.from) {
            Some(to) => deploy_when_signed(&made, &Origin::open(to)?, &root),
            None => deploy_when_signed(&made, &origin, &root),
        }
    })
}
