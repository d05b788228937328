//! `ferretwatch reports export-suspicious` (runbook §7.3 "Export suspicious reports"):
//! the reports scored at or above a threshold, newest first, as CSV or one JSON array on
//! standard output, for an analyst, a takedown request or a partner. `reports stats`
//! (the log's aggregates over a window, for the §5.1 reviews) is in [`stats`].
//!
//! The export streams: it reads the log [`PAGE`] reports at a time (keyset on the id) and
//! writes each page before reading the next, so its memory does not grow with the log.
//! A failure part-way is reported on standard error with its exit status; the JSON array
//! is then left unclosed, so no parser takes a partial export for a whole one.
//!
//! One row per report: `id, received_at, kind, url, reason, reason_text, score, findings,
//! pack_version, extension_version, moderation_state, install_token_id, client_net`.
//! `findings` holds the findings' keys only (never their evidence), `;`-joined in CSV and
//! an array in JSON. With `--anonymize`, rows carry no install token (not even the
//! column), the network is coarsened to its IPv4 /16 or IPv6 /32, and the URL loses its
//! query string and fragment (unless `--keep-query`). Without it, the install token id and
//! the network as stored (IPv4 /24, IPv6 /48) are included.
//!
//! Text a spreadsheet would evaluate (a cell starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return) gets a leading `'` in CSV; in JSON, `<`, `>` and `&` are written as
//! `\u003c`, `\u003e` and `\u0026`, so the file is inert if a browser or a page opens it
//! (a JSON parser reads the same strings).

use crate::output::spreadsheet_safe;
use std::io::{BufWriter, StdoutLock, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use ferretwatch_store::{Score, SuspiciousFilter, SuspiciousReport};
use ferretwatch_types::Timestamp;
use serde::Serialize;

use crate::clock::parse_instant;
use crate::console::{with_store, DbArgs};
use crate::error::{CliError, Failure};
use crate::output::{self, Format};

pub mod stats;

/// Reports read per query.
pub const PAGE: u32 = 1000;

/// Exports from the report log.
#[derive(Subcommand)]
pub enum ReportsCommand {
    /// Reports scored at or above a threshold, newest first, as CSV or JSON on standard
    /// output (optionally anonymised).
    ExportSuspicious(ExportArgs),
    /// The log's aggregates over a window: per kind, reason, level, moderation outcome,
    /// false-positive domain and bucket, with the database's size (counts only).
    Stats(stats::StatsArgs),
}

/// How the export is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A header, then one row per report; findings `;`-joined.
    Csv,
    /// One JSON array, one report per line.
    Json,
}

/// `reports export-suspicious`.
#[derive(Args)]
pub struct ExportArgs {
    /// Export reports scored at least this (0 to 100).
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..=100))]
    threshold_score: i64,
    /// Leave out install tokens, coarsen networks to /16 (IPv4) or /32 (IPv6), and drop
    /// each URL's query string and fragment.
    #[arg(long)]
    anonymize: bool,
    /// With --anonymize, keep the URLs' query strings.
    #[arg(long, requires = "anonymize")]
    keep_query: bool,
    /// The output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    output_format: ExportFormat,
    /// Only reports received at or after this instant (RFC 3339 UTC or Unix seconds);
    /// default: all time.
    #[arg(long, value_parser = parse_instant)]
    since: Option<Timestamp>,
    #[command(flatten)]
    db: DbArgs,
}

/// Runs a reports command.
pub fn run(command: ReportsCommand) -> ExitCode {
    match command {
        ReportsCommand::ExportSuspicious(args) => export_suspicious(args),
        ReportsCommand::Stats(args) => output::run(args.output.format, None, || stats::stats(&args)),
    }
}

/// What leaves the machine with each row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Privacy {
    /// Anonymise (see the module documentation).
    pub anonymize: bool,
    /// Keep query strings even when anonymising.
    pub keep_query: bool,
}

/// One exported report.
#[derive(Debug, Serialize)]
pub struct Row<'a> {
    id: i64,
    received_at: String,
    kind: &'static str,
    url: &'a str,
    reason: &'static str,
    reason_text: Option<&'a str>,
    score: u8,
    findings: Vec<&'a str>,
    pack_version: &'a str,
    extension_version: &'a str,
    moderation_state: &'static str,
    /// Absent (the outer `None`) when anonymising; `null` when the report had none.
    #[serde(skip_serializing_if = "Option::is_none")]
    install_token_id: Option<Option<&'a str>>,
    client_net: Option<String>,
}

impl<'a> Row<'a> {
    /// The row of `r` under `privacy`.
    pub fn new(r: &'a SuspiciousReport, privacy: Privacy) -> Self {
        let report = &r.report;
        let url = if privacy.anonymize && !privacy.keep_query { without_query(&report.url) } else { &report.url };
        let client_net = match (&report.client_net, privacy.anonymize) {
            (Some(net), true) => coarsen(net),
            (net, false) => net.clone(),
            (None, true) => None,
        };
        Row {
            id: report.id.0,
            received_at: report.received_at.to_string(),
            kind: report.kind.code(),
            url,
            reason: report.reason.code(),
            reason_text: report.reason.text(),
            score: report.score,
            findings: report.findings.iter().map(|f| f.key()).collect(),
            pack_version: &report.pack_version,
            extension_version: &report.extension_version,
            moderation_state: r.state.code(),
            install_token_id: (!privacy.anonymize).then_some(report.install_token_id.as_deref()),
            client_net,
        }
    }

    fn csv_record(&self) -> Vec<String> {
        let text = |s: &str| spreadsheet_safe(s);
        let mut record = vec![
            self.id.to_string(),
            self.received_at.clone(),
            self.kind.to_owned(),
            text(self.url),
            self.reason.to_owned(),
            text(self.reason_text.unwrap_or_default()),
            self.score.to_string(),
            text(&self.findings.join(";")),
            text(self.pack_version),
            text(self.extension_version),
            self.moderation_state.to_owned(),
        ];
        if let Some(token) = self.install_token_id {
            record.push(text(token.unwrap_or_default()));
        }
        record.push(text(self.client_net.as_deref().unwrap_or_default()));
        record
    }
}

/// The CSV header: every column, or (anonymising) all but `install_token_id`.
pub fn csv_header(privacy: Privacy) -> Vec<&'static str> {
    let mut columns = vec![
        "id",
        "received_at",
        "kind",
        "url",
        "reason",
        "reason_text",
        "score",
        "findings",
        "pack_version",
        "extension_version",
        "moderation_state",
    ];
    if !privacy.anonymize {
        columns.push("install_token_id");
    }
    columns.push("client_net");
    columns
}

/// A URL without its query string and fragment. Stored URLs are normalised (WHATWG
/// serialisation), where `?` and `#` appear only as those delimiters.
pub fn without_query(url: &str) -> &str {
    url.find(['?', '#']).map_or(url, |at| &url[..at])
}

/// A stored network (`a.b.c.0/24`, `x:y:z::/48`) coarsened to its IPv4 /16 or IPv6 /32;
/// `None` for anything else (never passed through as it was).
pub fn coarsen(net: &str) -> Option<String> {
    let address: IpAddr = net.split_once('/').map_or(net, |(address, _)| address).parse().ok()?;
    Some(match address {
        IpAddr::V4(v4) => {
            let [a, b, _, _] = v4.octets();
            format!("{}/16", Ipv4Addr::new(a, b, 0, 0))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{}/32", Ipv6Addr::new(s[0], s[1], 0, 0, 0, 0, 0, 0))
        }
    })
}

/// JSON text with `<`, `>` and `&` escaped as `\u003c`, `\u003e`, `\u0026`. Outside
/// strings JSON never holds them, so the document means the same.
pub fn html_safe_json(json: &str) -> String {
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// Where rows go: standard output, as CSV or as one JSON array.
enum Sink {
    Csv(Box<csv::Writer<StdoutLock<'static>>>),
    Json { out: BufWriter<StdoutLock<'static>>, rows: u64 },
}

fn write_failed(error: std::io::Error) -> CliError {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        CliError::failed("output_closed", "standard output was closed before the export finished")
    } else {
        CliError::failed("output", format!("writing the export: {error}"))
    }
}

fn csv_failed(error: csv::Error) -> CliError {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => write_failed(io),
        other => CliError::failed("csv", format!("{other:?}")),
    }
}

impl Sink {
    fn open(format: ExportFormat, privacy: Privacy) -> Result<Self, CliError> {
        let stdout = std::io::stdout().lock();
        Ok(match format {
            ExportFormat::Csv => {
                let mut out = csv::Writer::from_writer(stdout);
                out.write_record(csv_header(privacy)).map_err(csv_failed)?;
                Sink::Csv(Box::new(out))
            }
            ExportFormat::Json => {
                let mut out = BufWriter::new(stdout);
                out.write_all(b"[").map_err(write_failed)?;
                Sink::Json { out, rows: 0 }
            }
        })
    }

    fn row(&mut self, row: &Row<'_>) -> Result<(), CliError> {
        match self {
            Sink::Csv(out) => out.write_record(row.csv_record()).map_err(csv_failed),
            Sink::Json { out, rows } => {
                let json = serde_json::to_string(row).map_err(|e| CliError::failed("json", e.to_string()))?;
                let separator: &[u8] = if *rows == 0 { b"\n" } else { b",\n" };
                *rows += 1;
                out.write_all(separator)
                    .and_then(|()| out.write_all(html_safe_json(&json).as_bytes()))
                    .map_err(write_failed)
            }
        }
    }

    /// Flushes what each page wrote, so a reader sees rows as they come.
    fn flush(&mut self) -> Result<(), CliError> {
        match self {
            Sink::Csv(out) => out.flush().map_err(write_failed),
            Sink::Json { out, .. } => out.flush().map_err(write_failed),
        }
    }

    fn finish(mut self) -> Result<(), CliError> {
        if let Sink::Json { out, rows } = &mut self {
            out.write_all(if *rows == 0 { b"]\n" } else { b"\n]\n" }).map_err(write_failed)?;
        }
        self.flush()
    }
}

/// Streams the export to standard output.
fn export_suspicious(args: ExportArgs) -> ExitCode {
    // Until the first byte is written, an error in JSON mode is a JSON document as for
    // every command; after it, only standard error may speak.
    let early_format = if args.output_format == ExportFormat::Json { Format::Json } else { Format::Text };
    let privacy = Privacy { anonymize: args.anonymize, keep_query: args.keep_query };
    let min_score = match Score::new(args.threshold_score) {
        Ok(score) => score,
        Err(e) => return output::fail(early_format, None, &CliError::input("invalid_argument", e.to_string())),
    };
    let filter = SuspiciousFilter { min_score, since: args.since };
    let settings = match args.db.settings() {
        Ok(settings) => settings,
        Err(e) => return output::fail(early_format, None, &e),
    };
    let mut started = false;
    let result: Result<u64, Failure> = with_store(&settings, async |store| {
        let mut sink = None;
        let mut before = None;
        let mut exported = 0u64;
        loop {
            let page = store.suspicious_reports(&filter, before, PAGE).await?;
            let sink = match &mut sink {
                Some(sink) => sink,
                None => {
                    started = true;
                    sink.insert(Sink::open(args.output_format, privacy)?)
                }
            };
            for report in &page {
                sink.row(&Row::new(report, privacy))?;
            }
            exported += page.len() as u64;
            sink.flush()?;
            match page.last() {
                Some(last) if page.len() == PAGE as usize => before = Some(last.id()),
                _ => break,
            }
        }
        if let Some(sink) = sink {
            sink.finish()?;
        }
        Ok(exported)
    });
    match result {
        Ok(exported) => {
            let since = args.since.map(|t| format!(" received since {t}")).unwrap_or_default();
            let how = if args.anonymize { ", anonymised" } else { "" };
            output::note(format_args!(
                "exported {exported} report(s) scored {} or more{since}{how}",
                args.threshold_score
            ));
            ExitCode::SUCCESS
        }
        Err(Failure(error)) => output::fail(if started { Format::Text } else { early_format }, None, error.as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_coarsened_to_a_16_or_a_32_and_anything_else_is_dropped() {
        assert_eq!(coarsen("203.0.113.0/24").as_deref(), Some("203.0.0.0/16"));
        assert_eq!(coarsen("2001:db8:1::/48").as_deref(), Some("2001:db8::/32"));
        assert_eq!(coarsen("2001:db8:abcd:1::/48").as_deref(), Some("2001:db8::/32"));
        assert_eq!(coarsen("not a network"), None);
        assert_eq!(coarsen(""), None);
    }

    #[test]
    fn query_strings_and_fragments_are_dropped() {
        assert_eq!(without_query("https://a.example/p?u=victim@x.test#f"), "https://a.example/p");
        assert_eq!(without_query("https://a.example/p#f"), "https://a.example/p");
        assert_eq!(without_query("https://a.example/"), "https://a.example/");
    }

    #[test]
    fn formulas_are_quoted_in_csv_and_markup_escaped_in_json() {
        assert_eq!(spreadsheet_safe("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(spreadsheet_safe("-1+1"), "'-1+1");
        assert_eq!(spreadsheet_safe("https://a.example/"), "https://a.example/");
        let json = serde_json::to_string(&"<script>&").unwrap();
        let safe = html_safe_json(&json);
        assert_eq!(safe, r#""\u003cscript\u003e\u0026""#);
        assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), "<script>&");
    }
}
