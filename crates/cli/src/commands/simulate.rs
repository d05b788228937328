//! `ferretwatch simulate`: the real update code (`ferretwatch_pack_client::update`)
//! driving many simulated clients against real `ferretwatch serve` origins over HTTP, with
//! faults injected, on a virtual clock (a day of polling takes minutes).
//!
//! The timeline: before `--deploy-at` the origin serves the previous pack (`--before`);
//! from then on the new one (`--mirror`, one URL per mirror). Every origin is down for
//! `--outage` seconds centred on the deploy, and the first mirror is down for the second
//! hour. On top of that, each request meets one fault with the probabilities of
//! [`FAULTS`]: a 503 (half of them with `Retry-After`), a timeout, a body cut in half, a
//! flipped byte, or an answer from the previous origin (stale metadata: a rollback or
//! freeze attempt). Which request meets which fault is a hash of the client and the
//! request number, so a run is reproducible.
//!
//! Measured: update success rate (cycles outside the outage), convergence on the new pack
//! after the origin recovers, installs checked file by file against the origin's signed
//! packs (any mismatch is an unverified install), the smallest gap between one client's
//! polls, bytes per client per day, the 304 share of timestamp requests, and the origin's
//! requests per virtual minute (peak and mean).

use std::collections::{BTreeMap, BinaryHeap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use clap::Args;
use ferretwatch_pack_client::trust::verify::{State, Verifier};
use ferretwatch_pack_client::update::{spread, Config, Outcome, Persisted, Request, Response, Step, Updater};
use ferretwatch_pack_publisher::http::{client_agent, fetch_update, HttpSource};
use ferretwatch_types::{Sha256, Timestamp};
use serde::Serialize;

use crate::error::{CliError, Failure};
use crate::input::read_input;
use crate::output::{self, FormatArg, Report};

/// Fault probabilities per request, in parts per ten thousand: 503, timeout, truncated
/// body, flipped byte, stale answer from the previous origin.
pub const FAULTS: [(&str, u64); 5] =
    [("http_503", 200), ("timeout", 100), ("truncated", 100), ("tampered", 100), ("stale", 100)];

/// `ferretwatch simulate` arguments.
#[derive(Args)]
pub struct SimulateArgs {
    /// Simulated clients.
    #[arg(long, default_value_t = 10_000)]
    clients: usize,
    /// Base URL of an origin serving the new pack (`http://127.0.0.1:8080/v1`); repeat
    /// for mirrors.
    #[arg(long = "mirror", required = true)]
    mirrors: Vec<String>,
    /// Base URL of an origin still serving the previous pack.
    #[arg(long)]
    before: String,
    /// The root of trust the clients ship.
    #[arg(long, default_value = "root.json")]
    root: PathBuf,
    /// Virtual hours to simulate.
    #[arg(long, default_value_t = 24)]
    hours: u64,
    /// Virtual second at which the new pack is deployed.
    #[arg(long, default_value_t = 5 * 3600)]
    deploy_at: u64,
    /// Base URL of an origin serving the new pack plus fresh intel published by the
    /// delegated intel role (no publisher signature); the mirrors switch to it at
    /// `--intel-at`.
    #[arg(long, requires = "intel_at")]
    intel: Option<String>,
    /// Virtual second at which the fresh intel is published.
    #[arg(long)]
    intel_at: Option<u64>,
    /// Base URL of an origin serving what the others serve, with a newer timestamp that
    /// carries a degradation level (`pack timestamp --degradation N`); every origin
    /// switches to it at `--degraded-at`.
    #[arg(long, requires = "degraded_at")]
    degraded: Option<String>,
    /// Virtual second at which the degradation level changes (not before `--intel-at`).
    #[arg(long)]
    degraded_at: Option<u64>,
    /// Seconds every origin is down, centred on the deploy.
    #[arg(long, default_value_t = 3600)]
    outage: u64,
    /// Seconds between a client's polls.
    #[arg(long, default_value_t = 3600)]
    interval: u64,
    /// Inject no per-request faults (the outages stay).
    #[arg(long)]
    no_faults: bool,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    format: FormatArg,
}

/// What a run measured.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Clients simulated.
    pub clients: usize,
    /// Virtual hours.
    pub hours: u64,
    /// Update cycles started outside the outage.
    pub cycles: u64,
    /// Of those, cycles that ended updated or unchanged.
    pub succeeded: u64,
    /// `succeeded / cycles`.
    pub success_rate: f64,
    /// Cycles started during the outage (all fail; not in the rate).
    pub outage_cycles: u64,
    /// Failed cycles by refusal code.
    pub failures: BTreeMap<String, u64>,
    /// Faults injected by kind.
    pub faults: BTreeMap<String, u64>,
    /// Clients on the new pack at the end.
    pub converged: usize,
    /// Longest time from the origin's recovery to a client installing the new pack (s).
    pub max_convergence_secs: u64,
    /// The bound: one interval plus the largest jitter (s).
    pub convergence_bound_secs: u64,
    /// Clients that took longer than the bound.
    pub converged_late: usize,
    /// Clients holding the fresh intel at the end (with `--intel`).
    pub intel_reached: usize,
    /// Longest time from the intel's publication to a client installing it (s).
    pub max_intel_delay_secs: u64,
    /// Median of that time (s).
    pub median_intel_delay_secs: u64,
    /// The degradation level the `--degraded` origin's timestamp carries (0 without one).
    pub degradation_level: u8,
    /// Clients that heard that level.
    pub degradation_reached: usize,
    /// Longest time from the level change to a client hearing it (s).
    pub max_degradation_delay_secs: u64,
    /// Median of that time (s).
    pub median_degradation_delay_secs: u64,
    /// Installs whose files differ from the origin's signed pack (must be 0).
    pub unverified_installs: u64,
    /// Installs.
    pub installs: u64,
    /// The smallest gap between two cycles of one client (s).
    pub min_poll_gap_secs: u64,
    /// Body bytes received per client per day.
    pub bytes_per_client_per_day: u64,
    /// Share of timestamp requests answered 304.
    pub not_modified_share: f64,
    /// Requests that reached an origin.
    pub origin_requests: u64,
    /// Most requests in one virtual minute (outside the outage).
    pub origin_peak_per_minute: u64,
    /// Mean requests per virtual minute (outside the outage).
    pub origin_mean_per_minute: f64,
    /// `peak / mean` of requests.
    pub peak_to_mean: f64,
    /// Most update cycles started in one virtual minute (outside the outage).
    pub polls_peak_per_minute: u64,
    /// Mean update cycles started per virtual minute (outside the outage).
    pub polls_mean_per_minute: f64,
    /// `peak / mean` of cycles: the thundering-herd measure.
    pub polls_peak_to_mean: f64,
}

/// Runs `ferretwatch simulate`.
pub fn run(args: SimulateArgs) -> ExitCode {
    let format = args.format.format;
    output::run(format, None, || {
        let summary = simulate(&args)?;
        // Fresh intel must reach every client when the run lasts one bound past it.
        let intel_due = match (&args.intel, args.intel_at) {
            (Some(_), Some(at)) => at + summary.convergence_bound_secs <= args.hours * 3600,
            _ => false,
        };
        // So must a level change.
        let level_due = match (&args.degraded, args.degraded_at) {
            (Some(_), Some(at)) => at + summary.convergence_bound_secs <= args.hours * 3600,
            _ => false,
        };
        let ok = summary.unverified_installs == 0
            && summary.converged == summary.clients
            && summary.converged_late == 0
            && (!intel_due
                || (summary.intel_reached == summary.clients
                    && summary.max_intel_delay_secs <= summary.convergence_bound_secs))
            && (!level_due
                || (summary.degradation_reached == summary.clients
                    && summary.max_degradation_delay_secs <= summary.convergence_bound_secs));
        let report = Report::new(text(&summary), &summary);
        Ok(if ok { report } else { report.with_status(1) })
    })
}

/// The virtual timeline.
#[derive(Debug, Clone, Copy)]
struct Timeline {
    start: Timestamp,
    deploy_at: u64,
    intel_at: Option<u64>,
    degraded_at: Option<u64>,
    outage: (u64, u64),
    mirror_down: (u64, u64),
    faults: bool,
}

impl Timeline {
    fn offset(&self, at: Timestamp) -> u64 {
        at.secs_since(self.start)
    }

    fn in_outage(&self, at: Timestamp) -> bool {
        let t = self.offset(at);
        (self.outage.0..self.outage.1).contains(&t)
    }
}

/// The truth the clients are checked against: each legitimate pack's files and hashes.
type Legit = Vec<BTreeMap<String, String>>;

fn legit_pack(root: &[u8], base: &str, now: Timestamp) -> Result<(u64, BTreeMap<String, String>), Failure> {
    let source = HttpSource::new(base, Duration::from_secs(30));
    let pack = Verifier::new(root.to_vec(), now, State::default()).consistent_when_root_says().verify(&source)?;
    Ok((pack.version, pack.files.iter().map(|(name, bytes)| (name.clone(), Sha256::of(bytes).to_hex())).collect()))
}

fn simulate(args: &SimulateArgs) -> Result<Summary, Failure> {
    if args.clients == 0 || args.hours == 0 || args.interval == 0 {
        return Err(CliError::input("invalid_argument", "--clients, --hours and --interval must be positive").into());
    }
    let root = read_input(&args.root)?;
    let start = Timestamp::now().whole_second();
    let (old_version, old_files) = legit_pack(&root, &args.before, start)?;
    let (new_version, new_files) = legit_pack(&root, &args.mirrors[0], start)?;
    if new_version <= old_version {
        return Err(CliError::input(
            "invalid_argument",
            "the --mirror origin must serve a newer pack than the --before origin",
        )
        .into());
    }
    let mut legit: Legit = vec![old_files, new_files];
    if let Some(intel) = &args.intel {
        let (_, files) = legit_pack(&root, intel, start)?;
        if !files.contains_key(ferretwatch_pack_client::layout::INTEL_MANIFEST) {
            return Err(CliError::input("invalid_argument", "the --intel origin serves no delegated intel").into());
        }
        legit.push(files);
    }
    let mut level = 0;
    if let (Some(degraded), Some(at)) = (&args.degraded, args.degraded_at) {
        if args.intel_at.is_some_and(|intel| at < intel) {
            return Err(CliError::input("invalid_argument", "--degraded-at must not come before --intel-at").into());
        }
        let (_, files) = legit_pack(&root, degraded, start)?;
        level = served_level(degraded)?;
        if level <= 1 {
            return Err(CliError::input(
                "invalid_argument",
                "the --degraded origin's timestamp carries no degradation level",
            )
            .into());
        }
        legit.push(files);
    }
    let half = args.outage / 2;
    let timeline = Timeline {
        start,
        deploy_at: args.deploy_at,
        intel_at: args.intel.as_ref().and(args.intel_at),
        degraded_at: args.degraded.as_ref().and(args.degraded_at),
        outage: (args.deploy_at.saturating_sub(half), args.deploy_at + (args.outage - half)),
        mirror_down: (3600, 7200),
        faults: !args.no_faults,
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1);
    let totals = Mutex::new(Totals::default());
    std::thread::scope(|scope| {
        for worker in 0..threads {
            let (legit, totals, root) = (&legit, &totals, &root);
            scope.spawn(move || {
                let ids: Vec<usize> = (worker..args.clients).step_by(threads).collect();
                let part = run_worker(args, timeline, root, legit, new_version, level, &ids);
                totals.lock().expect("not poisoned").merge(part);
            });
        }
    });
    let totals = totals.into_inner().expect("not poisoned");
    let mut summary = totals.summary(args, timeline);
    summary.degradation_level = level;
    Ok(summary)
}

/// The degradation level an origin's timestamp carries (its signature is checked by the
/// clients; this is what they should hear).
fn served_level(base: &str) -> Result<u8, Failure> {
    let url = format!("{}/{}", base.trim_end_matches('/'), ferretwatch_pack_client::layout::TIMESTAMP);
    let agent = client_agent(Duration::from_secs(30), "simulate");
    let bytes = agent
        .get(&url)
        .call()
        .and_then(|mut r| r.body_mut().read_to_vec())
        .map_err(|e| CliError::input("origin_unavailable", format!("{url}: {e}")))?;
    Ok(ferretwatch_pack_publisher::publish::timestamp::degradation_of(&bytes))
}

/// What one worker counted.
#[derive(Debug, Default)]
struct Totals {
    cycles: u64,
    succeeded: u64,
    outage_cycles: u64,
    failures: BTreeMap<String, u64>,
    faults: BTreeMap<String, u64>,
    converged: usize,
    late: usize,
    max_convergence: u64,
    unverified: u64,
    installs: u64,
    min_gap: Option<u64>,
    bytes: u64,
    timestamp_requests: u64,
    not_modified: u64,
    per_minute: BTreeMap<u64, u64>,
    polls_per_minute: BTreeMap<u64, u64>,
    intel_delays: Vec<u64>,
    level_delays: Vec<u64>,
}

impl Totals {
    fn merge(&mut self, other: Totals) {
        self.cycles += other.cycles;
        self.succeeded += other.succeeded;
        self.outage_cycles += other.outage_cycles;
        for (k, v) in other.failures {
            *self.failures.entry(k).or_default() += v;
        }
        for (k, v) in other.faults {
            *self.faults.entry(k).or_default() += v;
        }
        self.converged += other.converged;
        self.late += other.late;
        self.max_convergence = self.max_convergence.max(other.max_convergence);
        self.unverified += other.unverified;
        self.installs += other.installs;
        self.min_gap = match (self.min_gap, other.min_gap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.bytes += other.bytes;
        self.timestamp_requests += other.timestamp_requests;
        self.not_modified += other.not_modified;
        for (k, v) in other.per_minute {
            *self.per_minute.entry(k).or_default() += v;
        }
        for (k, v) in other.polls_per_minute {
            *self.polls_per_minute.entry(k).or_default() += v;
        }
        self.intel_delays.extend(other.intel_delays);
        self.level_delays.extend(other.level_delays);
    }

    fn summary(mut self, args: &SimulateArgs, timeline: Timeline) -> Summary {
        self.intel_delays.sort_unstable();
        self.level_delays.sort_unstable();
        // Minutes touching the outage are left out: nothing reaches the origin then.
        let peak_and_mean = |counts: &BTreeMap<u64, u64>| {
            let minutes: Vec<u64> = (0..args.hours * 60)
                .filter(|m| !(m * 60 + 60 > timeline.outage.0 && m * 60 < timeline.outage.1))
                .map(|m| counts.get(&m).copied().unwrap_or(0))
                .collect();
            let mean = minutes.iter().sum::<u64>() as f64 / minutes.len().max(1) as f64;
            (minutes.iter().copied().max().unwrap_or(0), mean)
        };
        let (peak, mean) = peak_and_mean(&self.per_minute);
        let (polls_peak, polls_mean) = peak_and_mean(&self.polls_per_minute);
        Summary {
            clients: args.clients,
            hours: args.hours,
            cycles: self.cycles,
            succeeded: self.succeeded,
            success_rate: self.succeeded as f64 / self.cycles.max(1) as f64,
            outage_cycles: self.outage_cycles,
            failures: self.failures,
            faults: self.faults,
            converged: self.converged,
            max_convergence_secs: self.max_convergence,
            convergence_bound_secs: args.interval + args.interval / 10,
            converged_late: self.late,
            intel_reached: self.intel_delays.len(),
            max_intel_delay_secs: self.intel_delays.last().copied().unwrap_or(0),
            median_intel_delay_secs: self.intel_delays.get(self.intel_delays.len() / 2).copied().unwrap_or(0),
            degradation_level: 0,
            degradation_reached: self.level_delays.len(),
            max_degradation_delay_secs: self.level_delays.last().copied().unwrap_or(0),
            median_degradation_delay_secs: self.level_delays.get(self.level_delays.len() / 2).copied().unwrap_or(0),
            unverified_installs: self.unverified,
            installs: self.installs,
            min_poll_gap_secs: self.min_gap.unwrap_or(0),
            bytes_per_client_per_day: self.bytes * 24 / (args.clients as u64 * args.hours).max(1),
            not_modified_share: self.not_modified as f64 / self.timestamp_requests.max(1) as f64,
            origin_requests: self.per_minute.values().sum(),
            origin_peak_per_minute: peak,
            origin_mean_per_minute: mean,
            peak_to_mean: if mean > 0.0 { peak as f64 / mean } else { 0.0 },
            polls_peak_per_minute: polls_peak,
            polls_mean_per_minute: polls_mean,
            polls_peak_to_mean: if polls_mean > 0.0 { polls_peak as f64 / polls_mean } else { 0.0 },
        }
    }
}

struct SimClient {
    id: String,
    updater: Updater,
    last_start: Option<Timestamp>,
    requests: u64,
    on_new: bool,
    has_intel: bool,
    heard_level: bool,
}

fn run_worker(
    args: &SimulateArgs,
    timeline: Timeline,
    root: &[u8],
    legit: &Legit,
    new_version: u64,
    level: u8,
    ids: &[usize],
) -> Totals {
    let agent = client_agent(Duration::from_secs(10), "simulate");
    let mirrors: Vec<String> = (0..args.mirrors.len()).map(|i| format!("sim{i}:")).collect();
    let mut clients: Vec<SimClient> = ids
        .iter()
        .map(|i| {
            let id = format!("sim-install-{i}");
            let config = Config {
                interval_secs: args.interval,
                jitter_secs: args.interval / 10,
                ..Config::new(mirrors.clone(), id.clone())
            };
            let updater = Updater::new(config, root, Persisted::default()).expect("the root verified above");
            SimClient {
                id,
                updater,
                last_start: None,
                requests: 0,
                on_new: false,
                has_intel: false,
                heard_level: false,
            }
        })
        .collect();
    let end = timeline.start.plus_secs(args.hours * 3600);
    let mut queue: BinaryHeap<std::cmp::Reverse<(Timestamp, usize)>> =
        clients.iter().enumerate().map(|(n, c)| std::cmp::Reverse((c.updater.next_poll(timeline.start), n))).collect();
    let recovery = timeline.start.plus_secs(timeline.outage.1.max(timeline.deploy_at));
    let mut totals = Totals::default();
    while let Some(std::cmp::Reverse((at, n))) = queue.pop() {
        if at >= end {
            continue;
        }
        let client = &mut clients[n];
        if let Some(last) = client.last_start {
            let gap = at.secs_since(last);
            totals.min_gap = Some(totals.min_gap.map_or(gap, |g| g.min(gap)));
        }
        client.last_start = Some(at);
        *totals.polls_per_minute.entry(timeline.offset(at) / 60).or_default() += 1;
        let outcome = cycle(&agent, args, timeline, legit, client, at, &mut totals);
        if timeline.in_outage(at) {
            totals.outage_cycles += 1;
        } else {
            totals.cycles += 1;
            match &outcome {
                Outcome::Failed { code, .. } => *totals.failures.entry(code.clone()).or_default() += 1,
                _ => totals.succeeded += 1,
            }
        }
        let installed = client.updater.persisted().current.as_ref().map(|c| c.version);
        if installed == Some(new_version) && !client.on_new {
            client.on_new = true;
            let took = at.secs_since(recovery);
            totals.max_convergence = totals.max_convergence.max(took);
            if took > args.interval + args.interval / 10 {
                totals.late += 1;
            }
        }
        let intel = client
            .updater
            .persisted()
            .current
            .as_ref()
            .is_some_and(|c| c.files.contains_key(ferretwatch_pack_client::layout::INTEL_MANIFEST));
        if intel && !client.has_intel {
            client.has_intel = true;
            let published = timeline.start.plus_secs(timeline.intel_at.unwrap_or(0));
            totals.intel_delays.push(at.secs_since(published));
        }
        if let Some(changed) = timeline.degraded_at {
            if !client.heard_level && level > 1 && client.updater.degradation() == level {
                client.heard_level = true;
                totals.level_delays.push(at.secs_since(timeline.start.plus_secs(changed)));
            }
        }
        queue.push(std::cmp::Reverse((client.updater.next_poll(at), n)));
    }
    totals.converged = clients.iter().filter(|c| c.on_new).count();
    totals
}

/// One update cycle of one client at virtual time `at`, through the fault layer.
fn cycle(
    agent: &ureq::Agent,
    args: &SimulateArgs,
    timeline: Timeline,
    legit: &Legit,
    client: &mut SimClient,
    at: Timestamp,
    totals: &mut Totals,
) -> Outcome {
    let mut step = client.updater.start(at);
    loop {
        step = match step {
            Step::Fetch(request) => {
                let when = request.not_before.max(at);
                client.requests += 1;
                let response = faulty_fetch(agent, args, timeline, &client.id, client.requests, &request, when, totals);
                client.updater.handle(when, response)
            }
            Step::Install(staged) => {
                totals.installs += 1;
                let truth = legit.iter().find(|files| {
                    files.len() == staged.pack.files.len()
                        && staged
                            .pack
                            .files
                            .iter()
                            .all(|(name, listed)| files.get(name).map(String::as_str) == listed.sha256())
                });
                let listed_ok = truth.is_some();
                let fetched_ok = truth.is_some_and(|files| {
                    staged.fetched.iter().all(|(name, bytes)| files.get(name) == Some(&Sha256::of(bytes).to_hex()))
                });
                if !(listed_ok && fetched_ok) {
                    totals.unverified += 1;
                }
                return client.updater.installed(at, Ok(()));
            }
            // Simulated clients keep no bytes, so no delta base: the filters come whole.
            Step::ReadBase(_) => client.updater.base_read(at, BTreeMap::new()),
            Step::Done(outcome) => return outcome,
        };
    }
}

#[allow(clippy::too_many_arguments)]
fn faulty_fetch(
    agent: &ureq::Agent,
    args: &SimulateArgs,
    timeline: Timeline,
    id: &str,
    number: u64,
    request: &Request,
    when: Timestamp,
    totals: &mut Totals,
) -> Response {
    let t = timeline.offset(when);
    let mut fault = |kind: &str| *totals.faults.entry(kind.to_owned()).or_default() += 1;
    if timeline.in_outage(when) {
        fault("origin_down");
        return Response::Failed { status: None, retry_after: None };
    }
    if request.mirror == 0 && args.mirrors.len() > 1 && (timeline.mirror_down.0..timeline.mirror_down.1).contains(&t) {
        fault("mirror_down");
        return Response::Failed { status: None, retry_after: None };
    }
    let roll = if timeline.faults { spread(id, number, 10_000) } else { u64::MAX };
    let mut threshold = 0;
    let mut chosen = None;
    for (kind, parts) in FAULTS {
        threshold += parts;
        if roll < threshold {
            chosen = Some(kind);
            break;
        }
    }
    if let Some(kind) = chosen {
        fault(kind);
    }
    match chosen {
        Some("http_503") => return Response::Failed { status: Some(503), retry_after: (roll % 2 == 0).then_some(2) },
        Some("timeout") => return Response::Failed { status: None, retry_after: None },
        _ => {}
    }
    let base = if t < timeline.deploy_at || chosen == Some("stale") {
        &args.before
    } else if let (Some(degraded), Some(_)) = (&args.degraded, timeline.degraded_at.filter(|at| t >= *at)) {
        degraded
    } else if let (Some(intel), Some(at)) = (&args.intel, timeline.intel_at) {
        if t >= at {
            intel
        } else {
            &args.mirrors[request.mirror % args.mirrors.len()]
        }
    } else {
        &args.mirrors[request.mirror % args.mirrors.len()]
    };
    let mut real = request.clone();
    real.url = format!("{}/{}", base.trim_end_matches('/'), request.name);
    *totals.per_minute.entry(t / 60).or_default() += 1;
    if request.name == ferretwatch_pack_client::layout::TIMESTAMP {
        totals.timestamp_requests += 1;
    }
    let mut response = fetch_update(agent, &real);
    match &mut response {
        Response::Body { bytes, .. } => {
            totals.bytes += bytes.len() as u64;
            match chosen {
                Some("truncated") => bytes.truncate(bytes.len() / 2),
                Some("tampered") if !bytes.is_empty() => {
                    let at = (roll as usize) % bytes.len();
                    bytes[at] ^= 0x20;
                }
                _ => {}
            }
        }
        Response::NotModified => totals.not_modified += 1,
        _ => {}
    }
    response
}

fn text(s: &Summary) -> String {
    let failures: Vec<String> = s.failures.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let faults: Vec<String> = s.faults.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!(
        "{} clients, {} virtual hours\n\
         update success rate {:.3}% ({} of {} cycles outside the outage; {} during it)\n\
         failed cycles: {}\n\
         faults injected: {}\n\
         converged on the new pack: {} of {} clients, at most {} s after the origin recovered (bound {} s, {} later)\n\
         fresh intel: {} clients, median {} s and at most {} s after it was published\n\
         degradation level {}: heard by {} clients, median {} s and at most {} s after it changed\n\
         installs {}, unverified installs {}\n\
         smallest gap between one client's polls: {} s\n\
         bytes per client per day: {}; 304 share of timestamp requests: {:.1}%\n\
         origin requests {}: peak {} per minute, mean {:.1}, peak/mean {:.2}\n\
         update cycles per minute: peak {}, mean {:.1}, peak/mean {:.2}\n",
        s.clients,
        s.hours,
        s.success_rate * 100.0,
        s.succeeded,
        s.cycles,
        s.outage_cycles,
        if failures.is_empty() { "none".into() } else { failures.join(", ") },
        if faults.is_empty() { "none".into() } else { faults.join(", ") },
        s.converged,
        s.clients,
        s.max_convergence_secs,
        s.convergence_bound_secs,
        s.converged_late,
        s.intel_reached,
        s.median_intel_delay_secs,
        s.max_intel_delay_secs,
        s.degradation_level,
        s.degradation_reached,
        s.median_degradation_delay_secs,
        s.max_degradation_delay_secs,
        s.installs,
        s.unverified_installs,
        s.min_poll_gap_secs,
        s.bytes_per_client_per_day,
        s.not_modified_share * 100.0,
        s.origin_requests,
        s.origin_peak_per_minute,
        s.origin_mean_per_minute,
        s.peak_to_mean,
        s.polls_peak_per_minute,
        s.polls_mean_per_minute,
        s.polls_peak_to_mean,
    )
}
