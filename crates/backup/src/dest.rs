//! Where backups are kept: a directory (`file:///DIR` or a plain path) or an S3 bucket
//! (`s3://BUCKET[/PREFIX]`), opened the way the pack origin is (the same `AWS_*` and
//! `FERRETWATCH_S3_*` settings). A backup is the folder `ID/` with its objects and,
//! written last, `ID/manifest.json`: a folder without a manifest is an unfinished backup
//! and is neither listed nor restored.

use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::AsyncWriteExt;

use crate::error::{io, BackupError, Result};
use crate::id::BackupId;

/// The manifest's name in a backup's folder.
pub const MANIFEST: &str = "manifest.json";
/// Bytes per uploaded part (S3 wants at least 5 MiB per part but the last).
const PART: usize = 16 * 1024 * 1024;

/// A backup destination.
pub struct Destination {
    store: Arc<dyn ObjectStore>,
    prefix: Option<StorePath>,
    url: String,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Destination {
    /// Opens `file:///DIR`, a plain directory (created when missing) or
    /// `s3://BUCKET[/PREFIX]`.
    pub fn open(url: &str) -> Result<Self> {
        let s3 = ferretwatch_pack_publisher::origin::S3Options::from_env();
        let store = ferretwatch_pack_publisher::origin::open_store(url, &s3)
            .map_err(|e| BackupError::Invalid(format!("backup destination {url}: {e}")))?;
        Ok(Destination { store: store.store, prefix: store.prefix, url: url.to_owned() })
    }

    /// The destination as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn path(&self, name: &str) -> Result<StorePath> {
        let full = match &self.prefix {
            Some(prefix) => format!("{prefix}/{name}"),
            None => name.to_owned(),
        };
        StorePath::parse(&full).map_err(|e| BackupError::Invalid(format!("object name {name:?}: {e}")))
    }

    fn failed(&self, name: &str) -> impl FnOnce(object_store::Error) -> BackupError + '_ {
        let name = name.to_owned();
        move |e| BackupError::Store(format!("{}: {name}: {e}", self.url))
    }

    /// Writes `bytes` as `name`.
    pub async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<()> {
        let path = self.path(name)?;
        self.store.put(&path, PutPayload::from(bytes)).await.map_err(self.failed(name))?;
        Ok(())
    }

    /// Uploads a local file as `name`, in parts.
    pub async fn put_file(&self, name: &str, file: &Path) -> Result<()> {
        let path = self.path(name)?;
        let upload = self.store.put_multipart(&path).await.map_err(self.failed(name))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut input = tokio::fs::File::open(file).await.map_err(io(file))?;
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut input, &mut buffer).await.map_err(io(file))?;
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await.map_err(self.failed(name))?;
            writer.write(&buffer[..n]);
        }
        writer.finish().await.map_err(self.failed(name))?;
        Ok(())
    }

    /// The bytes of `name`, `None` when there is no such object.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(name)?;
        match self.store.get(&path).await {
            Ok(result) => Ok(Some(result.bytes().await.map_err(self.failed(name))?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed(name)(e)),
        }
    }

    /// Downloads `name` into a local file; false when there is no such object.
    pub async fn get_file(&self, name: &str, file: &Path) -> Result<bool> {
        let path = self.path(name)?;
        let result = match self.store.get(&path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(self.failed(name)(e)),
        };
        let mut output = tokio::fs::File::create(file).await.map_err(io(file))?;
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.next().await {
            output.write_all(&chunk.map_err(self.failed(name))?).await.map_err(io(file))?;
        }
        output.flush().await.map_err(io(file))?;
        Ok(true)
    }

    /// The ids of the finished backups (those with a manifest), oldest first.
    pub async fn ids(&self) -> Result<Vec<BackupId>> {
        let listing = self.store.list_with_delimiter(self.prefix.as_ref()).await.map_err(self.failed("/"))?;
        let mut ids = Vec::new();
        for folder in listing.common_prefixes {
            let Some(name) = folder.filename() else { continue };
            let Ok(id) = BackupId::parse(name) else { continue };
            let manifest = self.path(&format!("{id}/{MANIFEST}"))?;
            match self.store.head(&manifest).await {
                Ok(_) => ids.push(id),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.failed(&format!("{id}/{MANIFEST}"))(e)),
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Removes every object of backup `id`, the manifest first, so an interrupted removal
    /// leaves an unfinished backup, never a listed one with objects missing.
    pub async fn remove(&self, id: &BackupId) -> Result<usize> {
        let folder = self.path(id.as_str())?;
        let mut names: Vec<StorePath> = self
            .store
            .list(Some(&folder))
            .map(|meta| meta.map(|m| m.location))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(self.failed(id.as_str()))?;
        names.sort_by_key(|p| p.filename() != Some(MANIFEST));
        for name in &names {
            self.store.delete(name).await.map_err(self.failed(name.as_ref()))?;
        }
        Ok(names.len())
    }
}
