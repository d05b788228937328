//! Parsers for the threat feeds as their providers publish them, each turning rows into
//! normalised [`Record`]s. A bad row is counted and sampled in the [`ParseReport`], never
//! fatal; only a document that cannot be read at all (a PhishTank file that is not a JSON
//! array) fails the feed.

mod csv_rows;
mod feodo;
mod phishtank;
mod plain;
mod urlhaus;

use ferretwatch_pack_client::indicator::Indicator;
use ferretwatch_pack_client::manifest::FeedSource;
use ferretwatch_types::HOUR;
use serde::{Deserialize, Serialize};

use crate::error::FeedError;

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

/// A source's defaults and parser.
pub trait SourceExt {
    /// The source's defaults (`docs/formats/feed.md`: abuse.ch feeds live 72 h, PhishTank
    /// entries 7 days).
    fn profile(self) -> SourceProfile;

    /// Parses a document of this source.
    fn parse(self, data: &[u8], keep_query: bool) -> Result<Parsed, FeedError>;
}

impl SourceExt for FeedSource {
    fn profile(self) -> SourceProfile {
        match self {
            FeedSource::Urlhaus => SourceProfile {
                ttl_hours: 72,
                confidence: 900,
                keep_query: true,
                license: "URLhaus by abuse.ch (https://urlhaus.abuse.ch/), data released under CC0 1.0",
                default_url: Some("https://urlhaus.abuse.ch/downloads/csv_online/"),
            },
            FeedSource::Phishtank => SourceProfile {
                ttl_hours: 7 * 24,
                confidence: 950,
                keep_query: true,
                license: "PhishTank (https://phishtank.org/), operated by Cisco Talos; \
                          used under the PhishTank terms of use, attribution required",
                default_url: Some("https://data.phishtank.com/data/online-valid.json"),
            },
            FeedSource::Feodo => SourceProfile {
                ttl_hours: 72,
                confidence: 950,
                keep_query: false,
                license: "Feodo Tracker by abuse.ch (https://feodotracker.abuse.ch/), data released under CC0 1.0",
                default_url: Some("https://feodotracker.abuse.ch/downloads/ipblocklist.csv"),
            },
            FeedSource::Plain => SourceProfile {
                ttl_hours: 7 * 24,
                confidence: 800,
                keep_query: false,
                license: "local list (no license recorded)",
                default_url: None,
            },
        }
    }

    /// Parses a document of this source.
    fn parse(self, data: &[u8], keep_query: bool) -> Result<Parsed, FeedError> {
        let mut parsed = Parsed::default();
        match self {
            FeedSource::Urlhaus => urlhaus::parse(data, keep_query, &mut parsed),
            FeedSource::Phishtank => phishtank::parse(data, keep_query, &mut parsed)?,
            FeedSource::Feodo => feodo::parse(data, &mut parsed),
            FeedSource::Plain => plain::parse(data, keep_query, &mut parsed),
        }
        Ok(parsed)
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
