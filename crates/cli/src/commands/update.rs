//! `ferretwatch update`: one update cycle of a client installed in a directory, over
//! HTTP, with the same updater every client runs (`docs/updater.md`): root rotations,
//! bulletins, the timestamp, snapshot, targets and delegated roles, only the changed files
//! (or a delta), a staged install that must load before it is used, an atomic swap, and
//! the last known good pack kept. `ferretwatch scan --client DIR` then scans with the
//! installed pack.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use ferretwatch_pack_client::install::{ClientDir, ClientState};
use ferretwatch_pack_client::update::{run_cycle, Config, Outcome, Persisted, Updater};
use ferretwatch_pack_publisher::http::{client_agent, fetch_update};
use ferretwatch_types::{Fault, Timestamp};
use serde_json::json;

use crate::clock;
use crate::error::{CliError, Failure};
use crate::exit;
use crate::input::read_root;
use crate::output::{self, FormatArg, Report};

/// `ferretwatch update`.
#[derive(Args)]
pub struct UpdateArgs {
    /// The client's installation directory (created when missing): state.json, packs/,
    /// base/.
    #[arg(long)]
    pub dir: PathBuf,
    /// The root of trust the client ships with (rotations are followed from it).
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    pub root: PathBuf,
    /// Base URL of the origin or a mirror (repeatable); the installed pack may list more.
    #[arg(long = "mirror", value_name = "URL", required = true)]
    pub mirrors: Vec<String>,
    /// Do nothing unless the next poll is due (for a timer that fires more often than the
    /// polling interval).
    #[arg(long)]
    pub if_due: bool,
    /// Seconds between polls.
    #[arg(long, default_value_t = 3600)]
    pub interval: u64,
    /// Seconds one request may take.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// The YARA time limit, in milliseconds, of the engine built to check a new pack.
    #[arg(long, default_value_t = 1000)]
    pub yara_timeout_ms: u64,
    #[command(flatten)]
    pub output: FormatArg,
}

/// Runs one cycle; exit 0 when the client is current (updated or unchanged), the refusal's
/// status (40–50) when what the origin served was refused, 1 when it could not be had or
/// did not install.
pub fn run(args: UpdateArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let root = read_root(&args.root)?;
        let client = ClientDir::open(&args.dir)?;
        let mut state = match client.load_state()? {
            Some(state) => state,
            None => ClientState { install_id: new_install_id()?, updater: Persisted::default() },
        };
        let config = Config {
            interval_secs: args.interval,
            jitter_secs: args.interval / 10,
            ..Config::new(args.mirrors.clone(), state.install_id.clone())
        };
        let mut updater = Updater::new(config, &root, state.updater.clone())
            .map_err(|e| CliError::input("bad_root", e.to_string()))?;
        let now = clock::now(None);
        let due = updater.next_poll(now);
        if args.if_due && state.updater.next_poll.is_some() && due > now {
            let text = format!("{}: not due until {due}", args.dir.display());
            return Ok(Report::new(text, &json!({ "due": false, "next_poll": due, "status": updater.status(now) })));
        }
        let agent = client_agent(Duration::from_secs(args.timeout), "update");
        let yara_timeout = Duration::from_millis(args.yara_timeout_ms);
        let running = updater.persisted().current.clone();
        let started = Instant::now();
        let outcome = run_cycle(
            &mut updater,
            now,
            |request| {
                // Back off for real: not before the instant the updater asks for.
                let wait = request.not_before.as_millis() - now.as_millis();
                let elapsed = started.elapsed().as_millis() as i64;
                if wait > elapsed {
                    std::thread::sleep(Duration::from_millis((wait - elapsed) as u64));
                }
                fetch_update(&agent, request)
            },
            |staged| client.install(staged, running.as_ref(), now, yara_timeout).map_err(|e| e.to_string()),
            |names| client.read_base(names),
        );
        state.updater = updater.persisted().clone();
        client.save_state(&state)?;
        client.prune(&state.updater)?;
        Ok(report(&args, &updater, &outcome, now))
    })
}

fn report(args: &UpdateArgs, updater: &Updater, outcome: &Outcome, now: Timestamp) -> Report {
    let status = updater.status(now);
    let persisted = updater.persisted();
    let pack = status.pack_version.as_deref().unwrap_or("none");
    let (what, code) = match outcome {
        Outcome::Updated { pack_version } => (format!("installed pack {pack_version}"), None),
        Outcome::Unchanged => (format!("pack {pack} is current"), None),
        Outcome::Failed { code, reason } => {
            (format!("update failed ({code}): {reason}; still on pack {pack}"), Some(code))
        }
    };
    let stale = if status.stale { "; STALE (the timestamp or the pack has expired)" } else { "" };
    let degraded = match status.degradation {
        1 => String::new(),
        level => format!("; service degradation level {level}"),
    };
    let next = persisted.next_poll.map(|t| t.to_string()).unwrap_or_default();
    let text = format!(
        "{}: {what}{stale}{degraded}; {} bulletin(s) held; next poll {next}",
        args.dir.display(),
        persisted.bulletins.held.len()
    );
    let json = json!({
        "outcome": outcome,
        "status": status,
        "next_poll": persisted.next_poll,
        "bulletins": persisted.bulletins.held.keys().collect::<Vec<_>>(),
        "mirrors": updater.mirrors(),
    });
    let code = code.map_or(exit::SUCCESS, |code| exit::status(code, Fault::Operation));
    Report::new(text, &json).with_status(code)
}

/// 128 random bits, hex: the install id (only its hash is ever used).
fn new_install_id() -> Result<String, Failure> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| CliError::failed("no_randomness", e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
