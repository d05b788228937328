//! FerretWatch backups (`docs/backups.md`): the database, the configuration and the
//! pack origin's signed objects, each object checksummed (SHA-256) and optionally
//! encrypted to a recipient key, kept at a destination (`file:///DIR` or
//! `s3://BUCKET/PREFIX`) with one sealed manifest per backup.
//!
//! Design choices (decision 0028):
//! - The database dump and its statistics share one snapshot (PostgreSQL: an exported
//!   snapshot of a `REPEATABLE READ` transaction and `pg_dump --snapshot`; SQLite:
//!   `VACUUM INTO`), so the row counts and content checksums in the manifest describe
//!   exactly what was dumped, and a verification compares a scratch restore with them.
//! - Every database has an identity (`store_identity`, a random id made by its first
//!   migration); the manifest records it, so a backup of another database is refused.
//! - Objects are uploaded as they are made and the manifest last: a backup without a
//!   manifest is unfinished, never listed.
//! - Encryption is X25519 + HKDF + ChaCha20-Poly1305 in 64 KiB chunks ([`crypt`]), from
//!   crates already in the tree, rather than the `age` crate and its ~150 dependencies.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod create;
pub mod crypt;
pub mod db;
pub mod dest;
mod error;
pub mod extract;
mod id;
pub mod manifest;
mod object;
pub mod prune;
pub mod restore;
pub mod select;
pub mod verify;

pub use create::{create, CreateOptions};
pub use dest::Destination;
pub use error::{BackupError, Result};
pub use extract::{extract, newest_of_day};
pub use id::BackupId;
pub use manifest::{Kind, Manifest};
pub use object::file_digest;
pub use prune::{expired, Retention};
pub use restore::{restore, RestoreOptions, Restored};
pub use select::{locate, Located, Selector};
pub use verify::{verify, verify_dump_file, Verified, VerifyOptions};
