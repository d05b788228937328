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
            require_verified_tls(url)?;
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

/// A database on another machine is reached over TLS with its certificate verified
/// (`sslmode=verify-full`, or `verify-ca`, with `sslrootcert=CA.pem`): reports and admin
/// tokens must not cross a network in clear, nor to a server that only claims to be the
/// database. Loopback and Unix-socket connections may go without.
fn require_verified_tls(raw: &str) -> Result<(), StoreError> {
    let url = url::Url::parse(raw).map_err(|_| StoreError::Config("invalid postgres URL".into()))?;
    let query = |key: &str| url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned());
    let local = match url.host() {
        None => true,
        // postgres:// is not a special scheme: an address comes back as an opaque name.
        Some(url::Host::Domain(name)) => {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            name == "localhost" || name.is_empty() || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
    } || query("host").is_some_and(|h| h.starts_with('/'));
    let mode = query("sslmode").unwrap_or_default();
    if local || matches!(mode.as_str(), "verify-full" | "verify-ca") {
        return Ok(());
    }
    Err(StoreError::Config(format!(
        "the database at {} is not on this machine: connect with TLS and a verified certificate \
         (add ?sslmode=verify-full&sslrootcert=/path/to/ca.pem){}",
        url.host_str().unwrap_or("?"),
        if mode.is_empty() { String::new() } else { format!("; sslmode={mode} does not verify the server") }
    )))
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
    /// PostgreSQL: report writers taking turns at the group commit (at least 1). One
    /// writer makes the largest batches (fewest commits), and measured fastest on two
    /// cores (docs/benchmarks.md); more overlap commits, for a database whose commits are
    /// slow but parallel.
    pub writers: usize,
    /// The key of the tombstones (docs/data-lifecycle.md): with it, `append_report` also
    /// checks the tombstones, for a forgotten URL that had no moderation entry to mark and
    /// for a restored database before its reapply.
    pub tombstone_key: Option<crate::TombstoneKey>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
            writers: 1,
            tombstone_key: None,
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
        assert!(matches!(
            StoreUrl::parse("postgresql://u@h/db?sslmode=verify-full&sslrootcert=ca.pem").unwrap(),
            StoreUrl::Postgres(_)
        ));
        let err = StoreUrl::parse("mysql://root@localhost/fw").unwrap_err();
        assert!(err.to_string().contains("\"mysql\""), "{err}");
        assert!(StoreUrl::parse("sqlite://").is_err());
        assert!(StoreUrl::parse("sqlite://x.db?mode=ro").is_err());
    }

    #[test]
    fn passwords_never_reach_the_logs() {
        let url = StoreUrl::parse("postgres://fw:hunter2@127.0.0.1:5432/fw").unwrap();
        assert_eq!(format!("{url:?}"), "postgres://fw:***@127.0.0.1:5432/fw");
        assert!(!url.to_string().contains("hunter2"));
    }

    #[test]
    fn a_remote_database_needs_a_verified_tls_connection() {
        for remote in [
            "postgres://fw@db.internal:5432/fw",
            "postgres://fw@10.0.0.5/fw?sslmode=require",
            "postgres://fw@[2001:db8::5]/fw?sslmode=prefer",
        ] {
            let err = StoreUrl::parse(remote).unwrap_err().to_string();
            assert!(err.contains("sslmode=verify-full"), "{remote}: {err}");
        }
        let err = StoreUrl::parse("postgres://fw@10.0.0.5/fw?sslmode=require").unwrap_err().to_string();
        assert!(err.contains("sslmode=require does not verify the server"), "{err}");
        for allowed in [
            "postgres://fw@db.internal/fw?sslmode=verify-full&sslrootcert=/etc/ferretwatch/ca.pem",
            "postgres://fw@db.internal/fw?sslmode=verify-ca&sslrootcert=ca.pem",
            "postgres://fw@127.0.0.1:5432/fw",
            "postgres://fw@localhost/fw",
            "postgres://fw@[::1]/fw",
            "postgres:///fw?host=/var/run/postgresql",
        ] {
            assert!(StoreUrl::parse(allowed).is_ok(), "{allowed}");
        }
    }
}
