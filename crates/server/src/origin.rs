//! The pack origin over HTTP: `GET /v1/NAME` serves object `NAME` of the object store the
//! pack pipeline deploys to (`docs/formats/origin.md`), the way a CDN expects it.
//!
//! - Strong ETags: the quoted SHA-256 of the bytes (`"sha256-<hex>"`), `If-None-Match` →
//!   304. A gzip-encoded answer carries `"sha256-<hex>-gzip"`, a different representation
//!   with its own tag; both forms match.
//! - `Cache-Control`: content-addressed files (`STEM.<16 hex>.EXT`, `N.root.json`, signed
//!   bulletins) never change: `public, max-age=31536000, immutable`. The fixed names
//!   (`manifest.json`, `timestamp.json`, `snapshot.json`, `targets.json`,
//!   `bulletins/index.json`) get `public, max-age=60` (configurable).
//! - Objects are kept in memory (at most `server.cache_bytes`): immutable ones until
//!   evicted, the others re-checked against the store's metadata (a `HEAD`) at most every
//!   `server.revalidate_ms`, so a deploy is visible within that time plus `max-age`.
//! - Names are checked before the store sees them: no empty, `.` or `..` segments, no
//!   backslashes, only `[A-Za-z0-9._-]`, and `history/` is not served (400 or 404).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use secrecy::ExposeSecret;

use crate::settings::ServerSettings;

/// The largest object the origin serves (a pack file is a few MB).
pub const MAX_OBJECT_BYTES: u64 = 64 << 20;

/// One object as served.
#[derive(Debug)]
pub struct Object {
    /// Its bytes.
    pub bytes: Bytes,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Whether its name says it never changes.
    pub immutable: bool,
    meta: ObjectMeta,
    checked: Instant,
}

/// Why an object cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum OriginError {
    /// The name is not one the origin could hold.
    #[error("{0}")]
    BadName(&'static str),
    /// No such object.
    #[error("not found")]
    NotFound,
    /// Over [`MAX_OBJECT_BYTES`].
    #[error("object too large to serve")]
    TooLarge,
    /// The store failed.
    #[error("origin store: {0}")]
    Store(String),
}

/// The origin store and its in-memory cache.
pub struct OriginStore {
    store: Arc<dyn ObjectStore>,
    prefix: Option<String>,
    url: String,
    cache: RwLock<Cache>,
    revalidate: Duration,
    cache_bytes: usize,
}

#[derive(Default)]
struct Cache {
    objects: HashMap<String, Arc<Object>>,
    bytes: usize,
}

impl std::fmt::Debug for OriginStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OriginStore").field("url", &self.url).finish_non_exhaustive()
    }
}

/// Whether a name is content-addressed or otherwise never rewritten.
pub fn is_immutable(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    let parts: Vec<&str> = file.split('.').collect();
    let hashed = parts.len() >= 3 && {
        let tag = parts[parts.len() - 2];
        tag.len() == 16 && tag.bytes().all(|b| b.is_ascii_hexdigit())
    };
    let root_rotation = !name.contains('/')
        && file.strip_suffix(".root.json").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    hashed || root_rotation
}

/// Checks a requested name.
pub fn check_name(name: &str) -> Result<(), OriginError> {
    if name.is_empty() || name.len() > 512 {
        return Err(OriginError::BadName("the object name is empty or too long"));
    }
    for segment in name.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(OriginError::BadName("the object name has an empty, '.' or '..' segment"));
        }
        if !segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
            return Err(OriginError::BadName("the object name has characters outside A-Z a-z 0-9 . _ -"));
        }
    }
    if name.starts_with("history/") || name.starts_with('.') {
        return Err(OriginError::NotFound);
    }
    Ok(())
}

impl OriginStore {
    /// Opens `file:///DIR`, a plain directory (created when missing) or
    /// `s3://BUCKET[/PREFIX]` (S3 settings from the environment, as `pack deploy` reads them,
    /// overridden by the `server.s3_*` settings).
    pub fn open(url: &str, settings: &ServerSettings) -> Result<Self, String> {
        let (store, prefix): (Arc<dyn ObjectStore>, Option<String>) = if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("origin {url:?}: want s3://BUCKET[/PREFIX]"));
            }
            let mut options = ferretwatch_pack::publish::S3Options::from_env();
            options.endpoint = settings.s3_endpoint.clone().or(options.endpoint);
            options.region = settings.s3_region.clone().or(options.region);
            let _ = rustls::crypto::ring::default_provider().install_default();
            let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
                builder = builder.with_region(options.region.as_deref().unwrap_or("us-east-1"));
            } else if let Some(region) = &options.region {
                builder = builder.with_region(region);
            }
            if let Some(endpoint) = &options.endpoint {
                builder = builder.with_allow_http(endpoint.starts_with("http://")).with_endpoint(endpoint);
            }
            match (&settings.s3_access_key_id, &settings.s3_secret_access_key) {
                (Some(id), Some(secret)) => {
                    builder = builder.with_access_key_id(id).with_secret_access_key(secret.expose_secret());
                }
                (None, None) => {}
                _ => return Err("server.s3_access_key_id and server.s3_secret_access_key go together".into()),
            }
            let store = builder.build().map_err(|e| format!("origin {url}: {e}"))?;
            let prefix = prefix.trim_matches('/');
            (Arc::new(store), (!prefix.is_empty()).then(|| prefix.to_owned()))
        } else {
            let dir = match url.strip_prefix("file://") {
                Some(path) => path,
                None if url.contains("://") => {
                    return Err(format!("origin {url:?}: use file:///DIR, s3://BUCKET[/PREFIX] or a directory"))
                }
                None => url,
            };
            std::fs::create_dir_all(dir).map_err(|e| format!("origin {dir}: {e}"))?;
            let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| format!("origin {dir}: {e}"))?;
            (Arc::new(store), None)
        };
        Ok(OriginStore {
            store,
            prefix,
            url: url.to_owned(),
            cache: RwLock::new(Cache::default()),
            revalidate: Duration::from_millis(settings.revalidate_ms),
            cache_bytes: settings.cache_bytes,
        })
    }

    /// The origin as configured.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this origin is a local directory.
    pub fn is_local(&self) -> bool {
        !self.url.starts_with("s3://")
    }

    fn path(&self, name: &str) -> Result<StorePath, OriginError> {
        let full = match &self.prefix {
            Some(prefix) => format!("{prefix}/{name}"),
            None => name.to_owned(),
        };
        StorePath::parse(&full).map_err(|_| OriginError::BadName("the object name is not a valid path"))
    }

    /// The object `name`, from the cache when it is known to be current.
    pub async fn get(&self, name: &str) -> Result<Arc<Object>, OriginError> {
        check_name(name)?;
        let cached = self.cache.read().expect("cache lock").objects.get(name).cloned();
        if let Some(object) = &cached {
            if object.immutable || object.checked.elapsed() < self.revalidate {
                return Ok(object.clone());
            }
        }
        let path = self.path(name)?;
        let meta = match self.store.head(&path).await {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => {
                self.forget(name);
                return Err(OriginError::NotFound);
            }
            Err(e) => return Err(OriginError::Store(e.to_string())),
        };
        if let Some(object) = cached {
            if same_version(&object.meta, &meta) {
                let fresh = Arc::new(Object {
                    bytes: object.bytes.clone(),
                    sha256: object.sha256.clone(),
                    immutable: object.immutable,
                    meta,
                    checked: Instant::now(),
                });
                self.remember(name, fresh.clone());
                return Ok(fresh);
            }
        }
        if meta.size > MAX_OBJECT_BYTES {
            return Err(OriginError::TooLarge);
        }
        let result = match self.store.get(&path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Err(OriginError::NotFound),
            Err(e) => return Err(OriginError::Store(e.to_string())),
        };
        let meta = result.meta.clone();
        let bytes = result.bytes().await.map_err(|e| OriginError::Store(e.to_string()))?;
        let sha256 = ferretwatch_pack::manifest::sha256_hex(&bytes);
        let object = Arc::new(Object { bytes, sha256, immutable: is_immutable(name), meta, checked: Instant::now() });
        self.remember(name, object.clone());
        Ok(object)
    }

    fn remember(&self, name: &str, object: Arc<Object>) {
        let size = object.bytes.len();
        if size > self.cache_bytes / 4 {
            return;
        }
        let mut cache = self.cache.write().expect("cache lock");
        if let Some(old) = cache.objects.remove(name) {
            cache.bytes -= old.bytes.len();
        }
        // Over budget: drop immutable objects first (they are the large, rarely
        // re-read ones), then anything.
        while cache.bytes + size > self.cache_bytes {
            let victim = cache
                .objects
                .iter()
                .find(|(_, o)| o.immutable)
                .or_else(|| cache.objects.iter().next())
                .map(|(k, _)| k.clone());
            let Some(victim) = victim else { break };
            if let Some(old) = cache.objects.remove(&victim) {
                cache.bytes -= old.bytes.len();
            }
        }
        cache.bytes += size;
        cache.objects.insert(name.to_owned(), object);
    }

    fn forget(&self, name: &str) {
        let mut cache = self.cache.write().expect("cache lock");
        if let Some(old) = cache.objects.remove(name) {
            cache.bytes -= old.bytes.len();
        }
    }

    /// The pack version the origin serves now (`custom.pack_version` of `targets.json`),
    /// `None` when it serves none.
    pub async fn pack_version(&self) -> Option<String> {
        let targets = self.get("targets.json").await.ok()?;
        let value: serde_json::Value = serde_json::from_slice(&targets.bytes).ok()?;
        value.pointer("/signed/custom/pack_version").and_then(|v| v.as_str()).map(str::to_owned)
    }
}

fn same_version(a: &ObjectMeta, b: &ObjectMeta) -> bool {
    a.size == b.size && a.last_modified == b.last_modified && a.e_tag == b.e_tag && a.version == b.version
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_addressed_and_root_names_are_immutable_and_fixed_names_are_not() {
        assert!(is_immutable("rules.0123456789abcdef.json"));
        assert!(is_immutable("bulletins/bulletin-7.0123456789abcdef.json"));
        assert!(is_immutable("2.root.json"));
        for fixed in ["manifest.json", "timestamp.json", "targets.json", "bulletins/index.json", "root.json"] {
            assert!(!is_immutable(fixed), "{fixed}");
        }
    }

    #[test]
    fn names_that_leave_the_origin_are_refused() {
        for bad in ["", "../etc/passwd", "a/../../b", "./x", "a//b", "a\\b", "x%2e", "/abs"] {
            assert!(matches!(check_name(bad), Err(OriginError::BadName(_))), "{bad}");
        }
        assert!(matches!(check_name("history/2025.01.01.00/manifest.json"), Err(OriginError::NotFound)));
        assert!(matches!(check_name(".hidden"), Err(OriginError::BadName(_)) | Err(OriginError::NotFound)));
        assert!(check_name("manifest.json").is_ok());
        assert!(check_name("bulletins/index.json").is_ok());
    }
}
