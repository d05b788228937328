//! Naming a backup: `latest`, an id, a manifest file (its folder is the backup, the
//! folder above it the destination), or a bare dump file (restored without a manifest
//! to check it against).

use std::path::{Path, PathBuf};

use crate::dest::{Destination, MANIFEST};
use crate::error::{BackupError, Result};
use crate::id::BackupId;
use crate::manifest::{Kind, Manifest};

/// A backup as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The newest finished backup at the destination.
    Latest,
    /// One backup by id.
    Id(BackupId),
    /// A `manifest.json` on this machine.
    Manifest(PathBuf),
    /// A dump file on this machine (`database.dump` or `database.sqlite.gz`).
    DumpFile(PathBuf),
}

impl Selector {
    /// `latest`, an id, or a path: a file named `manifest.json` (or a backup folder
    /// holding one) is a manifest, any other existing file a dump.
    pub fn parse(text: &str) -> Result<Self> {
        if text == "latest" {
            return Ok(Self::Latest);
        }
        if let Ok(id) = BackupId::parse(text) {
            return Ok(Self::Id(id));
        }
        let path = Path::new(text);
        if path.is_dir() && path.join(MANIFEST).is_file() {
            return Ok(Self::Manifest(path.join(MANIFEST)));
        }
        if path.is_file() {
            return Ok(if path.file_name().is_some_and(|n| n == MANIFEST) {
                Self::Manifest(path.to_owned())
            } else {
                Self::DumpFile(path.to_owned())
            });
        }
        Err(BackupError::Invalid(format!(
            "{text:?}: not `latest`, a backup id (YYYYMMDDTHHMMSSmmmZ), a manifest file or a dump file"
        )))
    }
}

/// A backup found: its destination and manifest, or a bare dump file.
#[derive(Debug)]
pub enum Located {
    /// A backup with its manifest.
    Backup {
        /// Where it is.
        dest: Destination,
        /// Its id.
        id: BackupId,
        /// Its manifest, checked.
        manifest: Box<Manifest>,
    },
    /// A dump without a manifest.
    DumpFile(PathBuf),
}

/// Reads and checks the manifest of backup `id`.
pub async fn manifest(dest: &Destination, id: &BackupId) -> Result<Manifest> {
    let name = format!("{id}/{MANIFEST}");
    let bytes = dest
        .get(&name)
        .await?
        .ok_or_else(|| BackupError::NotFound(format!("no backup {id} at {} (no {name})", dest.url())))?;
    let manifest = Manifest::parse(&bytes, &name)?;
    if manifest.id != id.as_str() {
        return Err(BackupError::Manifest(format!("{name}: names backup {}, not {id}", manifest.id)));
    }
    Ok(manifest)
}

/// Finds the backup `selector` names; `dest` is needed for `latest` and ids. With `part`,
/// `latest` is the newest backup that holds that part (a configuration-only backup may be
/// newer than the last database backup).
pub async fn locate(selector: &Selector, dest: Option<Destination>, part: Option<Kind>) -> Result<Located> {
    let need = |dest: Option<Destination>| {
        dest.ok_or_else(|| {
            BackupError::Invalid(
                "no backup destination: give --from URL, set [backup] destination in the configuration or FERRETWATCH_BACKUP_DESTINATION".into(),
            )
        })
    };
    match selector {
        Selector::Latest => {
            let dest = need(dest)?;
            for id in dest.ids().await?.into_iter().rev() {
                let manifest = manifest(&dest, &id).await?;
                if part.is_none_or(|kind| manifest.kinds.contains(&kind)) {
                    return Ok(Located::Backup { dest, id, manifest: Box::new(manifest) });
                }
            }
            Err(BackupError::NotFound(match part {
                Some(kind) => format!("no finished backup with a {} part at {}", kind.name(), dest.url()),
                None => format!("no finished backup at {}", dest.url()),
            }))
        }
        Selector::Id(id) => {
            let dest = need(dest)?;
            let manifest = Box::new(manifest(&dest, id).await?);
            Ok(Located::Backup { dest, id: id.clone(), manifest })
        }
        Selector::Manifest(path) => {
            let absolute = std::path::absolute(path).map_err(crate::error::io(path))?;
            let folder = absolute.parent().ok_or_else(|| BackupError::Invalid("manifest without a folder".into()))?;
            let id = BackupId::parse(&folder.file_name().unwrap_or_default().to_string_lossy()).map_err(|_| {
                BackupError::Invalid(format!("{}: not in a backup folder named by its id", path.display()))
            })?;
            let root = folder.parent().ok_or_else(|| BackupError::Invalid("backup folder without a parent".into()))?;
            let dest = Destination::open(&format!("file://{}", root.display()))?;
            let manifest = Box::new(manifest(&dest, &id).await?);
            Ok(Located::Backup { dest, id, manifest })
        }
        Selector::DumpFile(path) => Ok(Located::DumpFile(path.clone())),
    }
}
