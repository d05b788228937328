//! `intel fetch`: read a feed from a URL or a file, parse and normalise it, and write the
//! feed file. HTTP fetches send the validators of the previous fetch (`If-None-Match`,
//! `If-Modified-Since`); a 304 keeps the previous indicators and only renews their
//! fetch time. The feed file is written before the validators, both atomically, so a
//! crash never pairs new validators with old content.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use ferretwatch_pack_client::dir::write_atomic;
use ferretwatch_pack_client::manifest::FeedSource;
use ferretwatch_types::Timestamp;

use crate::error::{FeedError, FetchError};
use crate::feedfile::{valid_feed_name, FeedFile, FeedHeader, FEED_EXTENSION};
use crate::feeds::{ttl_seconds, SourceExt};

/// The default download limit: large enough for the full URLhaus dump.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// What to fetch and how to label it.
#[derive(Clone, Debug)]
pub struct FetchRequest {
    /// The provider and format.
    pub source: FeedSource,
    /// An `http(s)://` URL, a `file://` URL or a path.
    pub from: String,
    /// The feeds directory.
    pub out_dir: PathBuf,
    /// The feed's name (file stem); the source tag when absent.
    pub name: Option<String>,
    /// Overrides the source's query policy.
    pub keep_query: Option<bool>,
    /// Overrides the source's TTL.
    pub ttl_hours: Option<u64>,
    /// Overrides the source's confidence (per mille).
    pub confidence: Option<u16>,
    /// Overrides the source's license line.
    pub license: Option<String>,
    /// The largest document accepted.
    pub max_bytes: u64,
    /// The HTTP timeout for the whole exchange.
    pub timeout: Duration,
    /// The fetch time written into the feed.
    pub now: Timestamp,
}

impl FetchRequest {
    /// A request with the source's defaults.
    pub fn new(source: FeedSource, from: impl Into<String>, out_dir: impl Into<PathBuf>, now: Timestamp) -> Self {
        FetchRequest {
            source,
            from: from.into(),
            out_dir: out_dir.into(),
            name: None,
            keep_query: None,
            ttl_hours: None,
            confidence: None,
            license: None,
            max_bytes: DEFAULT_MAX_BYTES,
            timeout: Duration::from_secs(300),
            now,
        }
    }

    fn feed_name(&self) -> Result<String, FetchError> {
        let name = self.name.clone().unwrap_or_else(|| self.source.tag().to_owned());
        if valid_feed_name(&name) {
            Ok(name)
        } else {
            Err(FetchError::Invalid(format!("feed name {name:?}: use 1 to 64 of a-z, 0-9, '-' and '_'")))
        }
    }
}

/// Whether new content arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchStatus {
    /// The document was downloaded or read and parsed.
    Fetched,
    /// The server answered 304: the previous indicators stand, with a renewed fetch time.
    NotModified,
}

/// The result of a fetch.
#[derive(Clone, Debug)]
pub struct FetchOutcome {
    /// Fetched or not modified.
    pub status: FetchStatus,
    /// The feed file written.
    pub path: PathBuf,
    /// Its header (counts, samples of bad rows, expiry).
    pub header: FeedHeader,
}

/// HTTP validators kept beside the feed file (`NAME.http.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Validators {
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
}

/// Fetches one feed into `request.out_dir/NAME.feed`.
pub fn fetch(request: &FetchRequest) -> Result<FetchOutcome, FetchError> {
    let name = request.feed_name()?;
    let dir = &request.out_dir;
    std::fs::create_dir_all(dir).map_err(|source| FeedError::Io { path: dir.clone(), source })?;
    let feed_path = dir.join(format!("{name}.{FEED_EXTENSION}"));
    let validators_path = dir.join(format!("{name}.http.json"));
    let is_http = request.from.starts_with("http://") || request.from.starts_with("https://");

    let (data, validators) = if is_http {
        let previous = read_validators(&validators_path)
            .filter(|v| v.url == request.from && feed_path.is_file() && FeedFile::read(&feed_path).is_ok());
        match http_get(request, previous.as_ref())? {
            HttpBody::NotModified => return renew(request, &feed_path),
            HttpBody::Fetched(data, validators) => (data, Some(validators)),
        }
    } else {
        let path = Path::new(request.from.strip_prefix("file://").unwrap_or(&request.from));
        let data = read_limited(path, request.max_bytes)?;
        (data, None)
    };

    let profile = request.source.profile();
    let keep_query = request.keep_query.unwrap_or(profile.keep_query);
    let parsed = request.source.parse(&data, keep_query)?;
    let ttl = ttl_seconds(request.ttl_hours.unwrap_or(profile.ttl_hours));
    let header = FeedHeader {
        name,
        source: request.source,
        origin: request.from.clone(),
        fetched_at: request.now,
        expires: request.now.plus_secs(ttl),
        confidence: request.confidence.unwrap_or(profile.confidence).min(1000),
        keep_query,
        license: request.license.clone().unwrap_or_else(|| profile.license.to_owned()),
        report: parsed.report,
        indicators: 0,
    };
    let feed = FeedFile::new(header, parsed.records);
    feed.write(&feed_path)?;
    match validators {
        Some(v) if v.etag.is_some() || v.last_modified.is_some() => {
            let json = serde_json::to_vec_pretty(&v).expect("validators serialise");
            write_atomic(&validators_path, &json)
                .map_err(|source| FeedError::Io { path: validators_path.clone(), source })?;
        }
        _ => {
            let _ = std::fs::remove_file(&validators_path);
        }
    }
    Ok(FetchOutcome { status: FetchStatus::Fetched, path: feed_path, header: feed.header })
}

/// A 304: keep the indicators, renew the fetch time and expiry.
fn renew(request: &FetchRequest, feed_path: &Path) -> Result<FetchOutcome, FetchError> {
    let mut feed = FeedFile::read(feed_path)?;
    let ttl = feed.header.expires.secs_since(feed.header.fetched_at);
    feed.header.fetched_at = request.now;
    feed.header.expires = request.now.plus_secs(ttl);
    feed.write(feed_path)?;
    Ok(FetchOutcome { status: FetchStatus::NotModified, path: feed_path.to_path_buf(), header: feed.header })
}

fn read_validators(path: &Path) -> Option<Validators> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>, FetchError> {
    let io = |source| FeedError::Io { path: path.to_path_buf(), source };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > max {
        return Err(FetchError::Invalid(format!("{}: {len} bytes exceeds the limit of {max}", path.display())));
    }
    Ok(std::fs::read(path).map_err(io)?)
}

enum HttpBody {
    Fetched(Vec<u8>, Validators),
    NotModified,
}

fn http_get(request: &FetchRequest, previous: Option<&Validators>) -> Result<HttpBody, FetchError> {
    let url = &request.from;
    let transport = |e: ureq::Error| FetchError::Transport { url: url.clone(), reason: e.to_string() };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(request.timeout))
        .user_agent(concat!("ferretwatch/", env!("CARGO_PKG_VERSION"), " (+intel fetch)"))
        .build()
        .into();
    let mut call = agent.get(url.as_str());
    if let Some(previous) = previous {
        if let Some(etag) = &previous.etag {
            call = call.header("If-None-Match", etag.as_str());
        }
        if let Some(modified) = &previous.last_modified {
            call = call.header("If-Modified-Since", modified.as_str());
        }
    }
    let mut response = call.call().map_err(transport)?;
    let status = response.status().as_u16();
    if status == 304 {
        return if previous.is_some() {
            Ok(HttpBody::NotModified)
        } else {
            Err(FetchError::Status { url: url.clone(), status })
        };
    }
    if status != 200 {
        return Err(FetchError::Status { url: url.clone(), status });
    }
    let header = |name: &str| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned).filter(|v| !v.is_empty())
    };
    let validators = Validators { url: url.clone(), etag: header("etag"), last_modified: header("last-modified") };
    let data = response.body_mut().with_config().limit(request.max_bytes).read_to_vec().map_err(transport)?;
    Ok(HttpBody::Fetched(data, validators))
}
