//! Choosing and tuning a backend: the database URL and pool options.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::StoreError;

/// A parsed `--db` value. Parse it once at start-up; an unknown scheme is an error here,
/// not a surprise at the first request.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `sqlite://PATH` (or `sqlite:PATH`): a database file, created with its parent
    /// directory if missing. `sqlite:///abs/path` is absolute, `sqlite://rel/path` relative.
    SqliteFile(PathBuf),
    /// `sqlite::memory:`: a private in-memory database (tests only: gone when closed).
    SqliteMemory,
    /// `postgres://…` or `postgresql://…`, passed to the driver as is.
    Postgres(String),
}

impl StoreUrl {
    /// Parses a database URL.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(Self::SqliteMemory);
        }
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err(StoreError::Config("sqlite URL has no path: use sqlite://PATH".into()));
            }
            if path.contains('?') {
                return Err(StoreError::Config(
                    "sqlite URL options are not supported: the store sets WAL, synchronous=FULL and the busy timeout"
                        .into(),
                ));
            }
            return Ok(Self::SqliteFile(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let scheme = url.split_once(':').map_or("(none)", |(s, _)| s);
        Err(StoreError::Config(format!(
            "unsupported database URL scheme {scheme:?}: use sqlite://PATH or postgres://USER@HOST:PORT/DB"
        )))
    }

    /// The URL with any password replaced by `***`, for logs.
    pub fn redacted(&self) -> String {
        match self {
            Self::SqliteFile(path) => format!("sqlite://{}", path.display()),
            Self::SqliteMemory => "sqlite::memory:".to_owned(),
            Self::Postgres(raw) => match url::Url::parse(raw) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("***"));
                    }
                    url.into()
                }
                Err(_) => "postgres://(unparseable)".to_owned(),
            },
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Pool and timeout settings. `Default` suits the 2-core reference machine; the server
/// exposes them as configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Most open connections. `None`: 16 for PostgreSQL (enough concurrent commits for
    /// group commit to reach the 2,000 reports/s target), 4 for SQLite's readers (SQLite
    /// writes through one extra connection of its own). An in-memory SQLite database
    /// always uses 1.
    pub max_connections: Option<u32>,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// How long a request waits for a connection before failing as unavailable (503)
    /// rather than queueing without bound.
    pub acquire_timeout: Duration,
    /// SQLite: how long a writer waits for the write lock before failing as unavailable.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_the_backend_by_scheme() {
        assert_eq!(StoreUrl::parse("sqlite://data/fw.db").unwrap(), StoreUrl::SqliteFile("data/fw.db".into()));
        assert_eq!(StoreUrl::parse("sqlite:///var/lib/fw.db").unwrap(), StoreUrl::SqliteFile("/var/lib/fw.db".into()));
        assert_eq!(StoreUrl::parse("sqlite::memory:").unwrap(), StoreUrl::SqliteMemory);
        assert!(matches!(StoreUrl::parse("postgresql://u@h/db").unwrap(), StoreUrl::Postgres(_)));
        let err = StoreUrl::parse("mysql://root@localhost/fw").unwrap_err();
        assert!(err.to_string().contains("\"mysql\""), "{err}");
        assert!(StoreUrl::parse("sqlite://").is_err());
        assert!(StoreUrl::parse("sqlite://x.db?mode=ro").is_err());
    }

    #[test]
    fn passwords_never_reach_the_logs() {
        let url = StoreUrl::parse("postgres://fw:hunter2@db.internal:5432/fw").unwrap();
        assert_eq!(format!("{url:?}"), "postgres://fw:***@db.internal:5432/fw");
        assert!(!url.to_string().contains("hunter2"));
    }
}
