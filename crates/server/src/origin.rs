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
//! - Names follow the one object-name rule (`ferretwatch_pack_client::layout::check_name`)
//!   before the store sees them, and `history/` and hidden names are not served (404).
//! - The store is opened exactly as `pack deploy` opens it
//!   (`ferretwatch_pack_publisher::origin::open_store`), with the `server.s3_*` settings
//!   over the environment's.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferretwatch_pack_client::layout::{self, NameError, HISTORY_DIR};
use ferretwatch_pack_publisher::origin::{open_store, Store};
use ferretwatch_types::Sha256;
use object_store::{ObjectMeta, ObjectStoreExt};

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
    #[error(transparent)]
    BadName(#[from] NameError),
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
    store: Store,
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

/// Checks a requested name: the object-name rule, and nothing under `history/` or hidden.
pub fn check_name(name: &str) -> Result<(), OriginError> {
    layout::check_name(name)?;
    if name.starts_with(&format!("{HISTORY_DIR}/")) || name.starts_with('.') {
        return Err(OriginError::NotFound);
    }
    Ok(())
}

impl OriginStore {
    /// Opens `file:///DIR`, a plain directory (created when missing) or
    /// `s3://BUCKET[/PREFIX]` (S3 settings from the environment, as `pack deploy` reads them,
    /// overridden by the `server.s3_*` settings).
    pub fn open(
        url: &str,
        settings: &ServerSettings,
    ) -> Result<Self, ferretwatch_pack_publisher::publish::PublishError> {
        Ok(OriginStore {
            store: open_store(url, &settings.s3_options())?,
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
        self.store.local
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
        let path = self.store.path(name)?;
        let meta = match self.store.store.head(&path).await {
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
        let result = match self.store.store.get(&path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Err(OriginError::NotFound),
            Err(e) => return Err(OriginError::Store(e.to_string())),
        };
        let meta = result.meta.clone();
        let bytes = result.bytes().await.map_err(|e| OriginError::Store(e.to_string()))?;
        let sha256 = Sha256::of(&bytes).to_hex();
        let object =
            Arc::new(Object { bytes, sha256, immutable: layout::is_immutable(name), meta, checked: Instant::now() });
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

    /// Forgets every cached object whose name can change (the metadata), so that the next
    /// request reads the store: after this instance deployed, it serves the new version at
    /// once instead of within `server.revalidate_ms`.
    pub fn forget_mutable(&self) {
        let mut cache = self.cache.write().expect("cache lock");
        let names: Vec<String> = cache.objects.iter().filter(|(_, o)| !o.immutable).map(|(k, _)| k.clone()).collect();
        for name in names {
            if let Some(old) = cache.objects.remove(&name) {
                cache.bytes -= old.bytes.len();
            }
        }
    }

    /// The pack version the origin serves now (`custom.pack_version` of `targets.json`),
    /// `None` when it serves none.
    pub async fn pack_version(&self) -> Option<String> {
        let targets = self.get(layout::TARGETS).await.ok()?;
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
    fn names_that_leave_the_origin_are_refused_and_history_is_not_served() {
        for bad in ["", "../etc/passwd", "a/../../b", "./x", "a//b", "a\\b", "x%2e", "/abs"] {
            assert!(matches!(check_name(bad), Err(OriginError::BadName(_))), "{bad}");
        }
        assert!(matches!(check_name("history/2025.01.01.00/manifest.json"), Err(OriginError::NotFound)));
        assert!(matches!(check_name(".hidden"), Err(OriginError::NotFound)));
        assert!(check_name("manifest.json").is_ok());
        assert!(check_name("bulletins/index.json").is_ok());
    }
}
