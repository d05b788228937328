//! `audit verify-export FILE [--public-key FILE]…`: an export checked offline. The entries
//! must form an unbroken chain from the first one's predecessor, each signed; the trailer
//! must count them, name the first and last, and carry the digest of every byte before it
//! with a valid signature of that digest.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_store::{AuditEntry, AuditVerifier, ChainCheck};
use ferretwatch_types::Sha256;
use serde_json::json;

use super::export::{Trailer, TrailerLine};
use crate::console::AuditKeys;
use crate::exit;
use crate::input::read_input;
use crate::output::{self, FormatArg, Report};

/// `audit verify-export`.
#[derive(Args)]
pub struct VerifyExportArgs {
    /// The export (`audit/audit-….jsonl`).
    file: PathBuf,
    /// The audit key's public half; repeat across a key rotation. Default: the configured
    /// audit key.
    #[arg(long = "public-key")]
    public_keys: Vec<PathBuf>,
    /// The server's configuration file, for its audit key when --public-key is not given.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    output: FormatArg,
}

/// Checks the file; exit 1 on any problem, 2 when it cannot be read.
pub fn run(args: VerifyExportArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let settings = crate::commands::serve::settings(args.config.as_deref(), None)?;
        let keys = AuditKeys::resolve(&args.public_keys, &settings)?;
        let bytes = read_input(&args.file)?;
        let checked = check(&bytes, &keys);
        let head = checked.head.as_ref().map(|(seq, hash)| format!("{seq}:{hash}"));
        let mut text = format!(
            "{}: {} entries{}, head {}\n",
            args.file.display(),
            checked.entries,
            checked
                .trailer
                .as_ref()
                .map(|t| format!(", exported {} by key {}", t.exported_at, t.key_id))
                .unwrap_or_default(),
            head.as_deref().unwrap_or("none"),
        );
        for problem in &checked.problems {
            let _ = writeln!(text, "problem: {problem}");
        }
        let ok = checked.problems.is_empty();
        let _ = write!(
            text,
            "{}",
            if ok { "intact".to_owned() } else { format!("BROKEN: {} problem(s)", checked.problems.len()) }
        );
        let json = json!({ "ok": ok, "file": args.file.display().to_string(), "entries": checked.entries, "head": head, "problems": checked.problems });
        Ok(Report::new(text, &json).with_status(if ok { exit::SUCCESS } else { exit::FAILED }))
    })
}

/// What an export holds and what is wrong with it.
#[derive(Debug, Default)]
pub struct Checked {
    /// Entry lines read.
    pub entries: u64,
    /// The last entry's sequence number and hash.
    pub head: Option<(i64, String)>,
    /// The trailer, when the last line is one.
    pub trailer: Option<Trailer>,
    /// Every problem, in order.
    pub problems: Vec<String>,
}

/// Checks an export's bytes.
pub fn check(bytes: &[u8], keys: &dyn AuditVerifier) -> Checked {
    let mut out = Checked::default();
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if !bytes.ends_with(b"\n") {
        out.problems.push("the file does not end with a line break (cut short?)".into());
    }
    let trailer_start = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let (covered, trailer_line) = bytes.split_at(trailer_start);
    match serde_json::from_slice::<TrailerLine>(trailer_line) {
        Ok(line) => out.trailer = Some(line.trailer),
        Err(e) => out.problems.push(format!("the last line is not a trailer ({e})")),
    }
    let mut entries = Vec::new();
    let lines = covered.strip_suffix(b"\n").map(|c| c.split(|b| *b == b'\n'));
    for (i, line) in lines.into_iter().flatten().enumerate() {
        match serde_json::from_slice::<AuditEntry>(line) {
            Ok(entry) => entries.push(entry),
            Err(e) => out.problems.push(format!("line {} is not an audit entry ({e})", i + 1)),
        }
    }
    out.entries = entries.len() as u64;
    if let Some(first) = entries.first() {
        let mut check = match (first.seq, Sha256::from_hex(&first.prev_hash)) {
            (1, _) => ChainCheck::new(),
            (seq, Ok(prev)) => ChainCheck::after(seq - 1, prev),
            (seq, Err(_)) => ChainCheck::after(seq - 1, Sha256::from_bytes([0; 32])),
        };
        for entry in &entries {
            check.push(entry, keys);
        }
        let report = check.finish(entries.last());
        out.problems.extend(report.problems.iter().map(ToString::to_string));
        out.head = report.head;
    }
    if let Some(t) = &out.trailer {
        let digest = Sha256::of(covered);
        if t.entries != out.entries {
            out.problems.push(format!("the trailer counts {} entries; the file has {}", t.entries, out.entries));
        }
        if entries.first().map(|e| e.seq) != Some(t.first_seq) {
            out.problems.push(format!("the trailer's first entry is {}, not the file's first", t.first_seq));
        }
        if out.head.as_ref() != Some(&(t.head_seq, t.head_hash.clone())) {
            out.problems
                .push(format!("the trailer's head {}:{} is not the file's last entry", t.head_seq, t.head_hash));
        }
        if t.sha256 != digest.to_hex() {
            out.problems.push("the entries do not match the trailer's sha256 (the file was changed)".into());
        }
        let signature = hex::decode(&t.signature).unwrap_or_default();
        if !keys.verify(&t.key_id, &digest, &signature) {
            out.problems.push(format!("the trailer's signature does not verify with key {}", t.key_id));
        }
    }
    out
}
