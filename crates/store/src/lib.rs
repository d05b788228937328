//! FerretWatch storage: the report log, the moderation table and admin tokens, behind one
//! [`Store`] trait with two backends.
//!
//! - [`SqliteStore`] is the embedded default: one file in WAL mode with
//!   `synchronous=FULL`, so a returned `Ok` means the write is on disk.
//! - [`PostgresStore`] is the production backend (`synchronous_commit=on` is forced per
//!   connection for the same guarantee).
//!
//! The data lifecycle (retention into daily aggregates, keyed tombstones, cleanup and
//! maintenance reports) is the [`LifecycleStore`] supertrait (decision 0027).
//!
//! Pick one at start-up with [`open`] and a `sqlite://PATH` or `postgres://…` URL. Both
//! run their own migrations (`migrations/sqlite`, `migrations/postgres`) when opened and
//! pass the same conformance suite (`tests/conformance.rs`).
//!
//! Design choices (decision 0010): the trait is object-safe (`Arc<dyn Store>`) through
//! `async-trait`, because the backend is chosen at run time from a URL and the server's
//! tests substitute failing stores; the boxing of each future costs nothing next to a
//! database round trip. Inputs are validated by their types' constructors (parse, don't
//! validate), so a backend only ever sees valid data. Times are milliseconds since the
//! epoch in both databases. Errors carry a category ([`ErrorKind`]) that the server maps
//! to an HTTP status, and their `Display` never contains SQL.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::sync::Arc;

use async_trait::async_trait;
use ferretwatch_types::Timestamp;

mod config;
pub mod console;
mod console_sql;
mod error;
mod group_commit;
mod incident_sql;
pub mod incidents;
pub mod lifecycle;
mod lifecycle_sql;
mod model;
mod postgres;
mod proposal_sql;
pub mod proposals;
pub mod review;
mod review_sql;
mod rows;
mod sqlite;
mod stats_sql;

pub use config::{StoreOptions, StoreUrl};
pub use console::{Audited, ConsoleStore, ReportVolume};
pub use error::{ErrorKind, StoreError, ValidationError};
pub use incidents::{IncidentChange, IncidentStore};
pub use lifecycle::LifecycleStore;
pub use model::*;
pub use postgres::PostgresStore;
pub use proposals::{Finish, NewSignature, ProposalStore};
pub use review::ReviewStore;
pub use sqlite::SqliteStore;

/// The result of every store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which backend a store is, for logs and metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// [`SqliteStore`].
    Sqlite,
    /// [`PostgresStore`].
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Everything the report API, health checks and admin tokens need from storage.
///
/// Every write is committed before its method returns `Ok`: no buffering, no write-behind.
#[async_trait]
pub trait Store:
    ConsoleStore + IncidentStore + LifecycleStore + ProposalStore + ReviewStore + Send + Sync + std::fmt::Debug
{
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Readiness: one trivial query. `Unavailable` when the database cannot answer.
    async fn ping(&self) -> Result<()>;

    /// Appends a report to the log and counts it in the moderation table, in one
    /// transaction: a second report of the same URL increments the entry's count (and
    /// never duplicates it, however many arrive at once). `Gone` when the URL was
    /// forgotten: its moderation entry is marked (checked by the database, whatever the
    /// options), or a tombstone under the store's [`StoreOptions::tombstone_key`] names
    /// it.
    async fn append_report(&self, report: &NewReport) -> Result<ReportReceipt>;

    /// One report by id.
    async fn get_report(&self, id: ReportId) -> Result<StoredReport>;

    /// The reports of one URL, newest first.
    async fn list_reports_for_url(&self, url_hash: &UrlHash, page: Page) -> Result<PageOf<StoredReport>>;

    /// One moderation entry.
    async fn get_moderation(&self, url_hash: &UrlHash) -> Result<ModerationEntry>;

    /// The moderation inbox, filtered and ordered.
    async fn list_moderation(&self, filter: &ModerationFilter, page: Page) -> Result<PageOf<ModerationEntry>>;

    /// Moves an entry to a new state if [`ModerationState::can_transition_to`] allows it,
    /// recording who and when in the audit, atomically. `NotFound` for an unknown URL hash,
    /// `Conflict` for a transition the current state does not allow (including one that a
    /// concurrent reviewer made first).
    async fn set_moderation_state(&self, change: &StateChange) -> Result<ModerationEntry>;

    /// The audit of one entry's state changes, oldest first.
    async fn moderation_history(&self, url_hash: &UrlHash) -> Result<Vec<ModerationAudit>>;

    /// Creates a token with a fresh random secret and stores only the secret's hash.
    /// `Conflict` if an active token already has that name.
    async fn create_token(&self, token: &NewToken) -> Result<IssuedToken>;

    /// The token whose secret hashes to `hash`, revoked or not (check
    /// [`TokenRecord::is_active`]).
    async fn find_token_by_hash(&self, hash: &TokenHash) -> Result<Option<TokenRecord>>;

    /// Records a successful use. Coalesced: writes only when the stored time is more than a
    /// minute older than `at`, so authenticating every admin request costs at most one
    /// write per token per minute. `NotFound` for an unknown id.
    async fn touch_token(&self, id: TokenId, at: Timestamp) -> Result<()>;

    /// Revokes a token; revoking a revoked token keeps the first revocation time.
    /// `NotFound` for an unknown id.
    async fn revoke_token(&self, id: TokenId, at: Timestamp) -> Result<TokenRecord>;

    /// Every token, oldest first.
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>>;

    /// Totals for metrics gauges. Counts the report log (an index-only scan): scrape it
    /// every 15 s or more, not per request.
    async fn counts(&self) -> Result<StoreCounts>;

    /// The database's identity (the one `store_identity` row).
    async fn identity(&self) -> Result<StoreIdentity>;

    /// The connection pool's current figures (no I/O).
    fn pool_stats(&self) -> PoolStats;

    /// Closes the pool, waiting for checked-out connections to return. Call on shutdown
    /// (for SQLite this also checkpoints the WAL).
    async fn close(&self);
}

/// Opens the store a URL names, creating and migrating it as needed.
pub async fn open(url: &str, options: &StoreOptions) -> Result<Arc<dyn Store>> {
    open_url(&StoreUrl::parse(url)?, options).await
}

/// Opens the store an already parsed URL names.
pub async fn open_url(url: &StoreUrl, options: &StoreOptions) -> Result<Arc<dyn Store>> {
    Ok(match url {
        StoreUrl::SqliteFile(_) | StoreUrl::SqliteMemory => Arc::new(SqliteStore::open(url, options).await?),
        StoreUrl::Postgres(raw) => Arc::new(PostgresStore::open(raw, options).await?),
    })
}

/// The minimum age of `last_used_at` before `touch_token` writes again, in milliseconds.
pub const TOUCH_GRANULARITY_MS: i64 = 60_000;
