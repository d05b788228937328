//! The one error type of the store, and the input-validation error its constructors return.
//!
//! `Display` of a [`StoreError`] is safe to show a client: it never contains SQL, driver
//! messages or file paths. The underlying cause (an `sqlx::Error`, an I/O error) is kept as
//! the error's `source()` so the server can log the whole chain.

use std::fmt;

/// Why a value given to the store was refused. Returned by the models' constructors
/// (`ReportUrl::parse`, `Finding::new`, …) and, wrapped in [`StoreError::Invalid`], by the
/// store itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// The field that was refused, as named in the report API (`url`, `reason`, `score`, …).
    pub field: &'static str,
    /// What is wrong with it, in words a client can act on.
    pub reason: String,
}

impl ValidationError {
    /// A refusal of `field` for `reason`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self { field, reason: reason.into() }
    }
}

/// The category of a [`StoreError`]: what a caller should do about it.
///
/// The report and admin APIs map these one to one onto HTTP statuses (given here as the
/// intended mapping; the store itself knows nothing of HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The input is invalid; retrying it unchanged will fail again. HTTP 400.
    Invalid,
    /// The thing asked for does not exist. HTTP 404.
    NotFound,
    /// The request conflicts with the current state (an invalid moderation transition, a
    /// duplicate token name). HTTP 409.
    Conflict,
    /// The thing was deleted on request and is refused from now on (a forgotten URL).
    /// HTTP 410.
    Gone,
    /// The database cannot be reached or is overloaded; retry later. HTTP 503.
    Unavailable,
    /// A bug, a corrupt row or a failed migration. HTTP 500.
    Internal,
}

impl ErrorKind {
    /// A stable machine-readable code for logs, metrics labels and JSON error bodies.
    pub fn code(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Gone => "gone",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The input was refused (see [`ValidationError`]).
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// No such report, moderation entry or token.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for: `report`, `moderation entry`, `token`.
        what: &'static str,
    },
    /// The request conflicts with the stored state.
    #[error("conflict: {message}")]
    Conflict {
        /// What conflicts, without internals (`cannot move from verified to benign`).
        message: String,
    },
    /// The subject was deleted on request (a tombstone) and is not accepted again.
    #[error("{what} was deleted on request and is not accepted again")]
    Gone {
        /// What: `this URL`.
        what: &'static str,
    },
    /// The database is unreachable, shutting down, out of connections or busy.
    #[error("storage unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The database URL or options are wrong (unknown scheme, unusable path).
    #[error("storage configuration: {0}")]
    Config(String),
    /// Applying the migrations failed at open.
    #[error("storage migration failed")]
    Migration(#[source] sqlx::migrate::MigrateError),
    /// Anything else: a bug, or a row the store cannot decode.
    #[error("internal storage error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::Invalid,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::Conflict { .. } => ErrorKind::Conflict,
            Self::Gone { .. } => ErrorKind::Gone,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Config(_) | Self::Migration(_) | Self::Internal(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn not_found(what: &'static str) -> Self {
        Self::NotFound { what }
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict { message: message.into() }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Internal(what.into().into())
    }
}

impl ferretwatch_types::Coded for StoreError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }

    fn fault(&self) -> ferretwatch_types::Fault {
        match self.kind() {
            ErrorKind::Invalid | ErrorKind::NotFound | ErrorKind::Conflict | ErrorKind::Gone => {
                ferretwatch_types::Fault::Input
            }
            ErrorKind::Unavailable | ErrorKind::Internal => ferretwatch_types::Fault::Operation,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        classify(err)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        match err {
            sqlx::migrate::MigrateError::Execute(inner) if is_unavailable(&inner) => Self::Unavailable(inner),
            other => Self::Migration(other),
        }
    }
}

/// The SQLSTATE PostgreSQL's `reports_not_forgotten` trigger raises.
const FORGOTTEN_SQLSTATE: &str = "FW410";
/// The message SQLite's `reports_not_forgotten` trigger aborts with.
const FORGOTTEN_MESSAGE: &str = "ferretwatch: this URL was deleted on request";

/// Sorts a driver error into the store's categories. Constraint violations that validation
/// should have caught become `Invalid`, except unique violations, which are conflicts.
fn classify(err: sqlx::Error) -> StoreError {
    if is_unavailable(&err) {
        return StoreError::Unavailable(err);
    }
    match &err {
        sqlx::Error::RowNotFound => StoreError::NotFound { what: "row" },
        // The `reports_not_forgotten` trigger (migration 0006).
        sqlx::Error::Database(db)
            if db.code().as_deref() == Some(FORGOTTEN_SQLSTATE) || db.message().contains(FORGOTTEN_MESSAGE) =>
        {
            StoreError::Gone { what: "this URL" }
        }
        sqlx::Error::Database(db) => match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => StoreError::conflict("already exists"),
            sqlx::error::ErrorKind::ForeignKeyViolation
            | sqlx::error::ErrorKind::NotNullViolation
            | sqlx::error::ErrorKind::CheckViolation => {
                StoreError::Invalid(ValidationError::new("record", "rejected by a database constraint"))
            }
            _ => StoreError::Internal(Box::new(err)),
        },
        _ => StoreError::Internal(Box::new(err)),
    }
}

/// Whether an error is transient: the database is down, restarting, overloaded or busy.
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL SQLSTATE classes: 08 connection exception, 53 insufficient
            // resources, 57P operator intervention (shutdown, restart), 40001/40P01
            // serialization failure and deadlock (safe to retry).
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code == "40001"
                || code == "40P01"
                // SQLite primary codes: 5 BUSY, 6 LOCKED, 10 IOERR, 13 FULL (extended
                // codes keep the primary code in their low byte).
                || code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_never_contains_the_driver_message() {
        let err = StoreError::from(sqlx::Error::Protocol("SELECT secret FROM admin_tokens".into()));
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(!err.to_string().contains("SELECT"));
        let err = StoreError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.to_string(), "storage unavailable");
    }

    #[test]
    fn validation_errors_name_the_field() {
        let err = StoreError::from(ValidationError::new("url", "must be http or https"));
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert_eq!(err.to_string(), "invalid input: url: must be http or https");
    }
}
