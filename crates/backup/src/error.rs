//! Why a backup, a verification or a restore failed, with a stable code per reason.

use ferretwatch_types::{Coded, Fault};

/// What went wrong. Each verification refusal names the object and the reason in its
/// message, which the command line prints as one line.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A flag, URL, file or setting that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// No backup by that name at the destination.
    #[error("{0}")]
    NotFound(String),
    /// An object's bytes differ from the manifest's checksum.
    #[error("{0}")]
    Checksum(String),
    /// An object is shorter or longer than the manifest says.
    #[error("{0}")]
    Truncated(String),
    /// The manifest is damaged or of an unknown version.
    #[error("{0}")]
    Manifest(String),
    /// The backup is of another database than the one compared with.
    #[error("{0}")]
    Identity(String),
    /// The restored rows differ from those counted when the backup was made.
    #[error("{0}")]
    Contents(String),
    /// The target database holds data and `--force` was not given.
    #[error("{0}")]
    NotEmpty(String),
    /// An encrypted object could not be decrypted (wrong key, damaged bytes).
    #[error("{0}")]
    Decrypt(String),
    /// `pg_dump`, `pg_restore` or another tool failed.
    #[error("{0}")]
    Tool(String),
    /// The destination or the origin failed.
    #[error("{0}")]
    Store(String),
    /// The database failed.
    #[error("{0}")]
    Database(String),
    /// A local file failed.
    #[error("{0}")]
    Io(String),
}

impl Coded for BackupError {
    fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_backup_input",
            Self::NotFound(_) => "backup_not_found",
            Self::Checksum(_) => "backup_checksum_mismatch",
            Self::Truncated(_) => "backup_truncated",
            Self::Manifest(_) => "backup_manifest_invalid",
            Self::Identity(_) => "backup_other_database",
            Self::Contents(_) => "backup_contents_differ",
            Self::NotEmpty(_) => "restore_target_not_empty",
            Self::Decrypt(_) => "backup_decrypt_failed",
            Self::Tool(_) => "backup_tool_failed",
            Self::Store(_) => "backup_store_failed",
            Self::Database(_) => "backup_database_failed",
            Self::Io(_) => "backup_io_failed",
        }
    }

    fn fault(&self) -> Fault {
        match self {
            Self::Invalid(_) => Fault::Input,
            _ => Fault::Operation,
        }
    }
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Database(e.to_string())
    }
}

impl From<ferretwatch_store::StoreError> for BackupError {
    fn from(e: ferretwatch_store::StoreError) -> Self {
        BackupError::Database(e.to_string())
    }
}

/// An I/O error on `path`.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Io(format!("{}: {e}", path.display()))
}

/// The result of every operation here.
pub type Result<T, E = BackupError> = std::result::Result<T, E>;
