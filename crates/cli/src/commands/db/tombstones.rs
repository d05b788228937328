//! `ferretwatch db tombstones list|export|reapply --from FILE`.
//!
//! The export is JSON lines, one tombstone each: `{"hash": HEX, "kind": "url"|"install",
//! "created_at": RFC3339, "created_at_ms": N}`. Only keyed hashes: never a URL, a URL's
//! hash or an install token id, so the file can be kept beside the backups. `reapply`
//! reads such a file (after a restore from a backup older than some deletions), stores
//! the tombstones the database lacks and deletes whatever any tombstone covers; it needs
//! the same tombstone key, and never creates one.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferretwatch_store::{KeyedHash, Tombstone, TombstoneKey, TombstoneSubject};
use ferretwatch_types::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::console::{with_store, DbArgs};
use crate::error::{CliError, Failure};
use crate::output::{self, FormatArg, Report};

/// The reason a reapplied tombstone records when the database did not have it.
pub const REAPPLIED_REASON: &str = "reapplied from an export";

/// Tombstone commands.
#[derive(Subcommand)]
pub enum TombstonesCommand {
    /// Every tombstone, oldest first.
    List(ListArgs),
    /// Every tombstone as JSON lines on standard output (keyed hashes only).
    Export(ExportArgs),
    /// Store the tombstones of an export and delete what they cover (after a restore).
    Reapply(ReapplyArgs),
}

/// `db tombstones list`.
#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// `db tombstones export`.
#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    db: DbArgs,
}

/// `db tombstones reapply`.
#[derive(Args)]
pub struct ReapplyArgs {
    /// The export (JSON lines); `-` for standard input.
    #[arg(long)]
    from: PathBuf,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// One line of an export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportLine {
    /// The keyed hash, hex.
    pub hash: String,
    /// `url` or `install`.
    pub kind: String,
    /// When it was recorded (to the second).
    pub created_at: String,
    /// The same to the millisecond (what an install's tombstone covers exactly).
    #[serde(default)]
    pub created_at_ms: Option<i64>,
    /// The tombstone key's check value (`TombstoneKey::check_value`), hex: an export is
    /// applied only under the key it was made with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_check: Option<String>,
}

impl ExportLine {
    /// The export line of a tombstone, with the check value of the key it was made under.
    pub fn of(t: &Tombstone, key: Option<&TombstoneKey>) -> Self {
        ExportLine {
            hash: t.keyed_hash.to_hex(),
            kind: t.subject.code().to_owned(),
            created_at: t.created_at.to_string(),
            created_at_ms: Some(t.created_at.as_millis()),
            key_check: key.map(|k| k.check_value().to_hex()),
        }
    }

    fn tombstone(&self) -> Result<Tombstone, String> {
        let created_at = match self.created_at_ms {
            Some(ms) => Timestamp::from_millis(ms),
            None => Timestamp::parse(&self.created_at).map_err(|e| e.to_string())?,
        };
        Ok(Tombstone {
            keyed_hash: KeyedHash::from_hex(&self.hash).map_err(|e| e.to_string())?,
            subject: TombstoneSubject::parse(&self.kind).map_err(|e| e.to_string())?,
            created_at,
            reason: REAPPLIED_REASON.to_owned(),
        })
    }
}

/// The export of `tombstones` made under `key`: one JSON line each.
pub fn export_text<'a>(
    tombstones: impl IntoIterator<Item = &'a Tombstone>,
    key: Option<&TombstoneKey>,
) -> Result<String, CliError> {
    let mut text = String::new();
    for t in tombstones {
        text.push_str(
            &serde_json::to_string(&ExportLine::of(t, key)).map_err(|e| CliError::failed("json", e.to_string()))?,
        );
        text.push('\n');
    }
    Ok(text)
}

/// Parses an export; a bad line is refused with its number, and so is a line made under
/// another tombstone key than `key` (applied, it would match nothing).
pub fn parse_export(reader: impl BufRead, key: Option<&TombstoneKey>) -> Result<Vec<Tombstone>, CliError> {
    let expected = key.map(|k| k.check_value().to_hex());
    let mut tombstones = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| CliError::input("export_unreadable", format!("reading the export: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| CliError::input("bad_export", format!("line {}: {why}", n + 1));
        let parsed: ExportLine = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        if let (Some(expected), Some(check)) = (&expected, &parsed.key_check) {
            if expected != check {
                return Err(CliError::input(
                    "tombstone_key_mismatch",
                    format!(
                        "line {}: made under another tombstone key than this one; applied, it would match nothing \
                         (use the service's key: lifecycle.tombstone_key_file)",
                        n + 1
                    ),
                ));
            }
        }
        tombstones.push(parsed.tombstone().map_err(bad)?);
    }
    Ok(tombstones)
}

pub fn run(command: TombstonesCommand) -> ExitCode {
    match command {
        TombstonesCommand::List(args) => output::run(args.output.format, None, || list(&args)),
        TombstonesCommand::Export(args) => match export(&args) {
            Ok(count) => {
                output::note(format_args!("exported {count} tombstone(s)"));
                ExitCode::SUCCESS
            }
            Err(Failure(e)) => output::fail(output::Format::Text, None, e.as_ref()),
        },
        TombstonesCommand::Reapply(args) => output::run(args.output.format, None, || reapply(&args)),
    }
}

fn list(args: &ListArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let all = with_store(&settings, async |store| Ok(store.list_tombstones().await?))?;
    let mut text = format!("{} tombstone(s)\n", all.len());
    for t in &all {
        text.push_str(&format!(
            "  {}  {:<7}  {}  {}\n",
            t.keyed_hash.to_hex(),
            t.subject.code(),
            t.created_at,
            t.reason
        ));
    }
    let json = json!({
        "tombstones": all.iter().map(|t| json!({
            "hash": t.keyed_hash.to_hex(), "kind": t.subject.code(), "created_at": t.created_at, "reason": t.reason,
        })).collect::<Vec<_>>(),
    });
    Ok(Report::new(text, &json))
}

fn export(args: &ExportArgs) -> Result<usize, Failure> {
    let settings = args.db.settings()?;
    let key = super::tombstone_key(&settings, false).ok();
    let all = with_store(&settings, async |store| Ok(store.list_tombstones().await?))?;
    let text = export_text(&all, key.as_ref())?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::failed("output", format!("writing the export: {e}")))?;
    Ok(all.len())
}

fn reapply(args: &ReapplyArgs) -> Result<Report, Failure> {
    let mut bytes = Vec::new();
    let read = if args.from.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(&args.from).and_then(|mut file| file.read_to_end(&mut bytes))
    };
    read.map_err(|e| CliError::input("export_unreadable", format!("{}: {e}", args.from.display())))?;
    // A malformed export is refused before the key is looked for; then every line must
    // have been made under this key.
    parse_export(bytes.as_slice(), None)?;
    let settings = args.db.settings()?;
    let key = super::tombstone_key(&settings, false)?;
    let tombstones = parse_export(bytes.as_slice(), Some(&key))?;
    let done = with_store(&settings, async |store| Ok(store.reapply_tombstones(&key, &tombstones).await?))?;
    let text = format!(
        "reapplied {} tombstone(s) ({} new): {} report(s) deleted, {} moderation entr(ies) redacted\n",
        tombstones.len(),
        done.inserted,
        done.reports_deleted,
        done.moderation_redacted
    );
    Ok(Report::new(
        text,
        &json!({
            "read": tombstones.len(),
            "inserted": done.inserted,
            "reports_deleted": done.reports_deleted,
            "moderation_redacted": done.moderation_redacted,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_round_trips_and_a_bad_line_is_refused_by_number() {
        let t = Tombstone {
            keyed_hash: KeyedHash([9; 32]),
            subject: TombstoneSubject::Install,
            created_at: Timestamp::from_millis(1_790_000_000_123),
            reason: "x".into(),
        };
        let line = serde_json::to_string(&ExportLine::of(&t, None)).unwrap();
        assert!(!line.contains("reason"));
        let back = parse_export(format!("{line}\n\n").as_bytes(), None).unwrap();
        assert_eq!((back[0].keyed_hash, back[0].subject, back[0].created_at), (t.keyed_hash, t.subject, t.created_at));
        let err = parse_export(
            format!("{line}\n{{\"hash\":\"zz\",\"kind\":\"url\",\"created_at\":\"x\"}}\n").as_bytes(),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("line 2:"), "{err}");
        assert!(parse_export(
            "{\"hash\":\"00\",\"kind\":\"url\",\"created_at\":\"2026-01-01T00:00:00Z\",\"url\":\"x\"}".as_bytes(),
            None
        )
        .is_err());
        // Made under one key, refused under another, taken under the same.
        let (one, other) = (TombstoneKey::from_bytes([1; 32]), TombstoneKey::from_bytes([2; 32]));
        let line = serde_json::to_string(&ExportLine::of(&t, Some(&one))).unwrap();
        assert_eq!(parse_export(line.as_bytes(), Some(&one)).unwrap().len(), 1);
        let err = parse_export(line.as_bytes(), Some(&other)).unwrap_err();
        assert!(err.to_string().contains("another tombstone key"), "{err}");
    }
}
