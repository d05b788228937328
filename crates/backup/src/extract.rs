//! Taking one part of a backup out to a directory, every object checked (and decrypted)
//! first: the packs as the origin served them (to verify their signatures), the
//! configuration as it was (to parse it and compare it with the live one).

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::crypt::Identity;
use crate::dest::Destination;
use crate::error::{io, BackupError, Result};
use crate::id::BackupId;
use crate::manifest::{Kind, Manifest, Object};
use crate::object::fetch;

/// Writes every object of `kind` under `out` (its path without the part's folder:
/// `packs/targets.json` → `OUT/targets.json`); returns the objects and their files.
pub async fn extract(
    dest: &Destination,
    id: &BackupId,
    manifest: &Manifest,
    kind: Kind,
    out: &Path,
    identity: Option<&Identity>,
) -> Result<Vec<(Object, PathBuf)>> {
    if !manifest.kinds.contains(&kind) {
        return Err(BackupError::NotFound(format!("backup {id} holds no {} part", kind.name())));
    }
    let work = tempfile::tempdir_in(out.parent().unwrap_or(Path::new(".")))
        .or_else(|_| tempfile::tempdir())
        .map_err(|e| BackupError::Io(format!("temporary directory: {e}")))?;
    let folder = format!("{}/", kind.name());
    let mut written = Vec::new();
    for object in manifest.objects_of(kind) {
        let relative = object.path.strip_prefix(&folder).unwrap_or(&object.path);
        if relative.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
            return Err(BackupError::Manifest(format!("{id}: object path {:?} leaves its folder", object.path)));
        }
        let target = out.join(relative);
        if let Some(dir) = target.parent() {
            // Owner only: a configuration part may hold decrypted secrets.
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io(dir))?;
        }
        let plain = fetch(dest, id, object, work.path(), identity).await?;
        std::fs::copy(&plain, &target).map_err(io(&target))?;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).map_err(io(&target))?;
        let _ = std::fs::remove_file(&plain);
        written.push((object.clone(), target));
    }
    Ok(written)
}

/// The newest backup of day `date` (`YYYY-MM-DD`) that holds `kind`.
pub async fn newest_of_day(dest: &Destination, date: &str, kind: Kind) -> Result<(BackupId, Manifest)> {
    for id in dest.ids().await?.into_iter().rev().filter(|id| id.date() == date) {
        let manifest = crate::select::manifest(dest, &id).await?;
        if manifest.kinds.contains(&kind) {
            return Ok((id, manifest));
        }
    }
    Err(BackupError::NotFound(format!("no backup of {date} with a {} part at {}", kind.name(), dest.url())))
}
