//! Parsers for the threat feeds as their providers publish them, each turning rows into
//! normalised [`Record`]s. A bad row is counted and sampled in the [`ParseReport`], never
//! fatal; only a document that cannot be read at all (a PhishTank file that is not a JSON
//! array) fails the feed.

mod csv_rows;
mod feodo;
mod phishtank;
mod plain;
mod urlhaus;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::FeedError;
use crate::normalize::Indicator;
use ferretwatch_types::HOUR;

/// A feed provider and format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// abuse.ch URLhaus CSV dump (malware distribution URLs).
    Urlhaus,
    /// PhishTank `online-valid.json` (community-verified phishing URLs).
    Phishtank,
    /// abuse.ch Feodo Tracker botnet C2 IP blocklist CSV.
    Feodo,
    /// A plain list: one domain, URL or IP per line, `#` comments.
    Plain,
}

/// What a source's indicators are worth and how long they live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceProfile {
    /// Hours an indicator stays valid after the fetch that saw it.
    pub ttl_hours: u64,
    /// Confidence in per mille.
    pub confidence: u16,
    /// Whether URL queries are kept in the key: the feed lists exact URLs whose query
    /// selects the payload or the victim page.
    pub keep_query: bool,
    /// The license and attribution line carried into the manifest.
    pub license: &'static str,
    /// The public endpoint `intel update` fetches by default.
    pub default_url: Option<&'static str>,
}

impl Source {
    /// Every source.
    pub const ALL: [Source; 4] = [Source::Urlhaus, Source::Phishtank, Source::Feodo, Source::Plain];

    /// The source tag written into feed files and manifests.
    pub fn tag(self) -> &'static str {
        match self {
            Source::Urlhaus => "urlhaus",
            Source::Phishtank => "phishtank",
            Source::Feodo => "feodo",
            Source::Plain => "plain",
        }
    }

    /// The source's defaults (`external_data_sources.md`: abuse.ch feeds 72 h, PhishTank
    /// 7 days).
    pub fn profile(self) -> SourceProfile {
        match self {
            Source::Urlhaus => SourceProfile {
                ttl_hours: 72,
                confidence: 900,
                keep_query: true,
                license: "URLhaus by abuse.ch (https://urlhaus.abuse.ch/), data released under CC0 1.0",
                default_url: Some("https://urlhaus.abuse.ch/downloads/csv_online/"),
            },
            Source::Phishtank => SourceProfile {
                ttl_hours: 7 * 24,
                confidence: 950,
                keep_query: true,
                license: "PhishTank (https://phishtank.org/), operated by Cisco Talos; \
                          used under the PhishTank terms of use, attribution required",
                default_url: Some("https://data.phishtank.com/data/online-valid.json"),
            },
            Source::Feodo => SourceProfile {
                ttl_hours: 72,
                confidence: 950,
                keep_query: false,
                license: "Feodo Tracker by abuse.ch (https://feodotracker.abuse.ch/), data released under CC0 1.0",
                default_url: Some("https://feodotracker.abuse.ch/downloads/ipblocklist.csv"),
            },
            Source::Plain => SourceProfile {
                ttl_hours: 7 * 24,
                confidence: 800,
                keep_query: false,
                license: "local list (no license recorded)",
                default_url: None,
            },
        }
    }

    /// Parses a document of this source.
    pub fn parse(self, data: &[u8], keep_query: bool) -> Result<Parsed, FeedError> {
        let mut parsed = Parsed::default();
        match self {
            Source::Urlhaus => urlhaus::parse(data, keep_query, &mut parsed),
            Source::Phishtank => phishtank::parse(data, keep_query, &mut parsed)?,
            Source::Feodo => feodo::parse(data, &mut parsed),
            Source::Plain => plain::parse(data, keep_query, &mut parsed),
        }
        Ok(parsed)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|source| source.tag() == s)
            .ok_or_else(|| format!("unknown source {s:?} (urlhaus, phishtank, feodo or plain)"))
    }
}

/// TTL in seconds.
pub(crate) fn ttl_seconds(hours: u64) -> u64 {
    hours.saturating_mul(HOUR)
}

/// One accepted row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The normalised indicator.
    pub indicator: Indicator,
    /// The provider's id for the row, when it has one (so reports can cite `src=urlhaus,
    /// id=…` instead of feed content).
    pub id: Option<String>,
}

/// A row that was not used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadRow {
    /// 1-based line (CSV and plain lists) or array entry (PhishTank JSON).
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// How many bad rows are kept as samples.
pub const MAX_SAMPLES: usize = 5;

/// Counts of one parse.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseReport {
    /// Data rows seen (comments and headers excluded).
    pub rows: u64,
    /// Rows turned into an indicator (before de-duplication).
    pub accepted: u64,
    /// Well-formed rows left out by policy (offline URLs, unverified phish).
    pub skipped: u64,
    /// Malformed rows.
    pub bad: u64,
    /// The first few malformed rows.
    pub samples: Vec<BadRow>,
}

/// The outcome of a parse.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// Accepted rows, in feed order.
    pub records: Vec<Record>,
    /// The counts.
    pub report: ParseReport,
}

impl Parsed {
    fn accept(&mut self, indicator: Indicator, id: Option<String>) {
        self.report.rows += 1;
        self.report.accepted += 1;
        self.records.push(Record { indicator, id: id.filter(|id| !id.is_empty()) });
    }

    fn skip(&mut self) {
        self.report.rows += 1;
        self.report.skipped += 1;
    }

    fn bad(&mut self, line: u64, reason: impl Into<String>) {
        self.report.rows += 1;
        self.report.bad += 1;
        if self.report.samples.len() < MAX_SAMPLES {
            self.report.samples.push(BadRow { line, reason: reason.into() });
        }
    }
}
