//! Everything `ferretwatch` prints goes through here: a command's result as text for
//! people or one JSON document for machines ([`emit`]), an error with its stable code and
//! the exit status of the one table ([`fail`]), warnings and notes on standard error.
//!
//! Results go to standard output, everything else to standard error, so a script can
//! pipe `--format json` output straight into a JSON parser.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use ferretwatch_types::Coded;
use serde::Serialize;
use serde_json::json;

use crate::error::Failure;
use crate::exit;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON document (one per line for `scan --batch` and `intel update`).
    Json,
}

/// The `--format` flag, for commands that print a result.
#[derive(Args, Clone, Copy, Debug)]
pub struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// What a command has to say when it succeeds (or, for a gate, when it ran and failed).
#[derive(Debug)]
pub struct Report {
    text: String,
    json: String,
    status: u8,
}

impl Report {
    /// A result with its text and JSON forms (fields in their declared order); exit
    /// status 0.
    pub fn new(text: impl Into<String>, json: &impl Serialize) -> Self {
        let json = serde_json::to_string(json).expect("a report serialises");
        Report { text: text.into(), json, status: exit::SUCCESS }
    }

    /// A result that only people read (its JSON form carries the text as `message`).
    pub fn text(text: impl Into<String>) -> Self {
        let text = text.into();
        let json = json!({ "ok": true, "message": text.trim_end() }).to_string();
        Report { text, json, status: exit::SUCCESS }
    }

    /// Its text, its JSON and its exit status (for tests).
    #[cfg(test)]
    pub fn parts(&self) -> (&str, &str, u8) {
        (&self.text, &self.json, self.status)
    }

    /// The same result with another exit status.
    pub fn with_status(mut self, status: u8) -> Self {
        self.status = status;
        self
    }
}

/// Prints `report` in `format`; returns its exit status.
pub fn emit(format: Format, report: &Report) -> ExitCode {
    match format {
        Format::Text if report.text.is_empty() => {}
        Format::Text if report.text.ends_with('\n') => print!("{}", report.text),
        Format::Text => println!("{}", report.text),
        Format::Json => println!("{}", report.json),
    }
    ExitCode::from(report.status)
}

/// Prints `error` with its code (and, in JSON, as `{"ok": false, "error": …}` on standard
/// output); returns its exit status from the one table. A refused pack or bulletin names
/// its `subject`.
pub fn fail(format: Format, subject: Option<&str>, error: &dyn Coded) -> ExitCode {
    let status = exit::of(error);
    if format == Format::Json {
        let body = json!({
            "ok": false,
            "error": { "code": error.code(), "message": error.to_string(), "exit_status": status },
        });
        println!("{body}");
    }
    match subject.filter(|_| exit::is_refusal(status)) {
        Some(subject) => eprintln!("ferretwatch: REFUSED {subject}: error[{}]: {error}", error.code()),
        None => eprintln!("ferretwatch: error[{}]: {error}", error.code()),
    }
    ExitCode::from(status)
}

/// Runs a command's body: prints its report, or its error with the code and status.
pub fn run(format: Format, subject: Option<&str>, body: impl FnOnce() -> Result<Report, Failure>) -> ExitCode {
    match body() {
        Ok(report) => emit(format, &report),
        Err(Failure(error)) => fail(format, subject, error.as_ref()),
    }
}

/// A warning on standard error.
pub fn warn(message: impl std::fmt::Display) {
    eprintln!("ferretwatch: warning: {message}");
}

/// A note for the person at the terminal, on standard error (never part of the result).
pub fn note(message: impl std::fmt::Display) {
    eprintln!("ferretwatch: {message}");
}

/// A CSV cell that a spreadsheet will not run as a formula: text starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return gets a leading `'` (an address such as `=1+1@x`
/// is valid, and report texts are whatever a reporter typed).
pub fn spreadsheet_safe(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}
