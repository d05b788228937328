//! FerretWatch detection engine.
#![forbid(unsafe_code)]

pub mod brands;
pub mod domain;
pub mod error;
pub mod html;
pub mod input;
pub mod rules;
pub mod signals;
pub mod verdict;
