//! Client-side errors and recovery, without I/O (the browser extension and the command
//! line keep the values; nothing here reads a clock or a file):
//!
//! - [`CircuitBreaker`]: a component that keeps failing (the YARA scanner, a detection
//!   module, an origin) is switched off for a cool-down that doubles each time it opens
//!   again (up to an hour). One trial call is let through after the cool-down: a success
//!   closes the breaker, a failure opens it again.
//! - [`ErrorLog`]: a local log kept 7 days and at most [`ErrorLog::MAX_ENTRIES`] entries.
//!   It leaves the device only as [`ErrorLog::report`], and only with the user's consent:
//!   counts by kind, with no messages, no URLs and no page content.
//! - [`ClientData`]: what a client keeps, with a soft reset (caches go; the allowlist,
//!   the settings and the rollback protection stay) and a hard reset (everything goes but
//!   the rollback protection, which only protects).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use ferretwatch_detect::{Engine, InputError, Page, ScanOptions, Verdict};
use ferretwatch_types::Timestamp;
use serde::{Deserialize, Serialize};

use crate::update::Persisted;

/// A breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Breaker {
    /// Calls go through; `failures` in a row so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// Calls are refused until `until`.
    Open {
        /// When one trial call is let through.
        until: Timestamp,
    },
    /// One trial call is in flight.
    HalfOpen,
}

/// A circuit breaker around one component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitBreaker {
    /// Consecutive failures that open the breaker.
    pub threshold: u32,
    /// The first cool-down, in seconds (doubled each time the breaker opens again).
    pub cool_down_secs: u64,
    /// The state.
    pub state: Breaker,
    /// Times it opened since it last closed after a success.
    pub opened: u32,
}

impl Default for CircuitBreaker {
    /// Opens after 3 failures in a row, for 30 s, then 60 s, 120 s, … up to an hour.
    fn default() -> Self {
        CircuitBreaker { threshold: 3, cool_down_secs: 30, state: Breaker::Closed { failures: 0 }, opened: 0 }
    }
}

/// The longest cool-down.
pub const MAX_COOL_DOWN_SECS: u64 = 3600;

impl CircuitBreaker {
    /// Whether a call may go through at `now` (an open breaker past its cool-down lets one
    /// trial through and becomes half-open).
    pub fn allow(&mut self, now: Timestamp) -> bool {
        match self.state {
            Breaker::Closed { .. } => true,
            Breaker::Open { until } if now >= until => {
                self.state = Breaker::HalfOpen;
                true
            }
            Breaker::Open { .. } | Breaker::HalfOpen => false,
        }
    }

    /// The call succeeded: the breaker closes.
    pub fn success(&mut self) {
        self.state = Breaker::Closed { failures: 0 };
        self.opened = 0;
    }

    /// The call failed at `now`.
    pub fn failure(&mut self, now: Timestamp) {
        let open = match self.state {
            Breaker::Closed { failures } if failures + 1 < self.threshold => {
                self.state = Breaker::Closed { failures: failures + 1 };
                false
            }
            _ => true,
        };
        if open {
            let cool_down = (self.cool_down_secs << self.opened.min(16)).min(MAX_COOL_DOWN_SECS);
            self.state = Breaker::Open { until: now.plus_secs(cool_down) };
            self.opened += 1;
        }
    }

    /// Whether calls are being refused.
    pub fn is_open(&self) -> bool {
        !matches!(self.state, Breaker::Closed { .. })
    }
}

/// One entry of the local error log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEntry {
    /// When.
    pub at: Timestamp,
    /// A stable kind (`update_failed`, `yara_timeout`, `install_failed`, …).
    pub kind: String,
    /// Detail for the user and for local debugging; never sent.
    pub message: String,
}

/// The local error log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorLog {
    entries: VecDeque<ErrorEntry>,
}

/// What may leave the device, with consent: counts by kind over the retention window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    /// From the oldest entry counted.
    pub since: Option<Timestamp>,
    /// Errors by kind.
    pub counts: BTreeMap<String, u64>,
}

impl ErrorLog {
    /// Days an entry is kept.
    pub const RETENTION_DAYS: u64 = 7;
    /// Entries kept at most (the oldest go first).
    pub const MAX_ENTRIES: usize = 1000;
    /// The longest kind kept (longer ones are cut).
    const MAX_KIND: usize = 40;
    /// The longest message kept.
    const MAX_MESSAGE: usize = 500;

    /// Records an error at `now`, dropping what is past retention or over the bound.
    pub fn record(&mut self, now: Timestamp, kind: &str, message: &str) {
        let clip = |text: &str, max: usize| text.chars().take(max).collect::<String>();
        let kind: String = clip(kind, Self::MAX_KIND)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
            .collect();
        self.entries.push_back(ErrorEntry { at: now, kind, message: clip(message, Self::MAX_MESSAGE) });
        self.prune(now);
    }

    /// Drops entries older than the retention, and the oldest beyond the bound.
    pub fn prune(&mut self, now: Timestamp) {
        let horizon = now.minus_secs(Self::RETENTION_DAYS * 86_400);
        while self.entries.front().is_some_and(|e| e.at < horizon) || self.entries.len() > Self::MAX_ENTRIES {
            self.entries.pop_front();
        }
    }

    /// The entries kept, oldest first (for the user's own view).
    pub fn entries(&self) -> impl Iterator<Item = &ErrorEntry> {
        self.entries.iter()
    }

    /// The report that may be sent, only when the user consented: counts by kind, no
    /// messages. `None` without consent.
    pub fn report(&self, consent: bool) -> Option<ErrorReport> {
        if !consent {
            return None;
        }
        let mut counts = BTreeMap::new();
        for entry in &self.entries {
            *counts.entry(entry.kind.clone()).or_insert(0) += 1;
        }
        Some(ErrorReport { since: self.entries.front().map(|e| e.at), counts })
    }
}

/// Everything a client keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientData {
    /// The updater's state: versions trusted, the installed and last known good packs.
    pub updater: Persisted,
    /// Domains the user chose never to warn about.
    pub allowlist: BTreeSet<String>,
    /// The user's settings (thresholds, language, …), kept as the client wrote them.
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Whether the user agreed to send error reports.
    pub error_reports_consent: bool,
    /// The local error log.
    pub errors: ErrorLog,
    /// Circuit breakers by component.
    pub breakers: BTreeMap<String, CircuitBreaker>,
}

impl ClientData {
    /// Clears caches (the installed packs, which are downloaded and verified again, the
    /// error log and the breakers) and keeps the user's allowlist and settings and the
    /// rollback protection.
    pub fn soft_reset(&mut self) {
        self.updater = Persisted {
            trust: self.updater.trust.clone(),
            rotations: self.updater.rotations.clone(),
            ..Persisted::default()
        };
        self.errors = ErrorLog::default();
        self.breakers.clear();
    }

    /// Everything a reinstall would lose goes, the allowlist, settings and consent too.
    /// The versions trusted and the root rotations followed stay: they only refuse
    /// rollbacks, and forgetting them would let an attacker replay an old pack.
    pub fn hard_reset(&mut self) {
        self.soft_reset();
        self.allowlist.clear();
        self.settings.clear();
        self.error_reports_consent = false;
    }

    /// The breaker of `component` (created closed with the defaults).
    pub fn breaker(&mut self, component: &str) -> &mut CircuitBreaker {
        self.breakers.entry(component.to_owned()).or_default()
    }
    /// Scans `page` with the engine behind the YARA breaker, at `now`. YARA is left out
    /// while its breaker is open (after its threshold, 3, of timed-out scans in a row)
    /// or at degradation level 4 (minimal detection); the verdict then says `partial`,
    /// and every other check still runs. A timed-out scan is a failure of the breaker
    /// and a line in the error log; a scan that ran YARA in time closes it. The user's
    /// allowlist is added to `options`.
    pub fn scan(
        &mut self,
        engine: &Engine,
        page: &Page<'_>,
        options: &ScanOptions,
        now: Timestamp,
    ) -> Result<Verdict, InputError> {
        let minimal = self.updater.degradation >= 4;
        let yara_on = engine.has_yara() && !minimal && self.breaker(YARA).allow(now);
        let mut options = options.clone();
        options.skip_yara |= !yara_on;
        options.user_allowlist.extend(self.allowlist.iter().cloned());
        let verdict = engine.scan(page, &options)?;
        if yara_on && page.html.is_some() {
            if verdict.partial {
                self.breaker(YARA).failure(now);
                self.errors.record(now, "yara_timeout", "a YARA scan reached its time limit");
            } else {
                self.breaker(YARA).success();
            }
        }
        Ok(verdict)
    }
}

/// The breaker around the engine's YARA scanner, the one component that can run long.
pub const YARA: &str = "yara";

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> Timestamp {
        Timestamp::from_secs(1_800_000_000 + secs)
    }

    #[test]
    fn a_breaker_opens_after_three_failures_lets_one_trial_through_and_backs_off() {
        let mut b = CircuitBreaker::default();
        for _ in 0..2 {
            assert!(b.allow(t(0)));
            b.failure(t(0));
        }
        assert!(!b.is_open());
        b.failure(t(0));
        assert!(b.is_open() && !b.allow(t(29)));
        assert!(b.allow(t(30)), "one trial after the cool-down");
        assert!(!b.allow(t(30)), "only one");
        b.failure(t(30));
        assert!(!b.allow(t(89)) && b.allow(t(90)), "the cool-down doubled to 60 s");
        b.success();
        assert!(b.allow(t(91)) && !b.is_open());
        for _ in 0..40 {
            b.failure(t(100));
        }
        let Breaker::Open { until } = b.state else { panic!("open") };
        assert_eq!(until, t(100 + MAX_COOL_DOWN_SECS), "never more than an hour");
    }

    #[test]
    fn the_error_log_keeps_seven_days_and_reports_counts_only_with_consent() {
        let mut log = ErrorLog::default();
        log.record(t(0), "update_failed", "https://evil.example/secret-path: HTTP 503");
        log.record(t(86_400), "yara timeout!", "scan of https://bank.example/ took 600 ms");
        assert_eq!(log.report(false), None, "nothing leaves without consent");
        let report = log.report(true).unwrap();
        assert_eq!(report.counts, BTreeMap::from([("update_failed".into(), 1), ("yara_timeout_".into(), 1)]));
        let json = serde_json::to_string(&report).unwrap();
        assert!(!json.contains("example") && !json.contains("http"), "no URLs or messages: {json}");
        log.prune(t(7 * 86_400 + 1));
        assert_eq!(log.entries().count(), 1, "the first entry is past 7 days");
        for i in 0..(ErrorLog::MAX_ENTRIES + 10) {
            log.record(t(8 * 86_400 + i as u64), "x", "y");
        }
        assert_eq!(log.entries().count(), ErrorLog::MAX_ENTRIES);
    }

    #[test]
    fn yara_that_keeps_timing_out_is_switched_off_by_its_breaker_and_tried_again_after_the_cool_down() {
        use ferretwatch_detect::Rules;
        // boreal checks its clock every 10,240 candidate matches: give it a million.
        let slow = r#"rule slow : phishing_kit high { strings: $a = "ab" condition: #a > 5000000 }"#;
        let engine = Engine::new(Rules::builtin())
            .unwrap()
            .with_yara([("slow.yar", slow)], std::time::Duration::from_nanos(1))
            .unwrap();
        let html = "ab".repeat(1_000_000);
        let page = Page { url: "https://example.com/", html: Some(&html), ..Page::default() };
        let mut data = ClientData::default();
        for _ in 0..3 {
            assert!(data.scan(&engine, &page, &ScanOptions::default(), t(0)).unwrap().partial);
        }
        assert!(data.breakers[YARA].is_open(), "three timeouts in a row open it");
        assert_eq!(data.errors.entries().count(), 3);
        // Open: YARA is left out (still a partial verdict, but no time spent and no new
        // error), and the rest of the engine answers.
        let verdict = data.scan(&engine, &page, &ScanOptions::default(), t(10)).unwrap();
        assert!(verdict.partial);
        assert_eq!(data.errors.entries().count(), 3);
        // After the cool-down one trial runs; it times out again and the breaker reopens.
        data.scan(&engine, &page, &ScanOptions::default(), t(30)).unwrap();
        assert_eq!(data.errors.entries().count(), 4);
        assert!(data.breakers[YARA].is_open());
    }

    #[test]
    fn a_soft_reset_keeps_the_allowlist_and_a_hard_reset_does_not_and_neither_forgets_rollback_state() {
        let mut data = ClientData::default();
        data.allowlist.insert("intranet.example".into());
        data.settings.insert("yellow".into(), serde_json::json!(45));
        data.error_reports_consent = true;
        data.updater.trust.targets = 42;
        data.updater.last_error = Some("x".into());
        data.errors.record(t(0), "k", "m");
        data.breaker("yara").failure(t(0));

        data.soft_reset();
        assert!(data.allowlist.contains("intranet.example") && data.settings.contains_key("yellow"));
        assert!(data.error_reports_consent);
        assert_eq!(data.updater.trust.targets, 42, "rollback protection stays");
        assert!(data.updater.last_error.is_none() && data.updater.current.is_none());
        assert_eq!(data.errors.entries().count(), 0);
        assert!(data.breakers.is_empty());

        data.hard_reset();
        assert!(data.allowlist.is_empty() && data.settings.is_empty() && !data.error_reports_consent);
        assert_eq!(data.updater.trust.targets, 42, "rollback protection stays");
    }
}
