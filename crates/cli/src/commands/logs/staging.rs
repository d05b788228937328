//! An evidence archive on disk: its files gathered in a private staging directory, then
//! written as one archive under a hidden name and renamed when complete. Directories are
//! 0700 and files 0600: evidence may hold personal data.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ferretwatch_types::{Sha256, Timestamp};
use sha2::Digest as _;

use super::archive::TarGz;
use crate::error::CliError;
use crate::output;

/// Creates `dir` (0700) when missing; warns when an existing one is open to others.
pub fn private_dir(dir: &Path) -> Result<(), CliError> {
    let failed = |e: std::io::Error| CliError::failed("evidence_dir", format!("{}: {e}", dir.display()));
    if dir.is_dir() {
        let mode = std::fs::metadata(dir).map_err(failed)?.permissions().mode();
        if mode & 0o077 != 0 {
            output::warn(format_args!(
                "{} is open to other users (mode {:o}); evidence may hold personal data",
                dir.display(),
                mode & 0o777
            ));
        }
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(failed)
}

/// Writes a new file (0600); an existing one is an error, never overwritten.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CliError::failed("evidence_write", format!("{}: {e}", path.display())))?;
    file.write_all(bytes).map_err(|e| CliError::failed("evidence_write", format!("{}: {e}", path.display())))
}

/// The bundle's files while they are gathered (0700), removed when dropped.
pub struct Staging {
    dir: PathBuf,
}

impl Staging {
    /// A fresh staging directory at `dir`.
    pub fn new(dir: PathBuf) -> Result<Self, CliError> {
        // A staging directory of this name is left only by a collection that was killed.
        let _ = std::fs::remove_dir_all(&dir);
        DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| CliError::failed("evidence_dir", format!("{}: {e}", dir.display())))?;
        Ok(Staging { dir })
    }

    /// The error of a file in it.
    pub fn failed(&self, path: &str, e: std::io::Error) -> CliError {
        CliError::failed("evidence_write", format!("{}: {e}", self.dir.join(path).display()))
    }

    /// A new file in it (0600), with its directories (0700).
    pub fn create(&self, path: &str) -> Result<File, CliError> {
        let full = self.dir.join(path);
        if let Some(parent) = full.parent() {
            DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(|e| self.failed(path, e))?;
        }
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(&full).map_err(|e| self.failed(path, e))
    }

    /// A new file in it holding `bytes`.
    pub fn write(&self, path: &str, bytes: &[u8]) -> Result<(), CliError> {
        self.create(path)?.write_all(bytes).map_err(|e| self.failed(path, e))
    }

    /// Removes a file from it.
    pub fn remove(&self, path: &str) {
        let _ = std::fs::remove_file(self.dir.join(path));
    }

    /// A file in it, open for reading, and its size.
    pub fn open(&self, path: &str) -> Result<(File, u64), CliError> {
        let file = File::open(self.dir.join(path)).map_err(|e| self.failed(path, e))?;
        let size = file.metadata().map_err(|e| self.failed(path, e))?.len();
        Ok((file, size))
    }

    /// SHA-256 (hex) and size of a staged file.
    pub fn digest(&self, path: &str) -> Result<(String, u64), CliError> {
        let (mut file, size) = self.open(path)?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf).map_err(|e| self.failed(path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok((Sha256::from_bytes(hasher.finalize().into()).to_hex(), size))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: sha2::Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the archive under a hidden name, then renames it; its SHA-256 (hex).
pub fn write_archive(
    staging: &Staging,
    stem: &str,
    order: &[String],
    archive: &Path,
    now: Timestamp,
) -> Result<String, CliError> {
    let partial = archive.with_file_name(format!(".{stem}.tar.gz.partial"));
    let failed = |e: std::io::Error| CliError::failed("evidence_write", format!("{}: {e}", partial.display()));
    let _ = std::fs::remove_file(&partial);
    let file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&partial).map_err(failed)?;
    let mut tar = TarGz::new(Hashing { inner: BufWriter::new(file), hasher: sha2::Sha256::new() }, now.as_secs());
    let built = (|| -> Result<Hashing<BufWriter<File>>, CliError> {
        tar.directory(stem, 0o700).map_err(failed)?;
        let mut dirs: Vec<&str> = order.iter().filter_map(|p| p.rsplit_once('/').map(|(d, _)| d)).collect();
        dirs.dedup();
        for dir in dirs {
            tar.directory(&format!("{stem}/{dir}"), 0o700).map_err(failed)?;
        }
        for path in order {
            let (mut file, size) = staging.open(path)?;
            tar.file(&format!("{stem}/{path}"), 0o600, size, &mut file).map_err(failed)?;
        }
        tar.finish().map_err(failed)
    })();
    let mut hashing = match built {
        Ok(h) => h,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    hashing.flush().map_err(failed)?;
    let file = hashing.inner.into_inner().map_err(|e| failed(e.into_error()))?;
    file.sync_all().map_err(failed)?;
    std::fs::rename(&partial, archive).map_err(failed)?;
    Ok(Sha256::from_bytes(hashing.hasher.finalize().into()).to_hex())
}
