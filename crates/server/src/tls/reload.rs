//! Reloading the pair without a restart. Every `tls.reload_secs` the two files are read
//! and compared with what was loaded by their contents' digest (a copy that keeps the
//! modification time, or a symlink switched to another directory, is seen too); SIGHUP
//! loads them whatever they hold. A changed pair is checked as at start
//! ([`CertPair::from_pem`]) and swapped in for new handshakes; one that fails the check
//! is logged and counted once, and the pair in service stays.
//!
//! Metrics: `ferretwatch_tls_cert_not_after_seconds` (the served certificate's notAfter,
//! in Unix seconds) and `ferretwatch_tls_reloads_total{result="ok"|"error"}`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferretwatch_types::{Sha256, Timestamp};
use rustls::crypto::CryptoProvider;

use super::{provider, CertInfo, CertPair, CertResolver, PairFiles, Tls};

/// The served certificate's notAfter, in Unix seconds.
pub const NOT_AFTER_METRIC: &str = "ferretwatch_tls_cert_not_after_seconds";
/// Reloads by result.
pub const RELOADS_METRIC: &str = "ferretwatch_tls_reloads_total";

/// What one look at the files came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The files hold the pair in service, or the failure already reported.
    Unchanged,
    /// A new pair is in service.
    Reloaded(CertInfo),
    /// The files hold a pair that cannot be served (why); the previous one stays.
    Failed(String),
}

/// The files, what was loaded from them, and the last failure reported.
#[derive(Debug)]
pub struct Reloader {
    files: PairFiles,
    resolver: Arc<CertResolver>,
    provider: Arc<CryptoProvider>,
    loaded: Sha256,
    /// The digest of the contents (or the read error) last refused, so that a broken
    /// file is reported once and not at every look.
    failed: Option<String>,
}

impl Reloader {
    /// Watches the files of `tls`, starting from the pair it loaded.
    pub fn new(tls: &Tls) -> Self {
        Reloader {
            files: tls.files.clone(),
            resolver: tls.resolver.clone(),
            provider: provider(),
            loaded: tls.digest,
            failed: None,
        }
    }

    /// Looks at the files. `forced` (SIGHUP) loads them even when unchanged, and reports
    /// a failure again.
    pub fn look(&mut self, forced: bool, now: Timestamp) -> Outcome {
        let (cert, key, digest) = match self.files.read() {
            Ok(read) => read,
            Err(e) => return self.refuse(e.to_string(), forced, e.to_string()),
        };
        if digest == self.loaded && !forced {
            self.failed = None;
            return Outcome::Unchanged;
        }
        match CertPair::from_pem(&self.files, &cert, &key, &self.provider, now) {
            Ok(pair) => {
                self.resolver.set(pair.key);
                self.loaded = digest;
                self.failed = None;
                Outcome::Reloaded(pair.info)
            }
            Err(e) => self.refuse(digest.to_hex(), forced, e.to_string()),
        }
    }

    fn refuse(&mut self, key: String, forced: bool, reason: String) -> Outcome {
        if !forced && self.failed.as_ref() == Some(&key) {
            return Outcome::Unchanged;
        }
        self.failed = Some(key);
        Outcome::Failed(reason)
    }
}

/// Logs and measures the pair loaded at start.
pub fn announce(tls: &Tls) {
    for result in ["ok", "error"] {
        metrics::counter!(RELOADS_METRIC, "result" => result).increment(0);
    }
    let info = &tls.first.info;
    metrics::gauge!(NOT_AFTER_METRIC).set(info.not_after.as_secs() as f64);
    tracing::info!(
        subject = %info.subject,
        issuer = %info.issuer,
        serial = %info.serial,
        not_after = %info.not_after,
        sha256 = %info.sha256,
        cert_file = %tls.files.cert.display(),
        "TLS certificate loaded"
    );
    if let Some(mode) = super::pair::readable_by_others(&tls.files.key) {
        tracing::warn!(
            key_file = %tls.files.key.display(),
            mode = %format!("{mode:04o}"),
            "the TLS private key file is readable by its group or others: make it the service user's alone (chmod 600)"
        );
    }
}

/// Logs and counts what a look came to.
pub fn record(outcome: &Outcome) {
    match outcome {
        Outcome::Unchanged => {}
        Outcome::Reloaded(info) => {
            metrics::counter!(RELOADS_METRIC, "result" => "ok").increment(1);
            metrics::gauge!(NOT_AFTER_METRIC).set(info.not_after.as_secs() as f64);
            tracing::info!(
                subject = %info.subject,
                issuer = %info.issuer,
                serial = %info.serial,
                not_after = %info.not_after,
                sha256 = %info.sha256,
                "TLS certificate reloaded: new handshakes get it"
            );
        }
        Outcome::Failed(reason) => {
            metrics::counter!(RELOADS_METRIC, "result" => "error").increment(1);
            tracing::error!(error = %reason, "TLS certificate reload refused; still serving the previous certificate");
        }
    }
}

/// SIGHUP, caught from when this is made: a SIGHUP sent after the listener announced
/// itself never takes the default action (ending the process).
#[derive(Debug)]
pub struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    /// Starts catching SIGHUP (on Unix; elsewhere there is none).
    pub fn catch() -> Self {
        #[cfg(unix)]
        {
            let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .map_err(|e| tracing::warn!(error = %e, "cannot catch SIGHUP; the certificate reloads only by polling"))
                .ok();
            Hangups { signal }
        }
        #[cfg(not(unix))]
        Hangups {}
    }

    /// The next SIGHUP.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal {
            if signal.recv().await.is_some() {
                return;
            }
        }
        std::future::pending::<()>().await
    }
}

/// Looks at the files every `every` seconds (never when 0) and on each SIGHUP, until
/// `stop` turns true.
pub async fn run(reloader: Reloader, every: u64, mut hangups: Hangups, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = (every > 0).then(|| {
        let start = tokio::time::Instant::now() + Duration::from_secs(every);
        let mut tick = tokio::time::interval_at(start, Duration::from_secs(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    });
    let reloader = Arc::new(Mutex::new(reloader));
    loop {
        let forced = tokio::select! {
            () = async {
                match &mut tick {
                    Some(tick) => { tick.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => false,
            () = hangups.next() => {
                tracing::info!("SIGHUP: loading the TLS certificate and key again");
                true
            }
            _ = stop.wait_for(|stop| *stop) => return,
        };
        // Reading files may block (a network file system): not on a runtime thread.
        let reloader = reloader.clone();
        let looked =
            tokio::task::spawn_blocking(move || reloader.lock().expect("reloader lock").look(forced, Timestamp::now()))
                .await;
        match looked {
            Ok(outcome) => record(&outcome),
            Err(e) => tracing::error!(error = %e, "TLS certificate reload failed"),
        }
    }
}
