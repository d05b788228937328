//! `audit export --to URL [--after-seq N]`: the entries after N as JSON lines, each the
//! stored entry with its own hash and signature, then one trailer line:
//!
//! ```text
//! {"trailer":{"entries":N,"first_seq":…,"head_seq":…,"head_hash":…,"exported_at":…,
//!             "key_id":…,"sha256":HEX,"signature":HEX}}
//! ```
//!
//! `sha256` is the digest of every byte before the trailer line and `signature` the audit
//! key's signature of that digest, so the file as a whole (entries added, removed or
//! reordered, not only edited) is checked by `audit verify-export`. The object is
//! `audit/audit-{first:08}-{head:08}-{unix_secs}.jsonl` in a directory (`file:///DIR` or a
//! path) or an S3 bucket (`s3://BUCKET[/PREFIX]`, with the S3 settings the server's origin
//! uses).

use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_store::{AuditEntry, AuditSigner};
use ferretwatch_types::{Sha256, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::PAGE;
use crate::console::{signing_keys, with_store, DbArgs};
use crate::error::CliError;
use crate::output::{self, FormatArg, Report};

/// The last line of an export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailerLine {
    /// The trailer.
    pub trailer: Trailer,
}

/// What the last line of an export says about the lines before it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trailer {
    /// Entries in the export.
    pub entries: u64,
    /// The first entry's sequence number.
    pub first_seq: i64,
    /// The last entry's sequence number.
    pub head_seq: i64,
    /// The last entry's hash.
    pub head_hash: String,
    /// When the export was written (RFC 3339 UTC).
    pub exported_at: String,
    /// The audit key that signed the trailer.
    pub key_id: String,
    /// SHA-256 of every byte before the trailer line, hex.
    pub sha256: String,
    /// The audit key's signature of that digest, hex.
    pub signature: String,
}

/// `audit export`.
#[derive(Args)]
pub struct ExportArgs {
    /// Where to write: file:///DIR, a directory, or s3://BUCKET[/PREFIX].
    #[arg(long)]
    to: String,
    /// Export only the entries after this one (the head of the previous export).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
    after_seq: i64,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// `entries` (at least one, in sequence order) as an export: one JSON line each, then the
/// trailer signed by `signer`, written at `now`. The evidence bundle (`logs collect`)
/// writes the entries of its time range the same way, so `audit verify-export` checks it.
pub fn signed_export(entries: &[AuditEntry], signer: &impl AuditSigner, now: Timestamp) -> Result<Vec<u8>, CliError> {
    let (Some(first), Some(head)) = (entries.first(), entries.last()) else {
        return Err(CliError::failed("export", "no entries to export"));
    };
    let mut bytes = Vec::new();
    for entry in entries {
        serde_json::to_writer(&mut bytes, entry).map_err(|e| CliError::failed("export", e.to_string()))?;
        bytes.push(b'\n');
    }
    let digest = Sha256::of(&bytes);
    let trailer = Trailer {
        entries: entries.len() as u64,
        first_seq: first.seq,
        head_seq: head.seq,
        head_hash: head.hash.clone(),
        exported_at: now.to_string(),
        key_id: signer.key_id().to_owned(),
        sha256: digest.to_hex(),
        signature: hex::encode(signer.sign(&digest)),
    };
    serde_json::to_writer(&mut bytes, &TrailerLine { trailer })
        .map_err(|e| CliError::failed("export", e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes the export; prints its URL.
pub fn run(args: ExportArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let settings = args.db.settings()?;
        let keys = signing_keys(&settings, false)?;
        let entries = with_store(&settings, async |store| {
            let mut entries: Vec<AuditEntry> = Vec::new();
            loop {
                let after = entries.last().map_or(args.after_seq, |e| e.seq);
                let page = store.audit_after(after, PAGE).await?;
                let full = page.len() == PAGE as usize;
                entries.extend(page);
                if !full {
                    break;
                }
            }
            Ok(entries)
        })?;
        let (Some(first), Some(head)) = (entries.first(), entries.last()) else {
            output::note(format_args!("no entries after entry {}: nothing exported", args.after_seq));
            return Ok(Report::new("", &json!({ "ok": true, "entries": 0, "url": null })));
        };
        let now = Timestamp::now();
        let bytes = signed_export(&entries, &keys, now)?;
        let name = format!("audit/audit-{:08}-{:08}-{}.jsonl", first.seq, head.seq, now.as_secs());
        let origin = Origin::open_with(&args.to, &settings.server.s3_options())?;
        origin.put(&name, &bytes)?;
        let url = format!("{}/{name}", args.to.trim_end_matches('/'));
        output::note(format_args!(
            "exported {} entries ({} to {}), head {}:{}; keep the head to check later with `audit verify --expect-head`",
            entries.len(),
            first.seq,
            head.seq,
            head.seq,
            head.hash
        ));
        let json = json!({
            "ok": true, "url": url, "entries": entries.len(), "first_seq": first.seq,
            "head_seq": head.seq, "head_hash": head.hash,
        });
        Ok(Report::new(url, &json))
    })
}
