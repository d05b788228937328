//! The detection signals, one module each. Each pushes [`crate::verdict::Signal`]s; the
//! scoring turns them into weighted, capped, explained findings.

#[cfg(feature = "favicon")]
pub(crate) mod favicon;
pub(crate) mod hotlink;
pub(crate) mod lookalike;
pub(crate) mod new_domain;
pub(crate) mod reputation;
pub(crate) mod ui;
pub(crate) mod url;
#[cfg(feature = "yara")]
pub(crate) mod yara;
