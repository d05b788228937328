//! FerretWatch detection engine.
//!
//! A pure library: no I/O, no threads and no clock reads of its own (local time is passed
//! in through [`LocalState`]); the YARA signal's hard time limit is the one exception, kept
//! behind the `yara` feature so a build without a clock can leave it out.
//!
//! ```
//! use ferretwatch_detect::{Engine, Page, ScanOptions, Level};
//! let engine = Engine::builtin();
//! let verdict = engine.scan(&Page::url("https://paypa1.com/signin"), &ScanOptions::default()).unwrap();
//! assert_eq!(verdict.findings[0].key.name(), "idn_homograph_high");
//! assert_eq!(engine.scan(&Page::url("https://www.paypal.com/"), &ScanOptions::default()).unwrap().level, Level::Green);
//! ```
//!
//! Design: every signal module reads the parsed [`domain::Target`], the HTML facts from a
//! single tokenizer pass ([`html::extract`]) and the brand index built once per rule set,
//! and pushes signals with a confidence; [`verdict::Scoring`] weights, caps and orders them
//! in integer milli-points so that the same input and rules give the same verdict, byte for
//! byte.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod bloom;
mod brands;
mod decode;
mod domain;
mod engine;
mod error;
pub mod filter;
mod html;
pub mod input;
mod normalize;
mod quiet_emitter;
pub mod rules;
mod signals;
mod verdict;

pub use engine::{Engine, DEFAULT_YARA};
pub use error::{InputError, RulesError};
pub use input::{LocalState, Page, Resource, ResourceKind, ScanOptions};
pub use rules::{Gate, Key, Rules, Thresholds};
pub use signals::reputation::{Listing, Reputation};
pub use verdict::{Finding, Level, Verdict};

/// Internals that the crate's own benchmarks time on their own (HTML extraction alone);
/// not part of the API.
#[doc(hidden)]
pub mod bench {
    pub use crate::html::{extract, PageFacts};
}
