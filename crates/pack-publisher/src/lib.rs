//! FerretWatch packs, publisher side: from threat feeds to a signed pack at an origin.
//!
//! The flow is `intel fetch` ([`fetch::fetch`]) → normalised feed files
//! ([`feedfile::FeedFile`], `docs/formats/feed.md`) → `pack build` ([`build::build`]) →
//! `pack validate` ([`validate`]) and `pack test` ([`corpus_test`], the pre-publish gate)
//! → `pack sign` ([`sign`], a threshold of publishers) → `pack deploy` ([`publish`]) to an
//! [`origin::Origin`]. Rollbacks and emergency rules republish under a higher version;
//! [`delta`] makes the intel deltas clients apply; [`bulletin`] makes and publishes
//! signed advisories.
//!
//! Design choices:
//! - Reproducible builds. A build reads no clock: its creation time comes from the pack
//!   version (or an explicit flag), every list is sorted, and the filter encodings are
//!   deterministic, so the same inputs give a byte-identical pack.
//! - Fail safe on shrinking intel. A feed that lost more than half of its indicators since
//!   the previous pack stops the build unless forced: a truncated download must not wipe
//!   out protection.
//! - Verify before upload, as a client would, with the client's own code
//!   (`ferretwatch-pack-client`), which this crate builds on and never the reverse.
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
pub mod http;
pub mod keys;
pub mod origin;
pub mod publish;
pub mod sign;
pub mod signing;
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod testing;
pub mod url_eval;
pub mod validate;

pub use build::{build, BuildOptions, BuildSummary};
pub use error::{BuildError, FeedError, FetchError};
pub use fetch::{fetch, FetchOutcome, FetchRequest, FetchStatus};
