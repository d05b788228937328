//! `pack timestamp`: renew the origin's `timestamp.json` with the online timestamp key
//! when less than `--renew-within` seconds of it are left (`docs/formats/signing.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::{renew, Renewal};
use serde_json::json;

use super::deploy::OnlineArgs;
use crate::clock;
use crate::error::CliError;
use crate::input::read_root;
use crate::output::{self, Format, Report};

/// `pack timestamp`.
#[derive(Args)]
pub struct TimestampArgs {
    /// The origin: file:///DIR, a directory, or s3://BUCKET[/PREFIX].
    #[arg(long, env = "FERRETWATCH_ORIGIN")]
    pub origin: String,
    /// The root of trust (the snapshot the timestamp pins must verify under it).
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    pub root: PathBuf,
    #[command(flatten)]
    pub online: OnlineArgs,
    /// Renew when less than this many seconds are left (default: half the lifetime; 0
    /// renews only an expired one, a large value always renews).
    #[arg(long)]
    pub renew_within: Option<u64>,
}

/// Renews the timestamp when due.
pub fn run(args: TimestampArgs) -> ExitCode {
    output::run(Format::Text, None, || {
        let online = args.online.load()?.ok_or_else(|| {
            CliError::input("invalid_argument", "--online-key (or FERRETWATCH_ONLINE_KEY) is required")
        })?;
        let root = read_root(&args.root)?;
        let origin = Origin::open(&args.origin)?;
        let within = args.renew_within.unwrap_or(online.ttl_secs / 2);
        Ok(match renew(&origin, &root, &online, clock::now(None), within)? {
            Renewal::Renewed { version, expires } => Report::new(
                format!("{}: timestamp.json renewed, version {version}, expires {expires}", origin.url()),
                &json!({ "renewed": true, "version": version, "expires": expires }),
            ),
            Renewal::Fresh { expires } => Report::new(
                format!("{}: timestamp.json is fresh until {expires}; nothing to do", origin.url()),
                &json!({ "renewed": false, "expires": expires }),
            ),
        })
    })
}
