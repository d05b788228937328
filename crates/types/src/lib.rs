//! FerretWatch's shared vocabulary: the value types that more than one crate reads or
//! writes, each with one parser and one rule.
//!
//! - [`Timestamp`]: an instant in milliseconds since the Unix epoch, written as RFC 3339
//!   UTC with whole seconds (`2025-09-24T15:00:00Z`).
//! - [`PackVersion`]: `YYYY.MM.DD.HH` with an optional `.N`; a real UTC date and hour,
//!   ordered by time, then by suffix.
//! - [`Sha256`]: a SHA-256 digest, written as 64 lower-case hex digits.
//! - [`Coded`]: the stable machine-readable code and the [`Fault`] of an error, which the
//!   command line turns into an exit status and the service into an HTTP status.
//!
//! No I/O happens here (the clock read of [`Timestamp::now`] aside), so every crate,
//! including a WebAssembly build of the client, can depend on it. Decision 0012 explains
//! the choices.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod code;
mod digest;
mod time;
mod version;

pub use code::{Coded, Fault};
pub use digest::{sha256_hex, DigestError, Sha256};
pub use time::{Timestamp, TimestampError, DAY, HOUR};
pub use version::{PackVersion, PackVersionError};
