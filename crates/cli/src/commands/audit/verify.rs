//! `audit verify [--public-key FILE]… [--expect-head SEQ:HASH]`: the whole log, page by
//! page, through `ChainCheck`.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_store::{AuditEntry, ChainCheck};
use serde_json::json;

use super::PAGE;
use crate::console::{with_store, AuditKeys, DbArgs};
use crate::exit;
use crate::output::{self, FormatArg, Report};

/// `audit verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The audit key's public half (DATA_DIR/console/audit.pub.json); repeat across a key
    /// rotation. Default: the configured audit key.
    #[arg(long = "public-key")]
    public_keys: Vec<PathBuf>,
    /// A head recorded earlier (SEQ:HASH, as this command and `audit export` print it):
    /// fail unless that entry is still in the log, unchanged.
    #[arg(long, value_parser = parse_head)]
    expect_head: Option<(i64, String)>,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// Parses `SEQ:HASH` (a sequence number from 1 and 64 hex digits).
pub fn parse_head(text: &str) -> Result<(i64, String), String> {
    let bad = || format!("{text:?} is not a head: want SEQ:HASH (an entry number and its 64-hex-digit hash)");
    let (seq, hash) = text.split_once(':').ok_or_else(bad)?;
    let seq: i64 = seq.trim().parse().ok().filter(|s| *s >= 1).ok_or_else(bad)?;
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok((seq, hash))
}

/// Walks the log; exit 1 on any problem.
pub fn run(args: VerifyArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let settings = args.db.settings()?;
        let keys = AuditKeys::resolve(&args.public_keys, &settings)?;
        let expected_seq = args.expect_head.as_ref().map(|(seq, _)| *seq);
        let (report, found) = with_store(&settings, async |store| {
            let mut check = ChainCheck::new();
            let mut last: Option<AuditEntry> = None;
            let mut found = None;
            loop {
                let after = last.as_ref().map_or(0, |e| e.seq);
                let page = store.audit_after(after, PAGE).await?;
                let full = page.len() == PAGE as usize;
                for entry in page {
                    check.push(&entry, &keys);
                    if Some(entry.seq) == expected_seq {
                        found = Some(entry.hash.clone());
                    }
                    last = Some(entry);
                }
                if !full {
                    break;
                }
            }
            Ok((check.finish(last.as_ref()), found))
        })?;
        let mut problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        if let Some((seq, hash)) = &args.expect_head {
            match found {
                None => problems.push(format!(
                    "the expected head, entry {seq}, is missing: the log ends at {} (its newest entries were removed?)",
                    report.head.as_ref().map_or_else(|| "no entry".to_owned(), |(s, _)| format!("entry {s}"))
                )),
                Some(stored) if stored != *hash => {
                    problems.push(format!("entry {seq} has hash {stored}, not the expected {hash}"))
                }
                Some(_) => {}
            }
        }
        let head = report.head.as_ref().map(|(seq, hash)| format!("{seq}:{hash}"));
        let mut text = format!(
            "audit log: {} entries checked, head {} (keys: {})\n",
            report.entries,
            head.as_deref().unwrap_or("none"),
            keys.ids().join(", ")
        );
        for problem in &problems {
            let _ = writeln!(text, "problem: {problem}");
        }
        let _ = write!(
            text,
            "{}",
            if problems.is_empty() {
                "the chain holds".to_owned()
            } else {
                format!("BROKEN: {} problem(s)", problems.len())
            }
        );
        let json = json!({ "ok": problems.is_empty(), "entries": report.entries, "head": head, "problems": problems });
        let status = if problems.is_empty() { exit::SUCCESS } else { exit::FAILED };
        Ok(Report::new(text, &json).with_status(status))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_a_positive_number_and_a_full_hash() {
        let hash = "ab".repeat(32);
        assert_eq!(parse_head(&format!("42:{}", hash.to_uppercase())), Ok((42, hash.clone())));
        for bad in ["", "42", ":abc", &format!("0:{hash}"), &format!("-1:{hash}"), "4:abcd", &format!("x:{hash}")] {
            assert!(parse_head(bad).is_err(), "{bad}");
        }
    }
}
