//! The deletion ledger: every tombstone the service has recorded, kept as
//! `tombstones.jsonl` at the backup destination's root (the `db tombstones export`
//! format: keyed hashes only). Each `backup create` adds the database's tombstones to it,
//! never removing one, so the ledger only grows, even when the database it reads was itself
//! restored from an old backup. Each `backup restore` re-applies it to the restored
//! database, so what a deletion request removed after a backup was taken never comes back
//! with that backup (`docs/data-lifecycle.md`).

use std::collections::BTreeMap;

use ferretwatch_backup::Destination;
use ferretwatch_server::Settings;
use ferretwatch_store::{Reapplied, Tombstone, TombstoneKey};

use super::block_on;
use crate::commands::db::tombstones::{export_text, parse_export};
use crate::console::with_store;
use crate::error::{CliError, Failure};

/// The ledger's object name at the destination.
pub const LEDGER: &str = "tombstones.jsonl";

/// The ledger at the destination, if there is one; its lines must have been made under
/// `key` when one is given.
pub fn fetch(dest: &Destination, key: Option<&TombstoneKey>) -> Result<Option<Vec<Tombstone>>, Failure> {
    let Some(bytes) = block_on(dest.get(LEDGER))? else { return Ok(None) };
    Ok(Some(
        parse_export(bytes.as_slice(), key)
            .map_err(|e| CliError::failed("ledger_unreadable", format!("{LEDGER} at {}: {e}", dest.url())))?,
    ))
}

/// Adds the database's tombstones to the ledger at the destination; how many it holds.
/// A tombstone in both keeps the later time: an install's repeated request covers more.
pub fn update(dest: &Destination, settings: &Settings) -> Result<usize, Failure> {
    let live = with_store(settings, async |store| Ok(store.list_tombstones().await?))?;
    // No key file: nothing was ever forgotten with these settings (`forget` makes one).
    let key = crate::commands::db::tombstone_key(settings, false).ok();
    let mut merged: BTreeMap<[u8; 32], Tombstone> = BTreeMap::new();
    for t in fetch(dest, key.as_ref())?.unwrap_or_default().into_iter().chain(live) {
        match merged.get(&t.keyed_hash.0) {
            Some(kept) if kept.created_at >= t.created_at => {}
            _ => {
                merged.insert(t.keyed_hash.0, t);
            }
        }
    }
    let mut tombstones: Vec<&Tombstone> = merged.values().collect();
    tombstones.sort_by_key(|t| (t.created_at, t.keyed_hash.0));
    let text = export_text(tombstones.iter().copied(), key.as_ref())?;
    block_on(dest.put(LEDGER, text.into_bytes()))?;
    Ok(tombstones.len())
}

/// Re-applies a ledger read from the destination `at` to the database the settings name.
/// It needs the tombstone key the service uses: a ledger that cannot be applied fails the
/// restore, because serving the restored database would bring deleted reports back.
pub fn reapply(bytes: &[u8], at: &str, settings: &Settings) -> Result<(usize, Reapplied), Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok((0, Reapplied::default()));
    }
    let key = crate::commands::db::tombstone_key(settings, false).map_err(|e| {
        CliError::failed(
            "ledger_not_applied",
            format!(
                "the database is restored, but the deletions of the ledger at {at} are not re-applied: {e}; \
                 run `ferretwatch db tombstones reapply` with the service's tombstone key before serving it"
            ),
        )
    })?;
    let tombstones = parse_export(bytes, Some(&key)).map_err(|e| {
        CliError::failed(
            "ledger_not_applied",
            format!("the database is restored, but the ledger at {at} is not re-applied: {e}; do not serve it yet"),
        )
    })?;
    let done = with_store(settings, async |store| Ok(store.reapply_tombstones(&key, &tombstones).await?))?;
    Ok((tombstones.len(), done))
}
