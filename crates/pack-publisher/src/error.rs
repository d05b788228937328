//! Errors, one enum per area, each with stable codes for `--format json`-style output.

use std::path::PathBuf;

use ferretwatch_types::{Coded, Fault};
use thiserror::Error;

/// A feed could not be read at all. (Bad rows are not errors: they are counted in the
/// parse report.)
#[derive(Debug, Error)]
pub enum FeedError {
    /// A PhishTank document that is not a JSON array (for example a truncated download).
    #[error("PhishTank feed is not a JSON array: {0}")]
    NotJsonArray(String),
    /// A normalised feed file that does not follow `docs/formats/feed.md`.
    #[error("{path}: line {line}: {reason}")]
    BadFeedFile {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl Coded for FeedError {
    fn code(&self) -> &'static str {
        match self {
            FeedError::NotJsonArray(_) => "feed_not_json_array",
            FeedError::BadFeedFile { .. } => "feed_file_invalid",
            FeedError::Io { .. } => "io",
        }
    }

    fn fault(&self) -> Fault {
        match self {
            FeedError::Io { .. } => Fault::Operation,
            _ => Fault::Input,
        }
    }
}

/// `intel fetch` failed; the previous output in the out directory is left as it was.
#[derive(Debug, Error)]
pub enum FetchError {
    /// The server answered with a status other than 200 or 304.
    #[error("{url}: HTTP status {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The download failed or exceeded the size limit.
    #[error("{url}: {reason}")]
    Transport {
        /// The URL.
        url: String,
        /// What happened.
        reason: String,
    },
    /// The feed could not be parsed or written.
    #[error(transparent)]
    Feed(#[from] FeedError),
    /// A bad argument (feed name, source).
    #[error("{0}")]
    Invalid(String),
}

impl Coded for FetchError {
    fn code(&self) -> &'static str {
        match self {
            FetchError::Status { .. } => "http_status",
            FetchError::Transport { .. } => "http_transport",
            FetchError::Feed(e) => e.code(),
            FetchError::Invalid(_) => "invalid_argument",
        }
    }

    /// A feed that cannot be downloaded, read or parsed is the fetch's failure (the
    /// provider's content is not the operator's input); a bad argument is the input's.
    fn fault(&self) -> Fault {
        match self {
            FetchError::Invalid(_) => Fault::Input,
            _ => Fault::Operation,
        }
    }
}

/// One feed that shrank by more than half since the previous build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shrink {
    /// The feed name.
    pub feed: String,
    /// Indicators in the previous pack.
    pub previous: u64,
    /// Indicators now.
    pub current: u64,
}

/// `pack build` failed; nothing in the out directory was replaced.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The version is malformed.
    #[error(transparent)]
    Version(#[from] ferretwatch_types::PackVersionError),
    /// The rules do not parse, validate or compile, or the YARA sources do not compile.
    #[error(transparent)]
    Rules(#[from] ferretwatch_detect::RulesError),
    /// A feed file is unreadable or malformed.
    #[error(transparent)]
    Feed(#[from] FeedError),
    /// Feeds shrank by more than half against the previous build (a truncated download
    /// must not wipe protection); `--force` accepts it.
    #[error("feeds shrank by more than half since the previous pack (use --force to accept): {}", describe(.0))]
    Shrunk(Vec<Shrink>),
    /// The previous manifest exists but cannot be read.
    #[error("previous manifest {path}: {reason}")]
    PreviousManifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The new version is not above the previous pack's.
    #[error("version {version} is not above the previous pack's {previous}; versions only increase")]
    VersionNotIncreasing {
        /// The requested version.
        version: String,
        /// The previous pack's version.
        previous: String,
    },
    /// A bad argument or input file name.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn describe(shrinks: &[Shrink]) -> String {
    let parts: Vec<String> =
        shrinks.iter().map(|s| format!("{} {} → {} indicators", s.feed, s.previous, s.current)).collect();
    parts.join(", ")
}

impl Coded for BuildError {
    fn code(&self) -> &'static str {
        match self {
            BuildError::Version(_) => "bad_version",
            BuildError::Rules(e) => e.code(),
            BuildError::Feed(e) => e.code(),
            BuildError::Shrunk(_) => "feed_shrunk",
            BuildError::PreviousManifest { .. } => "previous_manifest",
            BuildError::VersionNotIncreasing { .. } => "version_not_increasing",
            BuildError::Invalid(_) => "invalid_argument",
            BuildError::Io { .. } => "io",
        }
    }

    fn fault(&self) -> Fault {
        match self {
            BuildError::Io { .. } => Fault::Operation,
            BuildError::Feed(e) => e.fault(),
            _ => Fault::Input,
        }
    }
}

impl From<(PathBuf, std::io::Error)> for FeedError {
    fn from((path, source): (PathBuf, std::io::Error)) -> Self {
        FeedError::Io { path, source }
    }
}

impl From<(PathBuf, std::io::Error)> for BuildError {
    fn from((path, source): (PathBuf, std::io::Error)) -> Self {
        BuildError::Io { path, source }
    }
}

impl From<(PathBuf, std::io::Error)> for FetchError {
    fn from(pair: (PathBuf, std::io::Error)) -> Self {
        FetchError::Feed(FeedError::from(pair))
    }
}
