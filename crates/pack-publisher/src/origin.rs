//! The origin packs are published to: an object store (`object_store`), either a local
//! directory (`file:///srv/origin`, or a plain path) or an S3-compatible bucket
//! (`s3://bucket/prefix`). [`open_store`] is the one way to open one: `pack deploy` and
//! the other publishing commands go through [`Origin`], which owns a current-thread tokio
//! runtime and offers blocking calls; the service opens the same store for its origin
//! routes. Object names follow the one rule of `ferretwatch_pack_client::layout`.
//!
//! S3 settings come from the environment (`docs/formats/origin.md`): the standard
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` and
//! `AWS_ENDPOINT`, overridden by `FERRETWATCH_S3_ENDPOINT` and `FERRETWATCH_S3_REGION`
//! (and, for the service, by its `server.s3_*` settings). An `http://` endpoint (a local
//! S3-compatible server) is allowed as given. Requests are retried (4 times within a
//! minute) on transient failures.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferretwatch_pack_client::layout::{self, HISTORY_DIR, HISTORY_FILES};
use ferretwatch_pack_client::trust::verify::{Source, VerifyError};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use secrecy::{ExposeSecret, SecretString};

use crate::publish::PublishError;

/// An object store and the prefix an origin's objects live under.
pub struct Store {
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// The prefix within it (`None`: the store's top level).
    pub prefix: Option<StorePath>,
    /// Whether it is a local directory.
    pub local: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("prefix", &self.prefix).field("local", &self.local).finish_non_exhaustive()
    }
}

impl Store {
    /// The store path of object `name`, which must follow the object-name rule.
    pub fn path(&self, name: &str) -> Result<StorePath, layout::NameError> {
        layout::check_name(name)?;
        let full = match &self.prefix {
            Some(prefix) => format!("{prefix}/{name}"),
            None => name.to_owned(),
        };
        StorePath::parse(&full).map_err(|_| layout::NameError::Character)
    }
}

/// Opens the object store an origin URL names: `file:///DIR` or a plain directory
/// (created when missing), or `s3://BUCKET[/PREFIX]` with `s3` settings.
pub fn open_store(url: &str, s3: &S3Options) -> Result<Store, PublishError> {
    let store_error = |e: object_store::Error| PublishError::Store { origin: url.to_owned(), detail: e.to_string() };
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(PublishError::Invalid(format!("origin {url:?}: want s3://BUCKET[/PREFIX]")));
        }
        let store = s3_builder(bucket, s3)?.build().map_err(store_error)?;
        let prefix = prefix.trim_matches('/');
        let prefix = (!prefix.is_empty()).then(|| StorePath::from(prefix));
        return Ok(Store { store: Arc::new(store), prefix, local: false });
    }
    let dir = match url.strip_prefix("file://") {
        Some(path) => path,
        None if url.contains("://") => {
            return Err(PublishError::Invalid(format!(
                "origin {url:?}: supported are file:///DIR, s3://BUCKET[/PREFIX] and a plain directory"
            )))
        }
        None => url,
    };
    if dir.is_empty() {
        return Err(PublishError::Invalid("origin: empty directory".into()));
    }
    std::fs::create_dir_all(dir).map_err(|source| PublishError::Io { path: PathBuf::from(dir), source })?;
    let store = LocalFileSystem::new_with_prefix(dir).map_err(store_error)?;
    Ok(Store { store: Arc::new(store), prefix: None, local: true })
}

/// A publishing destination.
pub struct Origin {
    store: Store,
    url: String,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL carries no secret: credentials only ever come from the environment.
        f.debug_struct("Origin").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Origin {
    /// Opens `file:///DIR`, a plain directory path, or `s3://BUCKET[/PREFIX]` with S3
    /// settings from the environment. A local directory is created when missing.
    pub fn open(url: &str) -> Result<Self, PublishError> {
        Origin::open_with(url, &S3Options::from_env())
    }

    /// Like [`Origin::open`], with explicit S3 settings.
    pub fn open_with(url: &str, s3: &S3Options) -> Result<Self, PublishError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| PublishError::Invalid(format!("cannot start the I/O runtime: {e}")))?;
        Ok(Origin { store: open_store(url, s3)?, url: url.to_owned(), runtime })
    }

    /// The origin as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn path(&self, name: &str) -> Result<StorePath, PublishError> {
        self.store.path(name).map_err(|e| PublishError::Invalid(format!("object name {name:?}: {e}")))
    }

    fn store_error(&self, name: &str) -> impl FnOnce(object_store::Error) -> PublishError + '_ {
        let name = name.to_owned();
        move |e| PublishError::Store { origin: self.url.clone(), detail: format!("{name}: {e}") }
    }

    /// Writes one object (whole, replacing any earlier one).
    pub fn put(&self, name: &str, bytes: &[u8]) -> Result<(), PublishError> {
        let path = self.path(name)?;
        let payload = PutPayload::from(bytes.to_vec());
        self.runtime.block_on(self.store.store.put(&path, payload)).map_err(self.store_error(name))?;
        Ok(())
    }

    /// The size of an object, `None` when there is none.
    pub fn size(&self, name: &str) -> Result<Option<u64>, PublishError> {
        let path = self.path(name)?;
        match self.runtime.block_on(self.store.store.head(&path)) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.store_error(name)(e)),
        }
    }

    /// Reads an object of at most `limit` bytes; `None` when there is none.
    pub fn get(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, PublishError> {
        let path = self.path(name)?;
        let bytes = self.runtime.block_on(async {
            let meta = match self.store.store.head(&path).await {
                Ok(meta) => meta,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(e),
            };
            if meta.size > limit {
                return Ok(Some(Err(meta.size)));
            }
            match self.store.store.get(&path).await {
                Ok(result) => result.bytes().await.map(|b| Some(Ok(b))),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        match bytes.map_err(self.store_error(name))? {
            None => Ok(None),
            Some(Ok(bytes)) if bytes.len() as u64 <= limit => Ok(Some(bytes.to_vec())),
            Some(_) => Err(PublishError::Oversized { name: name.to_owned(), limit }),
        }
    }

    /// The names of the "directories" directly under `dir` (for example the versions
    /// under `history`), sorted.
    pub fn subdirs(&self, dir: &str) -> Result<Vec<String>, PublishError> {
        let path = self.path(dir)?;
        let listing =
            self.runtime.block_on(self.store.store.list_with_delimiter(Some(&path))).map_err(self.store_error(dir))?;
        let mut names: Vec<String> =
            listing.common_prefixes.iter().filter_map(|p| p.filename().map(str::to_owned)).collect();
        names.sort();
        Ok(names)
    }

    /// A verification source reading the origin's current pack, or, with `version`, the
    /// pack as deployed at that version (its metadata and manifest from `history/VERSION/`,
    /// its content-addressed files and root rotations from the origin's top level).
    pub fn source(&self, version: Option<&str>) -> OriginSource<'_> {
        OriginSource { origin: self, history: version.map(|v| format!("{HISTORY_DIR}/{v}")) }
    }
}

/// S3 settings beyond what `AmazonS3Builder::from_env` reads (`AWS_*`).
#[derive(Clone, Default, Debug)]
pub struct S3Options {
    /// The endpoint (`http://127.0.0.1:9000` for a local S3-compatible server).
    pub endpoint: Option<String>,
    /// The region (default `us-east-1`).
    pub region: Option<String>,
    /// An access key id (with its secret, or not at all).
    pub access_key_id: Option<String>,
    /// Its secret (redacted in `Debug`, never logged).
    pub secret_access_key: Option<SecretString>,
}

impl S3Options {
    /// `FERRETWATCH_S3_ENDPOINT` (else `AWS_ENDPOINT_URL`) and `FERRETWATCH_S3_REGION`;
    /// credentials stay with the standard `AWS_*` variables.
    pub fn from_env() -> Self {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        S3Options {
            endpoint: env("FERRETWATCH_S3_ENDPOINT").or_else(|| env("AWS_ENDPOINT_URL")),
            region: env("FERRETWATCH_S3_REGION"),
            access_key_id: None,
            secret_access_key: None,
        }
    }
}

fn s3_builder(bucket: &str, options: &S3Options) -> Result<AmazonS3Builder, PublishError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket).with_retry(RetryConfig {
        max_retries: 4,
        retry_timeout: Duration::from_secs(60),
        ..RetryConfig::default()
    });
    if env("AWS_REGION").is_none() && env("AWS_DEFAULT_REGION").is_none() {
        builder = builder.with_region("us-east-1");
    }
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    }
    if let Some(endpoint) = &options.endpoint {
        builder = builder.with_allow_http(endpoint.starts_with("http://")).with_endpoint(endpoint);
    }
    match (&options.access_key_id, &options.secret_access_key) {
        (Some(id), Some(secret)) => {
            builder = builder.with_access_key_id(id).with_secret_access_key(secret.expose_secret());
        }
        (None, None) => {}
        _ => return Err(PublishError::Invalid("an S3 access key id and its secret go together".into())),
    }
    // TLS through rustls with the ring provider that ureq already brings (no aws-lc build).
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(builder)
}

/// The pack at an origin as a verification [`Source`] (see [`Origin::source`]).
#[derive(Debug)]
pub struct OriginSource<'a> {
    origin: &'a Origin,
    history: Option<String>,
}

impl Source for OriginSource<'_> {
    fn fetch(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, VerifyError> {
        let name = match &self.history {
            Some(dir) if HISTORY_FILES.contains(&name) => format!("{dir}/{name}"),
            _ => name.to_owned(),
        };
        self.origin.get(&name, limit).map_err(|e| match e {
            PublishError::Oversized { name, limit } => VerifyError::Oversized { file: name, limit },
            PublishError::Invalid(detail) => VerifyError::Malformed(detail),
            other => VerifyError::Unreadable(other.to_string()),
        })
    }
}
