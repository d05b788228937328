//! The pack updater (`ferretwatch_pack_client::update`) for WebAssembly hosts: the host
//! fetches with `fetch()` and keeps the state in its own storage, and the same state
//! machine as every other client verifies and decides. One updater per module instance.
//!
//! | call | request | answer |
//! |---|---|---|
//! | `fw_updater_new` | `{"mirrors", "install_id", "root" (root.json's text), "persisted"?, "interval_secs"?, "deltas"?}` | `{"ok": true}` |
//! | `fw_updater_start` | `{"now_ms"}` | a step |
//! | `fw_updater_handle` | `{"now_ms", "status", "etag"?, "retry_after"?}` and the body's bytes | a step |
//! | `fw_updater_base_read` | `{"now_ms", "files": [{"name", "size"}]}` and the base files' bytes (those of the names asked that the host has) | a step |
//! | `fw_updater_staged_file` | `{"name"}` | the staged file's bytes |
//! | `fw_updater_installed` | `{"now_ms", "error"?}` | the outcome |
//! | `fw_updater_persisted` | `{}` | the state to keep |
//! | `fw_updater_status` | `{"now_ms"}` | the status, with `next_poll_ms` (when a cycle is due) |
//! | `fw_updater_bulletins` | `{"now_ms", "url", "brands", "locale"}` | the bulletins to show on that page, recorded as shown |
//!
//! A step is `{"fetch": {"url", "name", "limit", "etag", "mirror", "not_before_ms"}}`,
//! `{"read_base": [names]}`, `{"install": {"pack_version", "version", "fetched": [names],
//! "kept": [names], "patched": {name: sha256}, "base_files": [names]}}` or `{"done": outcome}`
//! (`patched`: filters made from a delta, to hand to `fw_load_pack`; `base_files`: the
//! files the host keeps as its next delta base); an outcome is `{"result": "updated" |
//! "unchanged" | "failed", "pack_version"?, "code"?, "reason"?}`. A `status` of 0 means no
//! answer (the network failed).

use std::cell::RefCell;

use ferretwatch_pack_client::bulletin::{Bulletin, Place};
use ferretwatch_pack_client::update::{Config, Persisted, Response, Staged, Step, Updater};
use ferretwatch_types::Timestamp;
use serde::Deserialize;
use serde_json::json;

use crate::error;

struct Host {
    updater: Updater,
    staged: Option<Staged>,
}

thread_local! {
    static HOST: RefCell<Option<Host>> = const { RefCell::new(None) };
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct New {
    mirrors: Vec<String>,
    install_id: String,
    root: String,
    #[serde(default)]
    persisted: Option<Persisted>,
    #[serde(default)]
    interval_secs: Option<u64>,
    /// The host keeps a delta base and answers `read_base` steps with it.
    #[serde(default)]
    deltas: bool,
}

#[derive(Deserialize)]
struct At {
    now_ms: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fetched {
    now_ms: i64,
    status: u16,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    retry_after: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Installed {
    now_ms: i64,
    #[serde(default)]
    error: Option<String>,
}

/// The answer, or the error's JSON.
fn answer(body: impl FnOnce() -> Result<String, String>) -> String {
    body().unwrap_or_else(|error| error)
}

fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| error("bad_request", &e.to_string()))
}

fn with_host(body: impl FnOnce(&mut Host) -> String) -> Result<String, String> {
    HOST.with(|host| match host.borrow_mut().as_mut() {
        Some(host) => Ok(body(host)),
        None => Err(error("no_updater", "call fw_updater_new first")),
    })
}

/// Creates the updater.
pub fn new(request: &[u8]) -> String {
    answer(|| new_updater(parse(request)?))
}

fn new_updater(request: New) -> Result<String, String> {
    let mut config = Config::new(request.mirrors, request.install_id);
    // Only a host that keeps a delta base is offered deltas; the others get whole filters.
    config.deltas = request.deltas;
    if let Some(interval) = request.interval_secs {
        config.interval_secs = interval;
        config.jitter_secs = interval / 10;
    }
    let updater = Updater::new(config, request.root.as_bytes(), request.persisted.unwrap_or_default())
        .map_err(|e| error("bad_root", &e.to_string()))?;
    HOST.with(|host| *host.borrow_mut() = Some(Host { updater, staged: None }));
    Ok(json!({ "ok": true }).to_string())
}

/// Starts a cycle.
pub fn start(request: &[u8]) -> String {
    answer(|| {
        let at: At = parse(request)?;
        with_host(|host| {
            let step = host.updater.start(Timestamp::from_millis(at.now_ms));
            step_json(host, step)
        })
    })
}

/// Hands over an answer (`body` is the response's bytes).
pub fn handle(request: &[u8], body: Vec<u8>) -> String {
    answer(|| {
        let fetched: Fetched = parse(request)?;
        let response = match fetched.status {
            200 => Response::Body { bytes: body, etag: fetched.etag },
            304 => Response::NotModified,
            404 | 410 => Response::NotFound,
            0 => Response::Failed { status: None, retry_after: None },
            status => Response::Failed { status: Some(status), retry_after: fetched.retry_after },
        };
        with_host(|host| {
            let step = host.updater.handle(Timestamp::from_millis(fetched.now_ms), response);
            step_json(host, step)
        })
    })
}

/// Answers a `read_base` step with the base files the host has (each is checked against
/// its signed hash; anything missing or damaged means whole filters).
pub fn base_read(meta: &[u8], body: &[u8]) -> String {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Base {
        now_ms: i64,
        #[serde(default)]
        files: Vec<crate::PackFile>,
    }
    answer(|| {
        let base: Base = parse(meta)?;
        let files = crate::split_files(&base.files, body)?;
        with_host(|host| {
            let step = host.updater.base_read(Timestamp::from_millis(base.now_ms), files);
            step_json(host, step)
        })
    })
}

/// The bytes of a staged file, or nothing.
pub fn staged_file(request: &[u8]) -> Option<Vec<u8>> {
    #[derive(Deserialize)]
    struct Name {
        name: String,
    }
    let name: Name = serde_json::from_slice(request).ok()?;
    HOST.with(|host| {
        let host = host.borrow();
        host.as_ref()?.staged.as_ref()?.fetched.get(&name.name).cloned()
    })
}

/// Reports the install.
pub fn installed(request: &[u8]) -> String {
    answer(|| {
        let request: Installed = parse(request)?;
        with_host(|host| {
            host.staged = None;
            let result = match request.error {
                Some(reason) => Err(reason),
                None => Ok(()),
            };
            let outcome = host.updater.installed(Timestamp::from_millis(request.now_ms), result);
            serde_json::to_string(&outcome).expect("an outcome serialises")
        })
    })
}

/// The state to keep.
pub fn persisted() -> String {
    answer(|| with_host(|host| serde_json::to_string(host.updater.persisted()).expect("the state serialises")))
}

/// How fresh the client is.
pub fn status(request: &[u8]) -> String {
    answer(|| {
        let at: At = parse(request)?;
        with_host(|host| {
            let now = Timestamp::from_millis(at.now_ms);
            let mut status = serde_json::to_value(host.updater.status(now)).expect("a status serialises");
            status["next_poll_ms"] = json!(host.updater.next_poll(now).as_millis());
            status.to_string()
        })
    })
}

/// The bulletins to show on a page (in scope by its registrable domain or a brand the
/// engine found there, in the user's language, under each one's daily cap), most severe
/// first; each is recorded as shown.
pub fn bulletins(request: &[u8]) -> String {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct OnPage {
        now_ms: i64,
        url: String,
        #[serde(default)]
        brands: Vec<String>,
        locale: String,
    }
    answer(|| {
        let page: OnPage = parse(request)?;
        let host = url::Url::parse(&page.url).ok().and_then(|url| url.host_str().map(str::to_owned));
        let etld1 = host.as_deref().map(|host| psl::domain_str(host.trim_end_matches('.')).unwrap_or(host).to_owned());
        with_host(|host| {
            let now = Timestamp::from_millis(page.now_ms);
            let place = Place { etld1: etld1.as_deref(), brands: &page.brands, locale: &page.locale };
            let shown: Vec<Bulletin> = host.updater.bulletins_for(&place, now).into_iter().cloned().collect();
            for bulletin in &shown {
                host.updater.bulletin_shown(&bulletin.id, now);
            }
            serde_json::to_string(&shown).expect("bulletins serialise")
        })
    })
}

fn step_json(host: &mut Host, step: Step) -> String {
    let value = match step {
        Step::Fetch(request) => json!({ "fetch": {
            "url": request.url,
            "name": request.name,
            "limit": request.limit,
            "etag": request.etag,
            "mirror": request.mirror,
            "not_before_ms": request.not_before.as_millis(),
        }}),
        Step::ReadBase(names) => json!({ "read_base": names }),
        Step::Install(staged) => {
            let value = json!({ "install": {
                "pack_version": staged.pack.pack_version,
                "version": staged.pack.version,
                "fetched": staged.fetched.keys().collect::<Vec<_>>(),
                "kept": staged.kept,
                "patched": staged.pack.patched,
                "base_files": staged.base_files,
            }});
            host.staged = Some(staged);
            value
        }
        Step::Done(outcome) => json!({ "done": outcome }),
    };
    value.to_string()
}
