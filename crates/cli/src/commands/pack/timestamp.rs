//! `pack timestamp`: renew the origin's `timestamp.json` with the online timestamp key
//! when less than `--renew-within` seconds of it are left, or re-sign it at once at
//! another service degradation level with `--degradation` (`docs/formats/signing.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::timestamp::{current_degradation, degradation_summary, set_degradation};
use ferretwatch_pack_publisher::publish::{renew, Renewal};
use serde_json::json;

use super::deploy::OnlineArgs;
use crate::clock;
use crate::error::CliError;
use crate::input::read_root;
use crate::output::{self, FormatArg, Report};

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
    /// Re-sign the timestamp now at this service degradation level, kept by every later
    /// timestamp until set again: 1 full service, 2 core detection only and reduced rule
    /// updates, 3 cached rules only, 4 minimal detection and emergency bulletins only.
    #[arg(
        long,
        value_name = "LEVEL",
        value_parser = clap::value_parser!(u8).range(1..=4),
        conflicts_with = "renew_within"
    )]
    pub degradation: Option<u8>,
    #[command(flatten)]
    pub output: FormatArg,
}

/// Renews the timestamp when due, or re-signs it at once at a new degradation level.
pub fn run(args: TimestampArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let online = args.online.load()?.ok_or_else(|| {
            CliError::input("invalid_argument", "--online-key (or FERRETWATCH_ONLINE_KEY) is required")
        })?;
        let root = read_root(&args.root)?;
        let origin = Origin::open(&args.origin)?;
        let now = clock::now(None);
        let (renewal, level, done) = match args.degradation {
            Some(level) => (set_degradation(&origin, &root, &online, now, level)?, level, "re-signed"),
            None => {
                let within = args.renew_within.unwrap_or(online.ttl_secs / 2);
                let renewal = renew(&origin, &root, &online, now, within)?;
                (renewal, current_degradation(&origin, &root)?, "renewed")
            }
        };
        let service = format!("degradation level {level} ({})", degradation_summary(level));
        Ok(match renewal {
            Renewal::Renewed { version, expires } => Report::new(
                format!("{}: timestamp.json {done}, version {version}, expires {expires}; {service}", origin.url()),
                &json!({ "renewed": true, "version": version, "expires": expires, "degradation": level }),
            ),
            Renewal::Fresh { expires } => Report::new(
                format!("{}: timestamp.json is fresh until {expires}; nothing to do; {service}", origin.url()),
                &json!({ "renewed": false, "expires": expires, "degradation": level }),
            ),
        })
    })
}
