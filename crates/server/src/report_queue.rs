//! The durable local queue of reports taken at degradation level 3 (`degradation`).
//!
//! At level 3 a report is checked exactly as at level 1 (install token, limits, body,
//! CAPTCHA, per-URL budgets) and then, instead of the database, appended as one JSON line
//! to this instance's spool file under `DATA_DIR/report-queue/` and flushed to disk
//! (`fsync`) before the 202 `queued` answer: a report acknowledged is on disk, whatever
//! happens to the database meanwhile.
//!
//! Once the level is 2 or 1 again, housekeeping drains the queue into the store in
//! arrival order, recording after each stored report how far it got (`NAME.done`), so a
//! drain cut short resumes where it stopped. Delivery is at least once: a crash between
//! a report's commit and its progress record stores that one report twice.
//!
//! Each instance holds an exclusive lock on its own spool file for its lifetime. A spool
//! file nobody holds belongs to an instance that stopped: any instance drains it and
//! removes it. A URL forgotten while its report waited is dropped (410 from the store),
//! counted, and never stored.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferretwatch_store::{ErrorKind, ReportKind, Store};
use ferretwatch_types::Timestamp;
use serde::{Deserialize, Serialize};

use crate::report_api::{to_new_report_at, ReportRequest};

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
    /// Reports dropped: forgotten URLs, or lines that do not parse.
    pub dropped: u64,
    /// Whether the drain stopped early (the store unavailable); the rest waits.
    pub interrupted: bool,
}

impl ReportQueue {
    /// Opens the queue under `data_dir`, with a new spool file of this instance's,
    /// locked until the process ends.
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let dir = data_dir.join(DIR);
        std::fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let mut id = [0u8; 8];
        getrandom::getrandom(&mut id).map_err(std::io::Error::other)?;
        let path = dir.join(format!("{}.jsonl", hex::encode(id)));
        let mut options = OpenOptions::new();
        options.create_new(true).read(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path)?;
        file.try_lock().map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
        Ok(ReportQueue { dir, own: Arc::new(tokio::sync::Mutex::new(Spool { path, file })) })
    }

    /// Appends `entry` and flushes it to disk; only then is it acknowledged.
    pub async fn push(&self, entry: &QueuedReport) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut spool = self.own.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || {
            spool.file.write_all(&line)?;
            spool.file.sync_data()
        })
        .await
        .map_err(std::io::Error::other)??;
        metrics::counter!("ferretwatch_report_queue_queued_total").increment(1);
        Ok(())
    }

    /// Drains every spool file it may (its own, and those of stopped instances) into
    /// `store`, oldest first.
    pub async fn drain(&self, store: &Arc<dyn Store>) -> Drained {
        let mut total = Drained::default();
        let mut others: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                    .collect()
            })
            .unwrap_or_default();
        others.sort();
        let mut own = self.own.lock().await;
        let own_path = own.path.clone();
        for path in others {
            let outcome = if path == own_path {
                let outcome = drain_file(&path, &mut own.file, store).await;
                if !outcome.interrupted {
                    // Everything is stored: start the file again.
                    let emptied = own.file.set_len(0).and_then(|()| own.file.sync_data());
                    if let Err(error) = emptied {
                        tracing::error!(%error, path = %path.display(), "could not empty the drained report queue");
                    }
                    let _ = std::fs::remove_file(done_path(&path));
                }
                outcome
            } else {
                // Another instance's: only when nobody holds it (that instance stopped).
                let Ok(mut file) = OpenOptions::new().read(true).write(true).open(&path) else { continue };
                if file.try_lock().is_err() {
                    continue;
                }
                let outcome = drain_file(&path, &mut file, store).await;
                if !outcome.interrupted {
                    let _ = std::fs::remove_file(done_path(&path));
                    let _ = std::fs::remove_file(&path);
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

    /// Reports waiting in every spool file (lines not yet drained).
    pub fn pending(&self) -> u64 {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return 0 };
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .map(|path| {
                let start = read_done(&path);
                File::open(&path)
                    .map(|mut f| {
                        let _ = f.seek(SeekFrom::Start(start));
                        BufReader::new(f).lines().map_while(Result::ok).filter(|l| !l.is_empty()).count() as u64
                    })
                    .unwrap_or(0)
            })
            .sum()
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

/// Stores the lines of `file` from its recorded progress on.
async fn drain_file(path: &Path, file: &mut File, store: &Arc<dyn Store>) -> Drained {
    let mut outcome = Drained::default();
    let mut offset = read_done(path);
    let mut text = String::new();
    if let Err(error) = file.seek(SeekFrom::Start(offset)).and_then(|_| std::io::Read::read_to_string(file, &mut text))
    {
        tracing::error!(%error, path = %path.display(), "could not read the report queue");
        outcome.interrupted = true;
        return outcome;
    }
    for line in text.split_inclusive('\n') {
        if !line.ends_with('\n') {
            // A line cut short by a crash was never acknowledged.
            break;
        }
        match stored(line, store).await {
            Ok(true) => outcome.stored += 1,
            Ok(false) => outcome.dropped += 1,
            Err(()) => {
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

/// Stores one queued line: `Ok(true)` stored, `Ok(false)` dropped (counted), `Err` when
/// the store is unavailable (the line waits).
async fn stored(line: &str, store: &Arc<dyn Store>) -> Result<bool, ()> {
    let dropped = |reason: &'static str| {
        metrics::counter!("ferretwatch_report_queue_dropped_total", "reason" => reason).increment(1);
        Ok(false)
    };
    let entry: QueuedReport = match serde_json::from_str(line) {
        Ok(entry) => entry,
        Err(error) => {
            tracing::error!(%error, "a queued report does not parse; dropped");
            return dropped("unreadable");
        }
    };
    let Some(kind) = ReportKind::from_code(&entry.kind) else { return dropped("unreadable") };
    let received_at = Timestamp::from_secs(entry.received_at);
    let report = match to_new_report_at(entry.body, kind, &entry.install_id, entry.net, received_at) {
        Ok(report) => report,
        Err(error) => {
            tracing::error!(%error, "a queued report is no longer valid; dropped");
            return dropped("invalid");
        }
    };
    match store.append_report(&report).await {
        Ok(_) => {
            metrics::counter!("ferretwatch_report_queue_stored_total").increment(1);
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::Gone => dropped("forgotten"),
        Err(e) if e.kind() == ErrorKind::Unavailable => {
            tracing::warn!(error = %e, "the store is unavailable; queued reports wait");
            Err(())
        }
        Err(e) => {
            tracing::error!(error = %e, "a queued report was refused by the store; dropped");
            dropped(e.kind().code())
        }
    }
}
