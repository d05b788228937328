//! The durable local queue of reports taken at degradation level 3 (`degradation`).
//!
//! At level 3 a report is checked exactly as at level 1 (install token, limits, body,
//! CAPTCHA, per-URL budgets) and then, instead of the database, appended as one JSON line
//! to this instance's spool file under `DATA_DIR/report-queue/` and flushed to disk
//! (`fsync`) before the 202 `queued` answer: a report acknowledged is on disk, whatever
//! happens to the database meanwhile.
//!
//! Once the level is 2 or 1 again, a task of its own ([`run`]) drains the queue into the
//! store, each file in arrival order, at most [`BATCH`] reports per round and checking
//! the level before each one, recording after each stored report how far it got
//! (`NAME.done`), so a drain cut short resumes where it stopped. Delivery is at least
//! once: a crash between a report's commit and its progress record stores that one
//! report twice. A drained spool file is replaced by a new one, never emptied in place.
//!
//! Each instance holds an exclusive lock on its own spool file for its lifetime. A spool
//! file nobody holds belongs to an instance that stopped: any instance takes its lock,
//! checks that the path still names the file it locked (another drainer may have removed
//! it meanwhile), drains it and removes it. A report whose URL was forgotten while it
//! waited (410 from the store), or whose install asked for its reports to be deleted
//! after it was received, is dropped, counted, and never stored.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferretwatch_store::{
    ErrorKind, ForgetTarget, InstallTokenId, KeyedHash, ReportKind, Store, TombstoneKey, TombstoneSubject,
};
use ferretwatch_types::Timestamp;
use serde::{Deserialize, Serialize};

use crate::degradation::{Admission, Gate};
use crate::report_api::{to_new_report_at, ReportRequest};
use crate::state::AppState;

/// The most reports one drain round stores.
pub const BATCH: usize = 1000;

/// The directory under `data_dir` that holds the spool files.
pub const DIR: &str = "report-queue";

/// One queued report: the validated request, and what the request's headers and address
/// contributed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueuedReport {
    /// `report` or `false_positive`.
    pub kind: String,
    /// The request body as received (without its CAPTCHA token).
    pub body: ReportRequest,
    /// The verified install token's id.
    pub install_id: String,
    /// The first address of the client's network (the report keeps only the network).
    pub net: IpAddr,
    /// When the service received it (seconds since the epoch).
    pub received_at: u64,
}

impl QueuedReport {
    /// The entry for `body`, received now from `ip`.
    pub fn new(kind: ReportKind, mut body: ReportRequest, install_id: &str, ip: IpAddr) -> Self {
        body.captcha_token = None;
        let net = ferretwatch_store::ClientNet::from_ip(ip);
        let net = net.as_str().split('/').next().and_then(|a| a.parse().ok()).unwrap_or(ip);
        QueuedReport {
            kind: kind.code().to_owned(),
            body,
            install_id: install_id.to_owned(),
            net,
            received_at: Timestamp::now().as_secs(),
        }
    }
}

/// The queue: this instance's spool file, and the directory of every instance's.
pub struct ReportQueue {
    dir: PathBuf,
    own: Arc<tokio::sync::Mutex<Spool>>,
    /// Set when a failed append could not be undone: the spool takes nothing more.
    broken: AtomicBool,
}

impl std::fmt::Debug for ReportQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportQueue").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// A spool file, locked by its holder.
struct Spool {
    path: PathBuf,
    file: File,
}

/// What one drain did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Reports stored.
    pub stored: u64,
    /// Reports dropped: forgotten URLs and installs, or lines that do not parse.
    pub dropped: u64,
    /// Whether the drain stopped early (the store unavailable, the level raised, or the
    /// round's batch used up); the rest waits for the next round.
    pub interrupted: bool,
}

/// Why a drain stops early.
enum Stop {
    /// The store is unavailable, or the level no longer lets reports through.
    Wait,
}

impl ReportQueue {
    /// Opens the queue under `data_dir`, with a new spool file of this instance's,
    /// locked until the process ends.
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let dir = data_dir.join(DIR);
        std::fs::create_dir_all(&dir)?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let spool = new_spool(&dir)?;
        Ok(ReportQueue { dir, own: Arc::new(tokio::sync::Mutex::new(spool)), broken: AtomicBool::new(false) })
    }

    /// Appends `entry` and flushes it to disk; only then is it acknowledged. A failed
    /// append is cut off again, so the next one starts on a line of its own.
    pub async fn push(&self, entry: &QueuedReport) -> std::io::Result<()> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("the report queue's spool file could not be repaired"));
        }
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut spool = self.own.clone().lock_owned().await;
        let written = tokio::task::spawn_blocking(move || {
            let before = spool.file.metadata().map_err(|e| (e, true))?.len();
            let written = spool.file.write_all(&line).and_then(|()| spool.file.sync_data());
            written.map_err(|error| {
                let repaired = spool.file.set_len(before).and_then(|()| spool.file.sync_data()).is_ok();
                (error, repaired)
            })
        })
        .await
        .map_err(std::io::Error::other)?;
        match written {
            Ok(()) => {
                metrics::counter!("ferretwatch_report_queue_queued_total").increment(1);
                Ok(())
            }
            Err((error, repaired)) => {
                if !repaired {
                    self.broken.store(true, Ordering::Relaxed);
                }
                Err(error)
            }
        }
    }

    /// Drains every spool file it may (its own, and those of stopped instances) into
    /// `store`, at most `max` reports, while `go_on()` holds.
    pub async fn drain(
        &self,
        store: &Arc<dyn Store>,
        key: &TombstoneKey,
        max: usize,
        go_on: impl Fn() -> bool,
    ) -> Drained {
        let mut total = Drained::default();
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                    .filter_map(|p| {
                        // Only files with something left to drain, oldest first.
                        let meta = std::fs::metadata(&p).ok()?;
                        (meta.len() > read_done(&p)).then(|| (meta.modified().unwrap_or(std::time::UNIX_EPOCH), p))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if files.is_empty() {
            return total;
        }
        files.sort();
        // Installs whose reports were deleted on request, and up to when.
        let forgotten: HashMap<KeyedHash, Timestamp> = match store.list_tombstones().await {
            Ok(all) => all
                .into_iter()
                .filter(|t| t.subject == TombstoneSubject::Install)
                .map(|t| (t.keyed_hash, t.created_at))
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "the store is unavailable; queued reports wait");
                total.interrupted = true;
                return total;
            }
        };
        let drain = Drain { store, key, forgotten: &forgotten, go_on: &go_on };
        let mut own = self.own.lock().await;
        for (_, path) in files {
            let left = max.saturating_sub((total.stored + total.dropped) as usize);
            let outcome = if path == own.path {
                let outcome = drain.file(&path, &mut own.file, left).await;
                if !outcome.interrupted {
                    // Everything in it is stored: a new spool file takes the next reports.
                    match new_spool(&self.dir) {
                        Ok(fresh) => {
                            let old = std::mem::replace(&mut *own, fresh);
                            remove_spool(&old.path);
                        }
                        Err(error) => tracing::error!(%error, "could not start a new report queue file"),
                    }
                }
                outcome
            } else {
                // Another instance's: only when nobody holds it (that instance stopped),
                // and only while the path still names the file locked.
                let Ok(mut file) = OpenOptions::new().read(true).write(true).open(&path) else { continue };
                if file.try_lock().is_err() || !same_file(&file, &path) {
                    continue;
                }
                let outcome = drain.file(&path, &mut file, left).await;
                if !outcome.interrupted {
                    remove_spool(&path);
                }
                outcome
            };
            total.stored += outcome.stored;
            total.dropped += outcome.dropped;
            if outcome.interrupted {
                total.interrupted = true;
                break;
            }
        }
        if total.stored + total.dropped > 0 {
            tracing::info!(stored = total.stored, dropped = total.dropped, "drained queued reports into the store");
        }
        total
    }

    /// Bytes waiting in every spool file (not yet drained): read from the files' sizes
    /// and progress records only.
    pub fn pending_bytes(&self) -> u64 {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return 0 };
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .map(|p| std::fs::metadata(&p).map_or(0, |m| m.len().saturating_sub(read_done(&p))))
            .sum()
    }
}

/// Drains the queue every 5 seconds while the level lets reports through, until `stop`.
pub async fn run(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let serving = || state.degradation.admission(Gate::Report) == Admission::Serve;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if serving() {
            state.report_queue.drain(&state.store, &state.tombstone_key, BATCH, serving).await;
        }
        metrics::gauge!("ferretwatch_report_queue_pending_bytes").set(state.report_queue.pending_bytes() as f64);
    }
}

/// A new spool file under `dir`, created for this instance and locked.
fn new_spool(dir: &Path) -> std::io::Result<Spool> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut id = [0u8; 8];
    getrandom::getrandom(&mut id).map_err(std::io::Error::other)?;
    let path = dir.join(format!("{}.jsonl", hex::encode(id)));
    let file = OpenOptions::new().create_new(true).read(true).append(true).mode(0o600).open(&path)?;
    file.try_lock().map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
    Ok(Spool { path, file })
}

/// Removes a drained spool file, then its progress record (in that order: a crash in
/// between leaves a progress record of no file, never a file without its progress).
fn remove_spool(path: &Path) {
    if let Err(error) = std::fs::remove_file(path) {
        tracing::error!(%error, path = %path.display(), "could not remove a drained report queue file");
        return;
    }
    let _ = std::fs::remove_file(done_path(path));
}

/// Whether `path` still names the open `file` (not removed or replaced since it was opened).
fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn done_path(path: &Path) -> PathBuf {
    path.with_extension("done")
}

/// How far `path` was drained (bytes).
fn read_done(path: &Path) -> u64 {
    std::fs::read_to_string(done_path(path)).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

fn write_done(path: &Path, offset: u64) -> std::io::Result<()> {
    let tmp = path.with_extension("done.tmp");
    std::fs::write(&tmp, offset.to_string())?;
    std::fs::rename(tmp, done_path(path))
}

/// One drain's store, tombstones and level check.
struct Drain<'a, F: Fn() -> bool> {
    store: &'a Arc<dyn Store>,
    key: &'a TombstoneKey,
    forgotten: &'a HashMap<KeyedHash, Timestamp>,
    go_on: &'a F,
}

impl<F: Fn() -> bool> Drain<'_, F> {
    /// Stores at most `max` lines of `file` from its recorded progress on. A file that
    /// cannot be read is left for the next round (interrupted); lines that do not parse
    /// are dropped and counted.
    async fn file(&self, path: &Path, file: &mut File, max: usize) -> Drained {
        let mut outcome = Drained::default();
        let mut offset = read_done(path);
        if let Err(error) = file.seek(SeekFrom::Start(offset)) {
            tracing::error!(%error, path = %path.display(), "could not read the report queue");
            outcome.interrupted = true;
            return outcome;
        }
        let mut reader = BufReader::new(&*file);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) if !line.ends_with(b"\n") => break, // cut short by a crash: never acknowledged
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(%error, path = %path.display(), "could not read the report queue");
                    outcome.interrupted = true;
                    return outcome;
                }
            }
            if (outcome.stored + outcome.dropped) as usize >= max || !(self.go_on)() {
                outcome.interrupted = true;
                return outcome;
            }
            match self.store_line(&line).await {
                Ok(true) => outcome.stored += 1,
                Ok(false) => outcome.dropped += 1,
                Err(Stop::Wait) => {
                    outcome.interrupted = true;
                    return outcome;
                }
            }
            offset += line.len() as u64;
            if let Err(error) = write_done(path, offset) {
                tracing::error!(%error, path = %path.display(), "could not record the report queue's progress");
                outcome.interrupted = true;
                return outcome;
            }
        }
        outcome
    }

    /// Stores one queued line: `Ok(true)` stored, `Ok(false)` dropped (counted).
    async fn store_line(&self, line: &[u8]) -> Result<bool, Stop> {
        let dropped = |reason: &'static str| {
            metrics::counter!("ferretwatch_report_queue_dropped_total", "reason" => reason).increment(1);
            Ok(false)
        };
        let entry: QueuedReport = match serde_json::from_slice(line) {
            Ok(entry) => entry,
            Err(error) => {
                tracing::error!(%error, "a queued report does not parse; dropped");
                return dropped("unreadable");
            }
        };
        let Some(kind) = ReportKind::from_code(&entry.kind) else { return dropped("unreadable") };
        let received_at = Timestamp::from_secs(entry.received_at);
        if let Ok(id) = InstallTokenId::parse(&entry.install_id) {
            let keyed = self.key.keyed_target(&ForgetTarget::Install(id));
            if self.forgotten.get(&keyed).is_some_and(|until| *until >= received_at) {
                return dropped("forgotten");
            }
        }
        let report = match to_new_report_at(entry.body, kind, &entry.install_id, entry.net, received_at) {
            Ok(report) => report,
            Err(error) => {
                tracing::error!(%error, "a queued report is no longer valid; dropped");
                return dropped("invalid");
            }
        };
        match self.store.append_report(&report).await {
            Ok(_) => {
                metrics::counter!("ferretwatch_report_queue_stored_total").increment(1);
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::Gone => dropped("forgotten"),
            Err(e) if e.kind() == ErrorKind::Unavailable => {
                tracing::warn!(error = %e, "the store is unavailable; queued reports wait");
                Err(Stop::Wait)
            }
            Err(e) => {
                tracing::error!(error = %e, "a queued report was refused by the store; dropped");
                dropped(e.kind().code())
            }
        }
    }
}
