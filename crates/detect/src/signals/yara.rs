//! YARA content signatures through `boreal`, over one buffer: the page's HTML source (with
//! its inline scripts and event handlers, verbatim) followed by its visible text. Rule tags name the family (`phishing_kit`, `credential_harvest`, ...) and the
//! severity (`high`, `medium`, `low`; medium when absent), which selects the weight key.
//! A scan has a size limit and a hard time limit; a timeout yields a partial verdict.

use std::time::Duration;

use boreal::scanner::{ScanError, ScanParams};
use boreal::MetadataValue;
use boreal::{Compiler, Scanner};

use crate::error::RulesError;
use crate::rules::Key;
use crate::verdict::Signal;

/// Compiled YARA rules.
#[derive(Clone)]
pub(crate) struct Yara {
    scanner: Scanner,
    rules: usize,
}

impl std::fmt::Debug for Yara {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Yara").field("rules", &self.rules).finish()
    }
}

/// What a scan found.
pub(crate) struct YaraOutcome {
    /// One signal per matched rule.
    pub signals: Vec<Signal>,
    /// True when the time limit cut the scan short.
    pub timed_out: bool,
}

impl Yara {
    /// Compiles named YARA sources; the error names the source and the rule problem.
    /// `timeout` is `None` only when the host enforces the limit itself (a WebAssembly
    /// worker terminated at the limit: the target has no clock for boreal to read).
    pub(crate) fn compile<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
        timeout: Option<Duration>,
    ) -> Result<Self, RulesError> {
        let mut compiler = Compiler::new();
        let mut rules = 0;
        for (name, source) in sources {
            compiler.add_rules_str(source).map_err(|e| RulesError::Yara(format!("{name}: {e}")))?;
            rules += source.matches("rule ").count();
        }
        let mut scanner = compiler.finalize();
        scanner.set_scan_params(ScanParams::default().timeout_duration(timeout).string_max_nb_matches(100));
        Ok(Yara { scanner, rules })
    }

    /// Scans `buffer`.
    pub(crate) fn scan(&self, buffer: &[u8]) -> YaraOutcome {
        let (result, timed_out) = match self.scanner.scan_mem(buffer) {
            Ok(result) => (result, false),
            Err((ScanError::Timeout, result)) => (result, true),
            Err((_, result)) => (result, false),
        };
        let mut signals = Vec::new();
        for rule in result.rules.iter().filter(|r| r.matched) {
            let mut severity = "medium";
            let mut family = None;
            for tag in rule.tags {
                match self.scanner.get_string_symbol(*tag) {
                    s @ ("high" | "medium" | "low") => severity = s,
                    other => family = family.or(Some(other)),
                }
            }
            let description = rule.metadatas.iter().find_map(|m| {
                (self.scanner.get_string_symbol(m.name) == "description").then_some(())?;
                match m.value {
                    MetadataValue::Bytes(b) => {
                        Some(String::from_utf8_lossy(self.scanner.get_bytes_symbol(b)).into_owned())
                    }
                    _ => None,
                }
            });
            let key = match severity {
                "high" => Key::yara_phishing_high,
                "low" => Key::yara_phishing_low,
                _ => Key::yara_phishing_medium,
            };
            let mut evidence = format!("YARA rule {} ({}, {severity})", rule.name, family.unwrap_or("untagged"));
            if let Some(description) = description {
                evidence.push_str(": ");
                evidence.push_str(&description);
            }
            signals.push(Signal::new(key, 1000, evidence));
        }
        YaraOutcome { signals, timed_out }
    }
}
