//! FerretWatch packs: threat-feed ingestion, normalisation, reputation filters, and the
//! pack build with its manifest.
//!
//! The flow is `intel fetch` ([`fetch::fetch`]) → normalised feed files
//! ([`feedfile::FeedFile`], `docs/formats/feed.md`) → `pack build` ([`build::build`]) →
//! a directory of content-addressed files and a `manifest.json` (`docs/formats/pack.md`).
//!
//! Design choices:
//! - One normaliser. Indicators are keyed with the engine's own URL parser and
//!   `url_key`, so a pack lists exactly the strings the engine looks up.
//! - Reproducible builds. A build reads no clock: its creation time comes from the pack
//!   version (or an explicit flag), every list is sorted, and the filter encodings are
//!   deterministic, so the same inputs give a byte-identical pack.
//! - Fail safe on shrinking intel. A feed that lost more than half of its indicators since
//!   the previous pack stops the build unless forced: a truncated download must not wipe
//!   out protection.
//! - The manifest is the unit a signing layer signs: it lists every file's content-hashed
//!   name, SHA-256 and size, so nothing else needs to be signed.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod build;
pub mod bulletin;
pub mod corpus_test;
pub mod delta;
pub mod error;
pub mod feedfile;
pub mod feeds;
pub mod fetch;
pub mod load;
pub mod manifest;
pub mod normalize;
pub mod publish;
pub mod trust;
pub mod validate;

pub use build::{build, BuildOptions, BuildSummary};
pub use error::{BuildError, FeedError, FetchError};
pub use feeds::Source;
pub use ferretwatch_types::{PackVersion, Timestamp};
pub use fetch::{fetch, FetchOutcome, FetchRequest, FetchStatus};
pub use manifest::Manifest;
