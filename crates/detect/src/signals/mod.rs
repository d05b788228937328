//! The detection signals, one module each.

pub mod lookalike;
