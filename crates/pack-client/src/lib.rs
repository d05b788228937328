//! FerretWatch packs, client side: what every client (the command line, the service, a
//! browser extension) needs to trust and use a pack, and nothing a publisher alone needs.
//!
//! - [`manifest`]: what a pack holds; [`layout`]: the names of everything at an origin.
//! - [`trust`]: TUF metadata and [`trust::verify::Verifier`], which admits a pack only
//!   with a threshold of valid signatures, nothing expired, nothing rolled back, nothing
//!   mixed and every file matching its signed length and SHA-256.
//! - [`load`]: a verified pack's files turned into an [`ferretwatch_detect::Engine`].
//! - [`delta`]: intel deltas, decoded and applied to the filters a client holds.
//! - [`bulletin`]: active-campaign bulletins and their verification.
//! - [`indicator`]: how feed entries and bulletin domains are normalised, on the engine's
//!   own URL parser, so that packs list exactly the strings the engine looks up.
//! - [`dir`]: a pack and a client's state in a local directory.
//! - [`update`]: the updater, a state machine without I/O; [`recovery`]: circuit
//!   breakers, the local error log and resets; [`install`]: a client's installation on
//!   disk (atomic swap, last known good, the delta base).
//!
//! Design choices: no network, no async runtime, no object store (the caller fetches
//! through a [`trust::verify::Source`]), so this crate can build for WebAssembly; nothing
//! is parsed before its signature or hash has been checked; every refusal has its own
//! error and code. The publisher side (`ferretwatch-pack-publisher`) builds, signs and
//! deploys what this crate reads, and depends on it, never the other way round.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bulletin;
pub mod delta;
pub mod dir;
pub mod indicator;
pub mod install;
pub mod layout;
pub mod load;
pub mod manifest;
pub mod recovery;
pub mod trust;
pub mod update;
