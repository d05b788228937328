//! The pack updater as a state machine without I/O: it says what to fetch and when, the
//! caller fetches (over HTTP in the command line and the simulator, with `fetch()` in a
//! browser) and hands back what came, and the machine verifies, decides and says what to
//! install. The same code runs natively and in WebAssembly, and every client (the command
//! line, the fleet simulator, the browser extension) gets the same protection.
//!
//! One update cycle, TUF 1.0 §5 in order:
//! 1. `N+1.root.json` until the origin has no next one (each checked against the root
//!    before it; a rotation that changes a role's keys forgets that role's versions, so a
//!    client recovers from a fast-forward attack once the keys rotate);
//! 2. `timestamp.json`, conditionally (`If-None-Match`): a 304, or a timestamp that pins
//!    the snapshot the client already trusts, ends the cycle with "unchanged";
//! 3. the snapshot and the targets the timestamp and snapshot pin, by their versioned
//!    names when the root says the origin serves consistent snapshots;
//! 4. every listed file whose hash differs from the installed pack's, by its hash-prefixed
//!    name;
//! 5. [`Step::Install`]: the caller stages the new files next to the kept ones, swaps
//!    atomically and reports back ([`Updater::installed`]). A pack that fails to load is
//!    never retried; the last known good pack stays in use.
//!
//! Scheduling: a client first polls at an offset within the interval derived from its
//! install id, then every interval plus a jitter, so a fleet spreads its polls evenly.
//! Inside a cycle a failed request is retried on the same mirror with exponential
//! back-off (honouring `Retry-After`) at most [`MAX_RETRIES`] times, then the next mirror
//! is tried. A cycle that fails everywhere waits for the next poll: never more than one
//! cycle per interval, so the origin's load is bounded whatever happens.
//!
//! Mirrors are equal: each answer is verified the same way whoever served it, and a mirror
//! that serves something refused (tampered, stale, rolled back) is simply passed over.

use std::collections::BTreeMap;

use ferretwatch_detect::filter::IndicatorKind;
use ferretwatch_types::{Coded, PackVersion, Sha256, Timestamp};
use serde::{Deserialize, Serialize};

use crate::bulletin::{verify_bulletin_with, Board, BulletinIndex, IndexEntry, MAX_BULLETIN_BYTES, MAX_INDEX_BYTES};
use crate::delta::Delta;
use crate::layout;
use crate::manifest::{Manifest, Role};
use crate::trust::metadata::{Canary, Pins, Root, TargetFile, Targets, CANARY_DIR, FULL_SERVICE};
use crate::trust::verify::{
    check_delegated, check_rotation, check_snapshot, check_target, check_targets, check_timestamp, delegated_pins,
    entry_limit, pin, trusted_root, Naming, State, VerifyError, MAX_PINS_BYTES, MAX_ROOT_BYTES, MAX_ROTATIONS,
    MAX_TARGETS_BYTES,
};

/// Retries of one request on one mirror (after its first attempt) before the next mirror
/// is tried: at most 3, as the client's error-handling policy says.
pub const MAX_RETRIES: u32 = 3;
/// Attempts of one request on one mirror.
const ATTEMPTS_PER_MIRROR: u32 = MAX_RETRIES + 1;
/// The first back-off inside a cycle, in milliseconds (then doubled per attempt).
pub const FIRST_BACKOFF_MS: u64 = 1000;
/// New bulletins fetched per cycle at most (the most severe first; the rest next time).
pub const BULLETINS_PER_CYCLE: usize = 8;
/// At degradation level 2 and above the poll interval is this many times longer.
pub const DEGRADED_INTERVAL_FACTOR: u64 = 4;

/// How a client polls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Base URLs of the origin and its mirrors (`https://cdn.example/packs`), all equal.
    pub mirrors: Vec<String>,
    /// Seconds between polls (default one hour).
    pub interval_secs: u64,
    /// At most this many seconds added to each interval (default a tenth of it).
    pub jitter_secs: u64,
    /// A stable, random id of this install: it spreads the fleet's polls and is the secret
    /// seed of the canary cohort ([`in_canary`]). Only its hash is used, it is never sent
    /// anywhere, and nothing else identifies the client.
    pub install_id: String,
    /// This client's version (`MAJOR.MINOR.PATCH`), for bulletins' `min_ext_version`.
    #[serde(default = "default_client_version")]
    pub client_version: String,
    /// Whether the caller keeps a delta base ([`Staged::base_files`]) and answers
    /// [`Step::ReadBase`]; without one, filters always come whole.
    #[serde(default = "keeps_base")]
    pub deltas: bool,
}

fn keeps_base() -> bool {
    true
}

fn default_client_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

impl Config {
    /// One-hour polls with up to six minutes of jitter.
    pub fn new(mirrors: Vec<String>, install_id: impl Into<String>) -> Self {
        Config {
            mirrors,
            interval_secs: 3600,
            jitter_secs: 360,
            install_id: install_id.into(),
            client_version: default_client_version(),
            deltas: true,
        }
    }
}

/// What the client keeps between runs (persist it after every [`Step::Done`] and after
/// [`Updater::installed`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    /// Versions trusted, for rollback protection.
    pub trust: State,
    /// The root rotations followed, oldest first, as their JSON text.
    pub rotations: Vec<String>,
    /// The installed pack.
    pub current: Option<Installed>,
    /// The pack installed before it, used again when the current one fails.
    pub last_known_good: Option<Installed>,
    /// Snapshot versions whose pack failed to install: never tried again (a snapshot
    /// names the whole pack, fresh intel included; the next publish makes a new one).
    pub failed_versions: Vec<u64>,
    /// The ETag of the last trusted `timestamp.json`.
    pub etag: Option<String>,
    /// When the last trusted timestamp expires: past it, the client is stale (a freeze).
    pub timestamp_expires: Option<Timestamp>,
    /// When the last cycle succeeded.
    pub last_success: Option<Timestamp>,
    /// When the next cycle is due.
    pub next_poll: Option<Timestamp>,
    /// Cycles completed (it varies the jitter from one interval to the next).
    pub cycles: u64,
    /// The reason the last cycle failed, if it did.
    pub last_error: Option<String>,
    /// The service's degradation level from the last trusted timestamp (1 to 4; 0 before
    /// the first).
    pub degradation: u8,
    /// Mirrors the installed pack lists (signed in its `targets`), besides the
    /// configured ones.
    pub mirrors: Vec<String>,
    /// Verified bulletins and how often each was shown.
    pub bulletins: Board,
}

/// An installed pack: what it is and what its files are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    /// `YYYY.MM.DD.HH[.N]`.
    pub pack_version: String,
    /// Its `targets` version.
    pub version: u64,
    /// The snapshot version that listed it (fresh intel changes it, not `version`).
    #[serde(default)]
    pub snapshot: u64,
    /// When its targets and snapshot metadata expire.
    pub expires: Timestamp,
    /// Its files, as `targets.json` lists them (deltas aside: they are fetched only to
    /// be applied).
    pub files: BTreeMap<String, TargetFile>,
    /// Filter files made by applying a delta, with the sha256 (hex) of the bytes the
    /// delta gave: they hold the pack's membership at the base's size, so they differ
    /// from the listed file, and the signed delta vouches for them. Pass this to
    /// [`crate::load::load_patched`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub patched: BTreeMap<String, String>,
    /// The filters deltas apply to: those of the last pack whose filters came whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Base>,
}

/// The filter files deltas apply to (`docs/formats/delta.md`): a pack's, downloaded whole.
/// The caller keeps a copy of their bytes apart from the running pack
/// ([`Staged::base_files`]) and hands them back on [`Step::ReadBase`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Base {
    /// The pack they came with (`YYYY.MM.DD.HH[.N]`).
    pub pack_version: String,
    /// By file name: the kind each lists, and its signed length and hash.
    pub filters: BTreeMap<String, (IndicatorKind, TargetFile)>,
}

/// A request for the caller to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Which mirror (an index into [`Updater::mirrors`]: the configured ones, then those
    /// the installed pack lists; use [`Request::url`] to reach it).
    pub mirror: usize,
    /// The full URL: the mirror's base, `/`, the object name.
    pub url: String,
    /// The object name.
    pub name: String,
    /// Read at most this many bytes (one more tells the machine it was too long).
    pub limit: u64,
    /// Send `If-None-Match` with this tag.
    pub etag: Option<String>,
    /// Do not send it before this instant (back-off).
    pub not_before: Timestamp,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// 200 with the body (possibly cut short by the network) and its ETag.
    Body {
        /// The bytes read (at most the request's limit + 1).
        bytes: Vec<u8>,
        /// The `ETag` header.
        etag: Option<String>,
    },
    /// 304.
    NotModified,
    /// 404.
    NotFound,
    /// Anything else: a status (5xx, 429, 403…) or none (connection refused, timeout).
    Failed {
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// `Retry-After` in seconds, when given.
        retry_after: Option<u64>,
    },
}

/// What the caller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Make this request and pass the answer to [`Updater::handle`].
    Fetch(Request),
    /// Read these files of the delta base (kept from [`Staged::base_files`]) and pass
    /// them to [`Updater::base_read`]; a file not at hand is simply left out (the whole
    /// filters are then downloaded instead).
    ReadBase(Vec<String>),
    /// Install this verified pack and report with [`Updater::installed`].
    Install(Staged),
    /// The cycle is over.
    Done(Outcome),
}

/// A verified pack to install: the new files' bytes (each checked against its signed
/// length and sha256) and the names kept from the installed pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// The pack as it will be recorded once installed.
    pub pack: Installed,
    /// New or changed files.
    pub fetched: BTreeMap<String, Vec<u8>>,
    /// Unchanged files to take from the installed pack.
    pub kept: Vec<String>,
    /// The mirrors the pack lists.
    pub mirrors: Vec<String>,
    /// When not empty, these files (of the new pack, fetched whole) are the new delta
    /// base: keep a copy of their bytes apart, replacing the previous base's.
    pub base_files: Vec<String>,
}

/// Whether this cycle takes the pack's filters from a delta.
#[derive(Debug, Clone)]
enum DeltaPlan {
    /// Not known until the new manifest is in.
    Undecided,
    /// No delta: filters are fetched whole.
    Whole,
    /// `file` (a listed delta from the base) replaces the filters in `replaces`.
    Patch { file: String, replaces: BTreeMap<String, IndicatorKind>, bytes: Option<Vec<u8>> },
    /// The delta applied: the patched filters are staged.
    Applied,
}

/// How a cycle ended. As JSON: `{"result": "updated", "pack_version"}`,
/// `{"result": "unchanged"}` or `{"result": "failed", "code", "reason"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Outcome {
    /// The installed pack is still the newest (the timestamp is renewed).
    Unchanged,
    /// A new pack was installed.
    Updated {
        /// Its version.
        pack_version: String,
    },
    /// Every mirror failed or served something refused; the next poll tries again.
    Failed {
        /// The refusal's code (`tampered`, `rollback`, `unreadable`…).
        code: String,
        /// What happened.
        reason: String,
    },
}

/// How fresh the client is, for the user interface and telemetry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The installed pack's version.
    pub pack_version: Option<String>,
    /// Seconds since the last successful cycle.
    pub since_success_secs: Option<u64>,
    /// The trusted timestamp has expired (a freeze, or an origin nobody renews), or the
    /// installed pack has: warnings still work, but intel may be old.
    pub stale: bool,
    /// The last cycle's error.
    pub last_error: Option<String>,
    /// The service's degradation level (1 full service … 4 emergency bulletins only).
    pub degradation: u8,
}

#[derive(Debug, Clone)]
enum Phase {
    Root,
    BulletinIndex,
    Bulletins {
        pending: Vec<IndexEntry>,
        /// Mirrors tried for the first pending bulletin.
        tried: usize,
    },
    Timestamp,
    Snapshot {
        timestamp: Pins,
        timestamp_etag: Option<String>,
    },
    Targets {
        timestamp: Pins,
        timestamp_etag: Option<String>,
        snapshot: Pins,
    },
    Delegated {
        targets: Targets,
        objects: BTreeMap<String, String>,
        timestamp: Pins,
        timestamp_etag: Option<String>,
        snapshot: Pins,
        pending: Vec<String>,
        done: BTreeMap<String, u64>,
    },
    Files {
        staged: Box<Staged>,
        plan: DeltaPlan,
        targets: Targets,
        objects: BTreeMap<String, String>,
        timestamp: Pins,
        timestamp_etag: Option<String>,
        snapshot: Pins,
        delegated: BTreeMap<String, u64>,
    },
    Installing {
        staged: Box<Staged>,
        trust: State,
        timestamp_expires: Timestamp,
        etag: Option<String>,
    },
}

impl Phase {
    /// Whether the delta is in and every other file too: the delta base is asked for
    /// ([`Step::ReadBase`]), not a fetch.
    fn awaits_base(&self) -> bool {
        match self {
            Phase::Files { staged, targets, plan: plan @ DeltaPlan::Patch { bytes: Some(_), .. }, .. } => {
                next_file(targets, staged, plan).is_none()
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
struct Cycle {
    phase: Phase,
    mirror: usize,
    /// Failed attempts of the current request on the current mirror.
    attempt: u32,
    /// Failed attempts of the current request on every mirror (its budget is
    /// one attempt and [`MAX_RETRIES`] retries per mirror).
    failures: u32,
    /// Mirrors whose timestamp said "nothing new" in this cycle.
    unchanged: usize,
    last_error: Option<(String, String)>,
}

/// The updater of one client.
#[derive(Debug)]
pub struct Updater {
    config: Config,
    root: Root,
    persisted: Persisted,
    cycle: Option<Cycle>,
}

/// Why an updater cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// No mirror is configured.
    #[error("no mirror to poll")]
    NoMirror,
    /// The root of trust, or a saved rotation, does not verify.
    #[error("root of trust: {0}")]
    Root(#[from] VerifyError),
}

impl Updater {
    /// Starts from the configured root of trust and what was persisted (the saved
    /// rotations are checked again, walking from the configured root).
    pub fn new(config: Config, root: &[u8], persisted: Persisted) -> Result<Self, SetupError> {
        if config.mirrors.is_empty() {
            return Err(SetupError::NoMirror);
        }
        let mut trusted = trusted_root(root)?;
        for saved in &persisted.rotations {
            trusted = check_rotation(&trusted, saved.as_bytes())?;
        }
        Ok(Updater { config, root: trusted, persisted, cycle: None })
    }

    /// What to persist.
    pub fn persisted(&self) -> &Persisted {
        &self.persisted
    }

    /// The trusted root's version.
    pub fn root_version(&self) -> u64 {
        self.root.version
    }

    /// When the next cycle is due (the first one at an offset within the interval that
    /// the install id gives, so a fleet started together still spreads its polls).
    pub fn next_poll(&self, now: Timestamp) -> Timestamp {
        self.persisted.next_poll.unwrap_or_else(|| {
            now.plus_secs(spread(&self.config.install_id, u64::MAX, self.config.interval_secs.max(1)))
        })
    }

    /// Whether a cycle is in progress.
    pub fn busy(&self) -> bool {
        self.cycle.is_some()
    }

    /// How fresh the client is at `now`.
    pub fn status(&self, now: Timestamp) -> Status {
        let p = &self.persisted;
        let expired = |t: Option<Timestamp>| t.is_some_and(|t| t <= now);
        Status {
            pack_version: p.current.as_ref().map(|c| c.pack_version.clone()),
            since_success_secs: p.last_success.map(|t| now.secs_since(t)),
            stale: p.current.is_none()
                || expired(p.timestamp_expires)
                || expired(p.current.as_ref().map(|c| c.expires)),
            last_error: p.last_error.clone(),
            degradation: self.degradation(),
        }
    }

    /// The service's degradation level as last heard (1 before anything was heard):
    /// 1 full service; 2 polls [`DEGRADED_INTERVAL_FACTOR`] times less often; 3 keeps the
    /// installed pack and downloads none (the timestamp is still verified at each poll,
    /// so the client learns when the level drops); 4 as 3, and only critical bulletins
    /// show. Verification is the same at every level, and a client without a pack
    /// still installs one.
    pub fn degradation(&self) -> u8 {
        self.persisted.degradation.max(FULL_SERVICE)
    }

    /// Every mirror this client polls: the configured ones, then those the installed
    /// pack lists. None is trusted more than another.
    pub fn mirrors(&self) -> Vec<String> {
        let mut all: Vec<String> = self.config.mirrors.iter().map(|m| m.trim_end_matches('/').to_owned()).collect();
        for listed in &self.persisted.mirrors {
            if !all.contains(listed) {
                all.push(listed.clone());
            }
        }
        all
    }

    fn mirror_count(&self) -> usize {
        self.mirrors().len()
    }

    /// The bulletins to show on `place` now, most severe first (only critical ones at
    /// degradation level 4). Record each one shown with [`Updater::bulletin_shown`].
    pub fn bulletins_for(&self, place: &crate::bulletin::Place<'_>, now: Timestamp) -> Vec<&crate::bulletin::Bulletin> {
        self.persisted.bulletins.for_place(place, now, &self.config.client_version, self.degradation() >= 4)
    }

    /// Records that bulletin `id` was shown (its frequency cap counts displays per day).
    pub fn bulletin_shown(&mut self, id: &str, now: Timestamp) {
        self.persisted.bulletins.record_shown(id, now);
    }

    /// Whether this install is in `canary`'s cohort ([`in_canary`] with the install id as
    /// the seed): the same at every poll and on every mirror.
    pub fn in_canary(&self, canary: &Canary) -> bool {
        in_canary(&self.config.install_id, &canary.salt, canary.percentage)
    }

    /// Starts a cycle at `now` (whether or not it is due: the caller decides), from the
    /// first mirror this install prefers.
    pub fn start(&mut self, now: Timestamp) -> Step {
        let mirror = spread(&self.config.install_id, 0, self.mirror_count() as u64) as usize;
        self.cycle =
            Some(Cycle { phase: Phase::Root, mirror, attempt: 0, failures: 0, unchanged: 0, last_error: None });
        self.request(now)
    }

    /// Hands back the answer to the last [`Step::Fetch`].
    pub fn handle(&mut self, now: Timestamp, response: Response) -> Step {
        let Some(cycle) = self.cycle.as_ref() else {
            return Step::Done(Outcome::Failed { code: "no_cycle".into(), reason: "no cycle in progress".into() });
        };
        if matches!(cycle.phase, Phase::Installing { .. }) {
            // A caller bug, not the network's: the install must be reported first.
            return Step::Done(Outcome::Failed {
                code: "installing".into(),
                reason: "an install is pending; report it with installed()".into(),
            });
        }
        if matches!(cycle.phase, Phase::BulletinIndex | Phase::Bulletins { .. }) {
            return self.bulletin_answer(now, response);
        }
        if cycle.phase.awaits_base() {
            // A caller bug: the delta base was asked for, not a fetch.
            return Step::Done(Outcome::Failed {
                code: "reading_base".into(),
                reason: "the delta base is pending; answer with base_read()".into(),
            });
        }
        let (in_root, in_timestamp) = (matches!(cycle.phase, Phase::Root), matches!(cycle.phase, Phase::Timestamp));
        let (name, limit) = self.current_request();
        match response {
            Response::Failed { status, retry_after } => {
                let reason = match status {
                    Some(code) => format!("{name}: HTTP {code}"),
                    None => format!("{name}: no answer"),
                };
                self.failed_attempt(now, "unreadable", reason, retry_after)
            }
            Response::NotModified if in_timestamp => self.timestamp_not_modified(now),
            Response::NotModified => {
                self.failed_attempt(now, "unreadable", format!("{name}: 304 to an unconditional request"), None)
            }
            Response::NotFound if in_root => self.enter(now, Phase::BulletinIndex),
            Response::NotFound => {
                let error = VerifyError::Missing { file: name };
                self.refused(now, error)
            }
            Response::Body { bytes, .. } if bytes.len() as u64 > limit => {
                self.refused(now, VerifyError::Oversized { file: name, limit })
            }
            Response::Body { bytes, etag } => match self.accept(now, &bytes, etag) {
                Ok(step) => step,
                Err(error) => self.refused(now, error),
            },
        }
    }

    /// Reports how installing the [`Step::Install`] pack went. On success it becomes the
    /// current pack and the previous one the last known good; on failure the version is
    /// never tried again and the current pack stays.
    pub fn installed(&mut self, now: Timestamp, result: Result<(), String>) -> Outcome {
        let Some(Cycle { phase: Phase::Installing { staged, trust, timestamp_expires, etag }, .. }) = self.cycle.take()
        else {
            return Outcome::Failed { code: "no_install".into(), reason: "nothing was being installed".into() };
        };
        // The metadata was verified whatever happens to the files: remember its versions.
        self.persisted.trust = trust;
        self.persisted.timestamp_expires = Some(timestamp_expires);
        self.persisted.etag = etag;
        match result {
            Ok(()) => {
                let version = staged.pack.pack_version.clone();
                let previous = self.persisted.current.replace(staged.pack);
                if previous.is_some() {
                    self.persisted.last_known_good = previous;
                }
                self.persisted.mirrors = staged.mirrors;
                self.finish(now, None);
                Outcome::Updated { pack_version: version }
            }
            Err(reason) => {
                self.persisted.failed_versions.push(staged.pack.snapshot);
                let reason = format!("pack {} failed to install: {reason}", staged.pack.pack_version);
                self.finish(now, Some(reason.clone()));
                Outcome::Failed { code: "install_failed".into(), reason }
            }
        }
    }

    /// The caller found the installed pack unusable (it no longer loads): fall back to the
    /// last known good one, and never take this version again. Returns the pack to use.
    pub fn fall_back(&mut self) -> Option<&Installed> {
        let broken = self.persisted.current.take()?;
        self.persisted.failed_versions.push(broken.snapshot);
        self.persisted.current = self.persisted.last_known_good.take();
        self.persisted.current.as_ref()
    }

    fn naming(&self) -> Naming {
        Naming::for_root(&self.root)
    }

    /// The name and limit of the request the current phase needs.
    fn current_request(&self) -> (String, u64) {
        let cycle = self.cycle.as_ref().expect("a cycle");
        let naming = self.naming();
        match &cycle.phase {
            Phase::Root => (layout::root_rotation(self.root.version + 1), MAX_ROOT_BYTES),
            Phase::BulletinIndex => (layout::BULLETIN_INDEX.to_owned(), MAX_INDEX_BYTES),
            Phase::Bulletins { pending, .. } => (pending[0].file.clone(), MAX_BULLETIN_BYTES),
            Phase::Timestamp => (layout::TIMESTAMP.to_owned(), MAX_PINS_BYTES),
            Phase::Snapshot { timestamp, .. } => {
                let entry = pin(timestamp, layout::TIMESTAMP, layout::SNAPSHOT).expect("checked");
                (naming.metadata("snapshot", entry.version), entry_limit(entry, MAX_PINS_BYTES))
            }
            Phase::Targets { snapshot, .. } => {
                let entry = pin(snapshot, layout::SNAPSHOT, layout::TARGETS).expect("checked");
                (naming.metadata("targets", entry.version), entry_limit(entry, MAX_TARGETS_BYTES))
            }
            Phase::Delegated { targets, snapshot, pending, .. } => {
                let (_, entry) = delegated_pins(targets, snapshot)
                    .into_iter()
                    .find(|(role, _)| role.name == pending[0])
                    .expect("a pending role is pinned");
                (naming.metadata(&pending[0], entry.version), entry_limit(entry, MAX_TARGETS_BYTES))
            }
            Phase::Files { staged, targets, plan, objects, .. } => {
                let (name, listed) = next_file(targets, staged, plan).expect("a file is missing");
                let object = objects.get(name).unwrap_or(name);
                (naming.target(object, listed.sha256().unwrap_or_default()), listed.length)
            }
            Phase::Installing { .. } => unreachable!("no request while installing"),
        }
    }

    fn request(&mut self, now: Timestamp) -> Step {
        let (name, limit) = self.current_request();
        let cycle = self.cycle.as_ref().expect("a cycle");
        let etag = match (&cycle.phase, &self.persisted.current) {
            (Phase::Timestamp, Some(_)) => self.persisted.etag.clone(),
            (Phase::BulletinIndex, _) => self.persisted.bulletins.index_etag.clone(),
            _ => None,
        };
        let mirrors = self.mirrors();
        let base = &mirrors[cycle.mirror % mirrors.len()];
        let not_before = if cycle.attempt == 0 {
            now
        } else {
            let backoff = FIRST_BACKOFF_MS << (cycle.attempt - 1).min(10);
            let jitter = spread(&self.config.install_id, u64::from(cycle.attempt), backoff / 2 + 1);
            Timestamp::from_millis(now.as_millis().saturating_add((backoff + jitter) as i64))
        };
        Step::Fetch(Request { mirror: cycle.mirror, url: format!("{base}/{name}"), name, limit, etag, not_before })
    }

    /// Verifies an answer for the current phase and moves on. A refused answer leaves the
    /// phase as it was, so the same request goes to the next mirror.
    fn accept(&mut self, now: Timestamp, bytes: &[u8], etag: Option<String>) -> Result<Step, VerifyError> {
        let cycle = self.cycle.as_mut().expect("a cycle");
        let trust = &self.persisted.trust;
        let next = match &mut cycle.phase {
            Phase::Root => {
                let next = check_rotation(&self.root, bytes)?;
                if self.persisted.rotations.len() as u64 >= MAX_ROTATIONS {
                    return Err(VerifyError::Malformed("too many root rotations".into()));
                }
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| VerifyError::Malformed("a root rotation that is not UTF-8".into()))?;
                if next.version > trust.root {
                    self.persisted.trust.forget_rotated(&self.root, &next);
                    self.persisted.trust.root = next.version;
                }
                self.persisted.rotations.push(text);
                self.root = next;
                Phase::Root
            }
            Phase::Timestamp => {
                if self.root.expires <= now {
                    return Err(VerifyError::Expired { file: layout::ROOT.into(), expires: self.root.expires, now });
                }
                let timestamp = check_timestamp(bytes, &self.root, trust, now)?;
                let snapshot = pin(&timestamp, layout::TIMESTAMP, layout::SNAPSHOT)?.version;
                self.persisted.degradation = timestamp.degradation();
                let held = self.persisted.current.is_some() && timestamp.degradation() >= 3;
                if self.persisted.current.is_some() && (snapshot == trust.snapshot || held) {
                    // Nothing new (or, at degradation level 3 and above, nothing to take
                    // now): the renewed timestamp is the news (no freeze).
                    self.persisted.trust.timestamp = timestamp.version;
                    self.persisted.timestamp_expires = Some(timestamp.expires);
                    self.persisted.etag = etag;
                    return Ok(self.unchanged_from_mirror(now));
                }
                Phase::Snapshot { timestamp, timestamp_etag: etag }
            }
            Phase::Snapshot { timestamp, timestamp_etag } => {
                let snapshot = check_snapshot(bytes, &self.root, timestamp, trust, now)?;
                Phase::Targets { timestamp: timestamp.clone(), timestamp_etag: timestamp_etag.clone(), snapshot }
            }
            Phase::Targets { timestamp, timestamp_etag, snapshot } => {
                let mut targets = check_targets(bytes, &self.root, snapshot, trust, now)?;
                let objects = cohort_view(&mut targets, &self.config.install_id);
                targets
                    .pack_version()
                    .ok_or_else(|| VerifyError::Malformed("targets.json carries no custom.pack_version".into()))?;
                if self.persisted.failed_versions.contains(&snapshot.version) {
                    // Verified, but it would not load before: keep what works and wait
                    // for the next version.
                    self.persisted.trust = advanced(trust, timestamp, snapshot, &targets, self.root.version);
                    self.persisted.timestamp_expires = Some(timestamp.expires);
                    self.persisted.etag = timestamp_etag.clone();
                    self.finish(now, None);
                    return Ok(Step::Done(Outcome::Unchanged));
                }
                let pending: Vec<String> =
                    delegated_pins(&targets, snapshot).iter().map(|(role, _)| role.name.clone()).collect();
                let delegated = Phase::Delegated {
                    targets,
                    objects,
                    timestamp: timestamp.clone(),
                    timestamp_etag: timestamp_etag.clone(),
                    snapshot: snapshot.clone(),
                    pending,
                    done: BTreeMap::new(),
                };
                settle(delegated, self.persisted.current.as_ref())
            }
            Phase::Delegated { targets, snapshot, pending, done, .. } => {
                let role = delegated_pins(targets, snapshot)
                    .into_iter()
                    .find(|(role, _)| role.name == pending[0])
                    .map(|(role, _)| role.clone())
                    .expect("a pending role is pinned");
                let delegated = check_delegated(bytes, targets, &role, snapshot, trust, now, self.root.version)?;
                done.insert(role.name.clone(), delegated.version);
                for (path, listed) in delegated.targets {
                    targets.targets.entry(path).or_insert(listed);
                }
                pending.remove(0);
                let taken = std::mem::replace(&mut cycle.phase, Phase::Timestamp);
                settle(taken, self.persisted.current.as_ref())
            }
            Phase::Files { staged, targets, plan, .. } => {
                let (name, listed) = next_file(targets, staged, plan).expect("a file was requested");
                check_target(name, listed, bytes)?;
                match plan {
                    DeltaPlan::Patch { file, bytes: held, .. } if file == name => *held = Some(bytes.to_vec()),
                    _ => {
                        staged.fetched.insert(name.clone(), bytes.to_vec());
                    }
                }
                if name == layout::MANIFEST && matches!(plan, DeltaPlan::Undecided) {
                    *plan = if self.config.deltas {
                        plan_delta(targets, staged, self.persisted.current.as_ref())
                    } else {
                        DeltaPlan::Whole
                    };
                }
                cycle.attempt = 0;
                cycle.failures = 0;
                return Ok(self.next_file_or_install(now));
            }
            Phase::Installing { .. } => unreachable!("no answer while installing"),
            Phase::BulletinIndex | Phase::Bulletins { .. } => unreachable!("bulletins are answered apart"),
        };
        let cycle = self.cycle.as_mut().expect("a cycle");
        cycle.attempt = 0;
        cycle.failures = 0;
        let files = matches!(next, Phase::Files { .. });
        cycle.phase = next;
        Ok(if files { self.next_file_or_install(now) } else { self.request(now) })
    }

    fn next_file_or_install(&mut self, now: Timestamp) -> Step {
        let cycle = self.cycle.as_mut().expect("a cycle");
        let Phase::Files { staged, targets, plan, .. } = &mut cycle.phase else { unreachable!("in the files phase") };
        let manifest_due = targets.targets.contains_key(layout::MANIFEST)
            && !staged.fetched.contains_key(layout::MANIFEST)
            && !staged.kept.iter().any(|name| name == layout::MANIFEST);
        if matches!(plan, DeltaPlan::Undecided) && !manifest_due {
            // The manifest was kept (or is not listed): nothing tells filters apart.
            *plan = DeltaPlan::Whole;
        }
        if next_file(targets, staged, plan).is_some() {
            return self.request(now);
        }
        if cycle.phase.awaits_base() {
            let base = self.persisted.current.as_ref().and_then(|c| c.base.as_ref()).expect("a delta needs a base");
            return Step::ReadBase(base.filters.keys().cloned().collect());
        }
        let Phase::Files { mut staged, targets, timestamp, timestamp_etag, snapshot, delegated, plan, .. } =
            std::mem::replace(&mut cycle.phase, Phase::Timestamp)
        else {
            unreachable!()
        };
        rebase(&mut staged, &plan, self.persisted.current.as_ref());
        if !self.config.deltas {
            staged.pack.base = None;
            staged.base_files.clear();
        }
        let mut trust = advanced(&self.persisted.trust, &timestamp, &snapshot, &targets, self.root.version);
        trust.delegated.extend(delegated);
        cycle.phase = Phase::Installing {
            staged: staged.clone(),
            trust,
            timestamp_expires: timestamp.expires,
            etag: timestamp_etag,
        };
        Step::Install(*staged)
    }

    /// Moves to `phase` with a fresh request budget.
    fn enter(&mut self, now: Timestamp, phase: Phase) -> Step {
        let cycle = self.cycle.as_mut().expect("a cycle");
        cycle.phase = phase;
        cycle.attempt = 0;
        cycle.failures = 0;
        self.request(now)
    }

    /// An answer in the bulletin phases. Bulletins never fail a cycle: an index that
    /// cannot be had is read again at the next poll; a bulletin refused or not had is
    /// asked of each mirror once, then left for a later poll. The cycle then goes on to
    /// the timestamp.
    /// Each bulletin is verified against the trusted root before it is held.
    fn bulletin_answer(&mut self, now: Timestamp, response: Response) -> Step {
        let (_, limit) = self.current_request();
        let mirrors = self.mirror_count();
        let board = &mut self.persisted.bulletins;
        let cycle = self.cycle.as_mut().expect("a cycle");
        let next = match (&mut cycle.phase, response) {
            (Phase::BulletinIndex, Response::Body { bytes, etag }) if bytes.len() as u64 <= limit => {
                match serde_json::from_slice::<BulletinIndex>(&bytes) {
                    Ok(index) => {
                        board.index_etag = etag;
                        let pending: Vec<IndexEntry> =
                            board.wanted(&index, now, BULLETINS_PER_CYCLE).into_iter().cloned().collect();
                        if pending.len() == BULLETINS_PER_CYCLE {
                            // More may be waiting: read the index in full next time.
                            board.index_etag = None;
                        }
                        if pending.is_empty() {
                            Phase::Timestamp
                        } else {
                            Phase::Bulletins { pending, tried: 0 }
                        }
                    }
                    Err(_) => Phase::Timestamp,
                }
            }
            (Phase::BulletinIndex, _) => Phase::Timestamp,
            (Phase::Bulletins { pending, tried }, response) => {
                let verified = match response {
                    Response::Body { bytes, .. } => verify_bulletin_with(&bytes, &self.root, now).ok(),
                    _ => None,
                };
                match verified {
                    Some(bulletin) => {
                        board.fetched.push(pending[0].file.clone());
                        board.offer(bulletin);
                        pending.remove(0);
                        *tried = 0;
                    }
                    // Refused or not had: ask the next mirror once per mirror, then leave
                    // it for a later poll (the index is read again then). Nothing
                    // unverified is remembered, so one bad mirror cannot hide a bulletin.
                    None if *tried + 1 < mirrors => {
                        *tried += 1;
                        cycle.mirror = (cycle.mirror + 1) % mirrors;
                    }
                    None => {
                        board.index_etag = None;
                        pending.remove(0);
                        *tried = 0;
                    }
                }
                if pending.is_empty() {
                    board.prune(now);
                    Phase::Timestamp
                } else {
                    Phase::Bulletins { pending: std::mem::take(pending), tried: *tried }
                }
            }
            _ => unreachable!("called in the bulletin phases"),
        };
        self.enter(now, next)
    }

    /// Hands back the base files [`Step::ReadBase`] asked for. Each is checked against
    /// its signed hash, the delta is decoded and applied, and every result checked
    /// against the hash the delta pins; then the pack is staged with the patched filters.
    /// If anything does not fit, nothing of the delta is used and the filters are
    /// downloaded whole instead.
    pub fn base_read(&mut self, now: Timestamp, files: BTreeMap<String, Vec<u8>>) -> Step {
        let base = self.persisted.current.as_ref().and_then(|c| c.base.clone());
        let Some(Cycle { phase: Phase::Files { staged, plan, .. }, .. }) = self.cycle.as_mut() else {
            return Step::Done(Outcome::Failed { code: "no_delta".into(), reason: "no delta was waiting".into() });
        };
        let DeltaPlan::Patch { replaces, bytes: Some(delta), .. } = plan else {
            return Step::Done(Outcome::Failed { code: "no_delta".into(), reason: "no delta was waiting".into() });
        };
        *plan = match patch(base.as_ref(), &files, delta, replaces, &staged.pack.pack_version) {
            Some(patched) => {
                for (name, bytes) in patched {
                    staged.pack.patched.insert(name.clone(), Sha256::of(&bytes).to_hex());
                    staged.fetched.insert(name, bytes);
                }
                DeltaPlan::Applied
            }
            None => DeltaPlan::Whole,
        };
        self.next_file_or_install(now)
    }

    /// A mirror said "nothing new". One mirror replaying an old (still valid) timestamp
    /// could hold a client back, so with several mirrors a second one is asked before
    /// the cycle ends unchanged: none is trusted more than another, and the newest valid
    /// answer wins.
    fn unchanged_from_mirror(&mut self, now: Timestamp) -> Step {
        let mirrors = self.mirror_count();
        let cycle = self.cycle.as_mut().expect("a cycle");
        cycle.unchanged += 1;
        if cycle.unchanged >= mirrors.min(2) {
            self.finish(now, None);
            return Step::Done(Outcome::Unchanged);
        }
        cycle.mirror = (cycle.mirror + 1) % mirrors;
        cycle.attempt = 0;
        cycle.failures = 0;
        self.request(now)
    }

    fn timestamp_not_modified(&mut self, now: Timestamp) -> Step {
        match self.persisted.timestamp_expires {
            Some(expires) if expires > now => self.unchanged_from_mirror(now),
            // The cache says nothing changed, but what we hold has expired: a freeze (or
            // a stale cache). Ask again without the tag; a fresh timestamp must come.
            _ => {
                self.persisted.etag = None;
                self.failed_attempt(
                    now,
                    "expired",
                    "timestamp.json: 304, but the trusted timestamp has expired (a freeze?)".into(),
                    None,
                )
            }
        }
    }

    /// A verification refusal: the mirror served something wrong; ask the next mirror
    /// right away (it still counts against the request's budget).
    fn refused(&mut self, now: Timestamp, error: VerifyError) -> Step {
        let code = error.code().to_owned();
        self.failed(now, &code, error.to_string(), None, true)
    }

    /// A transport failure: back off and retry on the same mirror, then the next.
    fn failed_attempt(&mut self, now: Timestamp, code: &str, reason: String, retry_after: Option<u64>) -> Step {
        self.failed(now, code, reason, retry_after, false)
    }

    /// One failed attempt. A request may fail `1 + MAX_RETRIES` times per mirror in all;
    /// past that budget the cycle ends (unchanged, when a mirror already said nothing is
    /// new; failed otherwise) and waits for the next poll.
    fn failed(
        &mut self,
        now: Timestamp,
        code: &str,
        reason: String,
        retry_after: Option<u64>,
        next_mirror: bool,
    ) -> Step {
        let mirrors = self.mirror_count();
        let interval = self.interval();
        let cycle = self.cycle.as_mut().expect("a cycle");
        cycle.last_error = Some((code.to_owned(), reason.clone()));
        cycle.attempt += 1;
        cycle.failures += 1;
        if cycle.failures >= ATTEMPTS_PER_MIRROR * mirrors as u32 {
            if let Phase::Files { staged, targets, plan, .. } = &mut cycle.phase {
                let delta_next = match &*plan {
                    DeltaPlan::Patch { file, .. } => {
                        next_file(targets, staged, plan).is_some_and(|(name, _)| name == file)
                    }
                    _ => false,
                };
                if delta_next {
                    // The delta could not be had anywhere: take the filters whole.
                    *plan = DeltaPlan::Whole;
                    cycle.attempt = 0;
                    cycle.failures = 0;
                    return self.next_file_or_install(now);
                }
            }
            if cycle.unchanged > 0 && matches!(cycle.phase, Phase::Timestamp) {
                self.finish(now, None);
                return Step::Done(Outcome::Unchanged);
            }
            let (code, reason) = cycle.last_error.clone().expect("set above");
            let retry_after = retry_after.filter(|s| *s > interval);
            self.finish_failed(now, reason.clone(), retry_after);
            return Step::Done(Outcome::Failed { code, reason });
        }
        let retry_after_ms = retry_after.map(|s| s.saturating_mul(1000)).unwrap_or(0);
        // A Retry-After longer than the back-off we would allow: this mirror is done.
        let too_long = retry_after_ms > FIRST_BACKOFF_MS << MAX_RETRIES;
        if next_mirror || too_long || cycle.attempt >= ATTEMPTS_PER_MIRROR {
            cycle.mirror = (cycle.mirror + 1) % mirrors;
            cycle.attempt = 0;
            return self.request(now);
        }
        match self.request(now) {
            Step::Fetch(mut request) => {
                let at = Timestamp::from_millis(now.as_millis().saturating_add(retry_after_ms as i64));
                request.not_before = request.not_before.max(at);
                Step::Fetch(request)
            }
            other => other,
        }
    }

    fn finish(&mut self, now: Timestamp, error: Option<String>) {
        self.cycle = None;
        if error.is_none() {
            self.persisted.last_success = Some(now);
        }
        self.persisted.last_error = error;
        self.schedule(now, None);
    }

    fn finish_failed(&mut self, now: Timestamp, reason: String, retry_after: Option<u64>) {
        self.cycle = None;
        self.persisted.last_error = Some(reason);
        self.schedule(now, retry_after);
    }

    /// Seconds between polls at the current degradation level.
    fn interval(&self) -> u64 {
        if self.degradation() >= 2 {
            self.config.interval_secs.saturating_mul(DEGRADED_INTERVAL_FACTOR)
        } else {
            self.config.interval_secs
        }
    }

    /// The next poll: one interval plus this cycle's jitter (or a longer `Retry-After`).
    fn schedule(&mut self, now: Timestamp, at_least: Option<u64>) {
        self.persisted.cycles += 1;
        let jitter = spread(&self.config.install_id, self.persisted.cycles, self.config.jitter_secs + 1);
        let wait = (self.interval() + jitter).max(at_least.unwrap_or(0));
        self.persisted.next_poll = Some(now.plus_secs(wait));
    }
}

/// The phase after the delegated roles: the next role to fetch, or, once every role is
/// in, the files of the merged listing (a path the top-level targets lists is never taken
/// from a delegated role).
fn settle(phase: Phase, current: Option<&Installed>) -> Phase {
    let Phase::Delegated { targets, objects, timestamp, timestamp_etag, snapshot, pending, done } = phase else {
        return phase;
    };
    if !pending.is_empty() {
        return Phase::Delegated { targets, objects, timestamp, timestamp_etag, snapshot, pending, done };
    }
    let pack_version = targets.pack_version().unwrap_or_default().to_owned();
    let kept = match current {
        Some(current) => targets
            .targets
            .iter()
            .filter(|(name, listed)| current.files.get(*name) == Some(*listed))
            .map(|(name, _)| name.clone())
            .collect(),
        None => Vec::new(),
    };
    let pack = Installed {
        pack_version,
        version: targets.version,
        snapshot: snapshot.version,
        expires: targets.expires.min(snapshot.expires),
        files: targets
            .targets
            .iter()
            .filter(|(name, _)| !is_delta(name))
            .map(|(n, f)| (n.clone(), f.clone()))
            .collect(),
        patched: BTreeMap::new(),
        base: None,
    };
    let mirrors = targets.mirrors();
    Phase::Files {
        staged: Box::new(Staged { pack, fetched: BTreeMap::new(), kept, mirrors, base_files: Vec::new() }),
        plan: DeltaPlan::Undecided,
        targets,
        objects,
        timestamp,
        timestamp_etag,
        snapshot,
        delegated: done,
    }
}

/// The trust state after a verified timestamp, snapshot and targets.
fn advanced(trust: &State, timestamp: &Pins, snapshot: &Pins, targets: &Targets, root: u64) -> State {
    State {
        timestamp: timestamp.version,
        snapshot: snapshot.version,
        targets: targets.version,
        root,
        delegated: trust.delegated.clone(),
    }
}

/// The next file to fetch: the manifest first (it tells filters apart), then every listed
/// file neither kept nor fetched yet, except the filters a planned delta replaces (and
/// deltas not planned: a client fetches only the one it applies).
fn next_file<'a>(targets: &'a Targets, staged: &Staged, plan: &DeltaPlan) -> Option<(&'a String, &'a TargetFile)> {
    let wanted = |name: &String| {
        if staged.fetched.contains_key(name) || staged.kept.iter().any(|k| k == name) {
            return false;
        }
        match plan {
            DeltaPlan::Patch { file, replaces, bytes } => {
                if name == file {
                    bytes.is_none()
                } else {
                    !replaces.contains_key(name) && !is_delta(name)
                }
            }
            _ => !is_delta(name),
        }
    };
    if let Some(manifest) = targets.targets.get_key_value(layout::MANIFEST).filter(|(name, _)| wanted(name)) {
        return Some(manifest);
    }
    targets.targets.iter().find(|(name, _)| wanted(name))
}

fn is_delta(name: &str) -> bool {
    name.strip_prefix(layout::DELTA_DIR).is_some_and(|rest| rest.starts_with('/'))
}

/// Once the new manifest is in: a delta is used when the installed pack has a base, the
/// new pack lists `deltas/BASE.fwd`, and the delta is smaller than the filters it
/// replaces (those of the new manifest not already kept).
fn plan_delta(targets: &Targets, staged: &Staged, current: Option<&Installed>) -> DeltaPlan {
    let (Some(base), Some(manifest)) = (
        current.and_then(|c| c.base.as_ref()),
        staged.fetched.get(layout::MANIFEST).and_then(|bytes| Manifest::from_json(bytes).ok()),
    ) else {
        return DeltaPlan::Whole;
    };
    let file = format!("{}/{}.fwd", layout::DELTA_DIR, base.pack_version);
    let Some(listed) = targets.targets.get(&file) else { return DeltaPlan::Whole };
    let replaces: BTreeMap<String, IndicatorKind> = manifest
        .files
        .iter()
        .filter(|entry| entry.role == Role::Filter && !staged.kept.contains(&entry.name))
        .filter_map(|entry| Some((entry.name.clone(), entry.kind?)))
        .filter(|(name, _)| targets.targets.contains_key(name))
        .collect();
    let whole: u64 = replaces.keys().filter_map(|name| targets.targets.get(name)).map(|f| f.length).sum();
    if replaces.is_empty() || listed.length >= whole {
        return DeltaPlan::Whole;
    }
    DeltaPlan::Patch { file, replaces, bytes: None }
}

/// Applies `delta` to the base files, or says no (`None`): a base file missing or not
/// as signed, a delta that does not decode, leads elsewhere, or does not fit.
fn patch(
    base: Option<&Base>,
    files: &BTreeMap<String, Vec<u8>>,
    delta: &[u8],
    replaces: &BTreeMap<String, IndicatorKind>,
    pack_version: &str,
) -> Option<BTreeMap<String, Vec<u8>>> {
    let base = base?;
    let mut filters = BTreeMap::new();
    for (name, (kind, listed)) in &base.filters {
        let bytes = files.get(name)?;
        check_target(name, listed, bytes).ok()?;
        filters.insert(*kind, bytes.clone());
    }
    let delta = Delta::from_bytes(delta).ok()?;
    if delta.target_version.as_str() != pack_version {
        return None;
    }
    let results = delta.apply(&PackVersion::parse(&base.pack_version).ok()?, &filters).ok()?;
    let mut patched = BTreeMap::new();
    for (name, kind) in replaces {
        let result = results.iter().find(|filter| filter.kind == *kind)?;
        patched.insert(name.clone(), result.to_bytes());
    }
    Some(patched)
}

/// Settles the new pack's patched files and delta base before it is installed: patched
/// files kept from the running pack stay patched; with none, the new pack's filters (all
/// as signed) become the base, otherwise the running pack's base carries on.
fn rebase(staged: &mut Staged, plan: &DeltaPlan, current: Option<&Installed>) {
    if let Some(current) = current {
        for name in &staged.kept {
            if let Some(sha) = current.patched.get(name) {
                staged.pack.patched.insert(name.clone(), sha.clone());
            }
        }
    }
    let carried = current.and_then(|c| c.base.clone());
    let manifest = staged.fetched.get(layout::MANIFEST).and_then(|bytes| Manifest::from_json(bytes).ok());
    staged.pack.base = match (plan, manifest) {
        (DeltaPlan::Whole, Some(manifest)) if staged.pack.patched.is_empty() => {
            let filters: BTreeMap<String, (IndicatorKind, TargetFile)> = manifest
                .files
                .iter()
                .filter(|entry| entry.role == Role::Filter)
                .filter_map(|entry| {
                    Some((entry.name.clone(), (entry.kind?, staged.pack.files.get(&entry.name)?.clone())))
                })
                .collect();
            if filters.is_empty() {
                carried
            } else {
                staged.base_files = filters.keys().cloned().collect();
                Some(Base { pack_version: staged.pack.pack_version.clone(), filters })
            }
        }
        _ => carried,
    };
}

/// A number in `0..modulus` from the hash of the install id and `salt`: stable for one
/// install, spread evenly over a fleet.
pub fn spread(install_id: &str, salt: u64, modulus: u64) -> u64 {
    if modulus == 0 {
        return 0;
    }
    let mut input = install_id.as_bytes().to_vec();
    input.extend_from_slice(&salt.to_be_bytes());
    let digest = Sha256::of(&input);
    let first = u64::from_be_bytes(digest.as_bytes()[..8].try_into().expect("8 bytes"));
    first % modulus
}

/// Whether the install whose secret cohort seed is `seed` is in the cohort of a canary
/// with `salt` and `percentage` (1 to 100): `sha256(salt ‖ seed)`, its first 8 bytes as a
/// big-endian number modulo 10,000, is below `percentage` × 100. The seed never leaves
/// the client, so only the client knows whether it is in; the same seed and salt give the
/// same answer at every poll, and a new salt draws a new cohort.
pub fn in_canary(seed: &str, salt: &str, percentage: u64) -> bool {
    let mut input = salt.as_bytes().to_vec();
    input.extend_from_slice(seed.as_bytes());
    let digest = Sha256::of(&input);
    let draw = u64::from_be_bytes(digest.as_bytes()[..8].try_into().expect("8 bytes")) % 10_000;
    draw < percentage.min(100) * 100
}

/// The listing this install takes from verified top-level `targets`: with a canary
/// ([`Targets::canary`]) whose cohort holds the install, the canary's files (under
/// `canary/`, the prefix dropped) and its pack version; otherwise every file outside
/// `canary/`. Returns, for each file taken from `canary/`, its name in the listing (the
/// object to fetch is named after that).
fn cohort_view(targets: &mut Targets, seed: &str) -> BTreeMap<String, String> {
    let prefix = format!("{CANARY_DIR}/");
    let canary = targets.canary().filter(|canary| in_canary(seed, &canary.salt, canary.percentage));
    let listed = std::mem::take(&mut targets.targets);
    let mut objects = BTreeMap::new();
    match canary {
        Some(canary) => {
            for (name, file) in listed {
                if let Some(short) = name.strip_prefix(&prefix) {
                    objects.insert(short.to_owned(), name.clone());
                    targets.targets.insert(short.to_owned(), file);
                }
            }
            if let Some(custom) = targets.custom.as_mut().and_then(serde_json::Value::as_object_mut) {
                custom.insert("pack_version".into(), canary.pack_version.into());
            }
        }
        None => targets.targets = listed.into_iter().filter(|(name, _)| !name.starts_with(&prefix)).collect(),
    }
    objects
}

/// Runs one whole cycle synchronously: `fetch` answers each request (after waiting for
/// its `not_before`, if the caller wants real back-off) and `install` installs the staged
/// pack. The command line and the tests drive the machine this way; the simulator and
/// the browser drive [`Updater::start`] and [`Updater::handle`] themselves.
pub fn run_cycle(
    updater: &mut Updater,
    now: Timestamp,
    mut fetch: impl FnMut(&Request) -> Response,
    mut install: impl FnMut(&Staged) -> Result<(), String>,
    mut read_base: impl FnMut(&[String]) -> BTreeMap<String, Vec<u8>>,
) -> Outcome {
    let mut step = updater.start(now);
    loop {
        step = match step {
            Step::Fetch(request) => updater.handle(now, fetch(&request)),
            Step::ReadBase(names) => updater.base_read(now, read_base(&names)),
            Step::Install(staged) => return updater.installed(now, install(&staged)),
            Step::Done(outcome) => return outcome,
        };
    }
}

/// Answers a request from a [`crate::trust::verify::Source`] (a directory, or anything
/// else that reads by name), for [`run_cycle`]: missing is 404, unreadable is a failure,
/// and a read refused as too long is the limit plus one byte, as a network read would be.
pub fn fetch_from(source: &dyn crate::trust::verify::Source, request: &Request) -> Response {
    match source.fetch(&request.name, request.limit) {
        Ok(Some(bytes)) => Response::Body { bytes, etag: None },
        Ok(None) => Response::NotFound,
        Err(VerifyError::Oversized { .. }) => {
            Response::Body { bytes: vec![b' '; (request.limit + 1) as usize], etag: None }
        }
        Err(_) => Response::Failed { status: None, retry_after: None },
    }
}
