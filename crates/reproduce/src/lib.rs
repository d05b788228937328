//! The reproduction runner: a Reviewer asks the server to fetch a reported URL the way the
//! reporter saw it, and to scan the rendered page with the reporter's pack and the current
//! one (`docs/reproduce.md`).
//!
//! - [`guard`]: which resolved addresses and ports may be contacted (the SSRF guard).
//! - [`proxy`]: the egress proxy every browser connection goes through; it resolves,
//!   checks, connects, counts bytes and records refusals.
//! - [`browser`] and [`cdp`]: headless Chromium in its own process group with a throwaway
//!   profile, driven over the DevTools protocol.
//! - [`reproduce()`]: one reproduction under a hard time cap, whatever happens returning
//!   what was collected, with no browser process left behind.
//! - [`scan`]: the rendered page scanned with a verified pack from an origin (a version
//!   from its history, or the current one), and the comparison with the reporter's
//!   findings.
//! - [`artifacts`]: the summary, screenshot and DOM of a reproduction in an object store.
//!
//! Design choices: the browser is contained by the network, not by its own sandbox — the
//! proxy is its only way out and checks addresses after resolution, on every request and
//! redirect. The DevTools protocol is spoken over one websocket with a few dozen lines
//! rather than a browser-automation framework (see the decision note 0023).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod artifacts;
pub mod browser;
pub mod cdp;
pub mod guard;
pub mod proxy;
mod run;
pub mod scan;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use guard::{Blocked, Guard};
pub use run::reproduce;

/// The bounds of one reproduction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The hard cap on the whole reproduction (browser start to last byte).
    pub time: Duration,
    /// Bytes through the egress proxy, both ways, at most.
    pub max_bytes: u64,
    /// The rendered DOM is cut to this many bytes.
    pub max_dom_bytes: usize,
    /// The Chromium executable.
    pub chromium: PathBuf,
    /// Where the throwaway profile directory is made (default: the system's temporary
    /// directory). Every browser process names it on its command line.
    pub scratch_dir: Option<PathBuf>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time: Duration::from_secs(10),
            max_bytes: 10 << 20,
            max_dom_bytes: 2 << 20,
            chromium: PathBuf::from("/usr/bin/chromium"),
            scratch_dir: None,
        }
    }
}

/// One step of the main document's way to the page: a URL and the status it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// The URL requested.
    pub url: String,
    /// Its HTTP status (a redirect's 3xx, then the page's).
    pub status: u16,
}

/// A connection the proxy refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The host asked for.
    pub host: String,
    /// The resolved address that was refused (none: refused before resolution, or the
    /// name did not resolve).
    pub ip: Option<IpAddr>,
    /// Why.
    pub reason: String,
    /// Whether the page asked for it (a request of the page's target seen over the
    /// DevTools protocol). False: the browser's own background traffic (component updates,
    /// account services), which flags cannot switch off entirely and which is no evidence
    /// about the page.
    #[serde(default)]
    pub by_page: bool,
}

/// What one reproduction saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reproduction {
    /// The URL asked for.
    pub requested_url: String,
    /// Where the browser ended up.
    pub final_url: String,
    /// The main document's redirect chain, the final response last.
    pub chain: Vec<Hop>,
    /// Every plain-HTTP request the proxy forwarded (subresources included).
    #[serde(default)]
    pub proxied: Vec<Hop>,
    /// Connections the proxy refused.
    pub refused: Vec<Refusal>,
    /// The rendered DOM (`outerHTML`), cut to the limit (stored as its own artifact).
    #[serde(skip)]
    pub dom_html: String,
    /// Hex SHA-256 of [`Reproduction::dom_html`]'s bytes.
    pub dom_sha256: String,
    /// The screenshot, PNG (empty when none was taken; stored as its own artifact).
    #[serde(skip)]
    pub screenshot_png: Vec<u8>,
    /// Bytes through the proxy, both ways.
    pub bytes_transferred: u64,
    /// Wall-clock time of the whole reproduction.
    pub elapsed_ms: u64,
    /// Whether the time cap cut it short (the page did not finish loading, or the
    /// browser did not answer in time).
    pub timed_out: bool,
    /// What went wrong, if anything (the byte cap, a DevTools failure).
    pub error: Option<String>,
}

/// Why a reproduction could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ReproduceError {
    /// The URL is not one to reproduce (not http(s), or with credentials).
    #[error("{0}")]
    Url(String),
    /// The browser could not be started.
    #[error("starting chromium: {0}")]
    Launch(String),
    /// A local resource (the proxy's socket, the profile directory) failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ferretwatch_types::Coded for ReproduceError {
    fn code(&self) -> &'static str {
        match self {
            ReproduceError::Url(_) => "bad_url",
            ReproduceError::Launch(_) => "browser_failed",
            ReproduceError::Io(_) => "io",
        }
    }

    fn fault(&self) -> ferretwatch_types::Fault {
        match self {
            ReproduceError::Url(_) => ferretwatch_types::Fault::Input,
            _ => ferretwatch_types::Fault::Operation,
        }
    }
}
