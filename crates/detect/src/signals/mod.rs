//! The detection signals, one module each. Each pushes [`crate::verdict::Signal`]s; the
//! scoring turns them into weighted, capped, explained findings.

#[cfg(feature = "favicon")]
pub mod favicon;
pub mod hotlink;
pub mod lookalike;
pub mod new_domain;
pub mod reputation;
pub mod ui;
pub mod url;
#[cfg(feature = "yara")]
pub mod yara;
