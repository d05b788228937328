//! Storing one object (checksummed, optionally encrypted) and fetching one back with its
//! size and checksum checked against the manifest before anything reads it.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::crypt::{self, Identity, Recipient};
use crate::dest::Destination;
use crate::error::{io, BackupError, Result};
use crate::id::BackupId;
use crate::manifest::{Kind, Object};

/// The size and SHA-256 of a file.
pub fn file_digest(path: &Path) -> Result<(u64, String)> {
    let mut input = BufReader::with_capacity(1 << 20, std::fs::File::open(path).map_err(io(path))?);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = input.read(&mut buffer).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| BackupError::Io(format!("worker: {e}")))?
}

/// Uploads the local file `file` as `ID/path`, encrypted to `recipient` when given, and
/// returns its manifest entry.
pub async fn store_file(
    dest: &Destination,
    id: &BackupId,
    path: &str,
    kind: Kind,
    file: &Path,
    recipient: Option<&Recipient>,
    source: Option<String>,
) -> Result<Object> {
    let plain = file.to_owned();
    let (plain_size, plain_sha256) = blocking(move || file_digest(&plain)).await?;
    let (stored, encrypted) = match recipient {
        Some(recipient) => {
            let sealed = sealed_name(file);
            let (from, to, recipient) = (file.to_owned(), sealed.clone(), *recipient);
            blocking(move || {
                let input = std::fs::File::open(&from).map_err(io(&from))?;
                let output = std::io::BufWriter::new(std::fs::File::create(&to).map_err(io(&to))?);
                crypt::encrypt(&recipient, input, output)
            })
            .await?;
            (sealed, true)
        }
        None => (file.to_owned(), false),
    };
    let (size, sha256) = if encrypted {
        let path = stored.clone();
        blocking(move || file_digest(&path)).await?
    } else {
        (plain_size, plain_sha256.clone())
    };
    dest.put_file(&format!("{id}/{path}"), &stored).await?;
    if encrypted {
        let _ = std::fs::remove_file(&stored);
    }
    Ok(entry(path, kind, (size, sha256), encrypted.then_some((plain_size, plain_sha256)), source))
}

/// A manifest entry: the stored bytes' size and digest, and for an encrypted object the
/// plaintext's too.
fn entry(
    path: &str,
    kind: Kind,
    stored: (u64, String),
    plain: Option<(u64, String)>,
    source: Option<String>,
) -> Object {
    let (plain_size, plain_sha256) = plain.unzip();
    Object { path: path.to_owned(), kind, size: stored.0, sha256: stored.1, plain_size, plain_sha256, source }
}

fn sealed_name(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sealed");
    PathBuf::from(name)
}

/// Stores `bytes` as `ID/path` (small objects: configuration files, pack objects).
pub async fn store_bytes(
    dest: &Destination,
    id: &BackupId,
    path: &str,
    kind: Kind,
    bytes: Vec<u8>,
    recipient: Option<&Recipient>,
    source: Option<String>,
) -> Result<Object> {
    let plain_size = bytes.len() as u64;
    let plain_sha256 = hex::encode(Sha256::digest(&bytes));
    let stored = match recipient {
        Some(recipient) => {
            let mut sealed = Vec::with_capacity(bytes.len() + 64);
            crypt::encrypt(recipient, bytes.as_slice(), &mut sealed)?;
            sealed
        }
        None => bytes,
    };
    let digest = (stored.len() as u64, hex::encode(Sha256::digest(&stored)));
    dest.put(&format!("{id}/{path}"), stored).await?;
    Ok(entry(path, kind, digest, recipient.is_some().then_some((plain_size, plain_sha256)), source))
}

/// Checks a stored file against its manifest entry: size first (a truncation says so),
/// then the SHA-256.
pub fn check(object: &Object, id: &BackupId, file: &Path) -> Result<()> {
    let (size, sha256) = file_digest(file)?;
    if size != object.size {
        return Err(BackupError::Truncated(format!(
            "{id}/{}: {size} bytes, the manifest says {} (truncated or incomplete)",
            object.path, object.size
        )));
    }
    if sha256 != object.sha256 {
        return Err(BackupError::Checksum(format!(
            "{id}/{}: SHA-256 {sha256}, the manifest says {} (altered or damaged)",
            object.path, object.sha256
        )));
    }
    Ok(())
}

/// Downloads `ID/path` into `work`, checks it, decrypts it when it is encrypted, and
/// returns the plaintext file.
pub async fn fetch(
    dest: &Destination,
    id: &BackupId,
    object: &Object,
    work: &Path,
    identity: Option<&Identity>,
) -> Result<PathBuf> {
    let local = work.join(object.path.replace('/', "__"));
    if !dest.get_file(&format!("{id}/{}", object.path), &local).await? {
        return Err(BackupError::Truncated(format!("{id}/{}: missing from the destination", object.path)));
    }
    let (checked, entry, backup) = (local.clone(), object.clone(), id.clone());
    blocking(move || check(&entry, &backup, &checked)).await?;
    if object.plain_sha256.is_none() {
        // Whoever can write to the destination can also rewrite a manifest and its
        // checksums: given an identity, a database or configuration object must be
        // encrypted to it, so that a plain one put in its place is never loaded.
        if identity.is_some() && object.kind != Kind::Packs {
            return Err(BackupError::Decrypt(format!(
                "{id}/{}: not encrypted, but an identity was given: refusing a plain {} object where an encrypted one \
                 belongs",
                object.path,
                object.kind.name()
            )));
        }
        return Ok(local);
    }
    let identity = identity.ok_or_else(|| {
        BackupError::Invalid(format!(
            "{id}/{}: encrypted; give the identity that decrypts it (--identity FILE)",
            object.path
        ))
    })?;
    let plain = work.join(format!("{}.plain", object.path.replace('/', "__")));
    let (from, to) = (local.clone(), plain.clone());
    let secret = identity.clone();
    blocking(move || {
        let identity = secret;
        let input = std::fs::File::open(&from).map_err(io(&from))?;
        let output = std::io::BufWriter::new(std::fs::File::create(&to).map_err(io(&to))?);
        crypt::decrypt(&identity, input, output)
    })
    .await?;
    let _ = std::fs::remove_file(&local);
    let (size, sha256) = file_digest(&plain)?;
    if Some(size) != object.plain_size || Some(&sha256) != object.plain_sha256.as_ref() {
        return Err(BackupError::Checksum(format!(
            "{id}/{}: the decrypted bytes differ from the manifest's plaintext checksum",
            object.path
        )));
    }
    Ok(plain)
}
