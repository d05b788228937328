//! The detection engine for WebAssembly hosts, behind a small C ABI of JSON in and JSON
//! out (`docs/wasm.md`). The host (a browser extension's service worker, or Node in the
//! tests) copies a request into memory it got from [`fw_alloc`], calls a function, reads
//! the answer from the pointer and length it returns, and gives both back with
//! [`fw_free`]. Nothing here reads a clock, a file or the network.
//!
//! - [`fw_load_rules`]: replaces the engine's rules with a `rules.json` (the built-in
//!   rules until then; the built-in YARA rules stay).
//! - [`fw_load_pack`]: replaces the engine with one built from an installed pack's files
//!   (its rules, its unexpired filters, the built-in YARA rules and its own).
//! - [`fw_scan`]: scans `{"url": …, "html": …, "resources": […]}` and answers the verdict
//!   exactly as `ferretwatch scan --format json` prints it, or
//!   `{"ok": false, "error": {"code", "message"}}`.
//!
//! YARA runs without a time limit of its own: the target has no clock. The host runs the
//! module in a worker, terminates it at the limit, and asks again with `"yara": false`
//! (`crates/wasm/js/limited.mjs`).
//!
//! The pointer-and-length handling is the only unsafe code, in [`take`] and [`give`].

use std::cell::RefCell;

pub mod updater;

use ferretwatch_detect::{Engine, Page, Resource, Rules, ScanOptions, DEFAULT_YARA};
use ferretwatch_pack_client::load;
use ferretwatch_types::Coded;
use serde::Deserialize;

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// A scan request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    url: String,
    #[serde(default)]
    html: Option<String>,
    #[serde(default)]
    resources: Vec<Resource>,
    /// Domains the user trusts.
    #[serde(default)]
    allow: Vec<String>,
    /// Run YARA (the default). The host asks again with `false` after it terminated a
    /// scan at its time limit; the verdict then says `partial`.
    #[serde(default = "yes")]
    yara: bool,
}

fn yes() -> bool {
    true
}

/// The built-in rules and the built-in YARA rules, the latter timed by the host.
fn builtin() -> Engine {
    Engine::new(Rules::builtin())
        .and_then(|engine| engine.with_yara_limited_by_host([("builtin.yar", DEFAULT_YARA)]))
        .expect("the built-in rules are valid")
}

/// Scans one request (JSON) with the engine; the verdict or an error, as JSON.
pub fn scan_json(request: &[u8]) -> String {
    let request: Request = match serde_json::from_slice(request) {
        Ok(request) => request,
        Err(e) => return error("bad_request", &e.to_string()),
    };
    let page =
        Page { url: &request.url, html: request.html.as_deref(), resources: &request.resources, ..Page::default() };
    let options = ScanOptions { user_allowlist: request.allow, skip_yara: !request.yara, ..ScanOptions::default() };
    ENGINE.with(|engine| {
        let mut engine = engine.borrow_mut();
        let engine = engine.get_or_insert_with(builtin);
        match engine.scan(&page, &options) {
            Ok(verdict) => serde_json::to_string(&verdict).expect("a verdict serialises"),
            Err(e) => error(e.code(), &e.to_string()),
        }
    })
}

/// Loads a `rules.json`; `{"ok": true}` or the error.
pub fn load_rules_json(rules: &[u8]) -> String {
    let text = match std::str::from_utf8(rules) {
        Ok(text) => text,
        Err(_) => return error("bad_rules", "rules.json is not UTF-8"),
    };
    let engine = Rules::from_json(text)
        .and_then(Engine::new)
        .and_then(|engine| engine.with_yara_limited_by_host([("builtin.yar", DEFAULT_YARA)]));
    match engine {
        Ok(new) => {
            ENGINE.with(|engine| *engine.borrow_mut() = Some(new));
            r#"{"ok":true}"#.to_owned()
        }
        Err(e) => error("bad_rules", &e.to_string()),
    }
}

/// Replaces the engine's YARA rules with `[{"name": …, "source": …}]` (a pack's YARA
/// files, with the built-in ones when the host includes them); `{"ok": true}` or the error.
pub fn load_yara_json(sources: &[u8]) -> String {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Source {
        name: String,
        source: String,
    }
    let sources: Vec<Source> = match serde_json::from_slice(sources) {
        Ok(sources) => sources,
        Err(e) => return error("bad_request", &e.to_string()),
    };
    ENGINE.with(|engine| {
        let mut engine = engine.borrow_mut();
        let current = engine.take().unwrap_or_else(builtin);
        let rules = current.rules().clone();
        let compiled = Engine::new(rules)
            .and_then(|e| e.with_yara_limited_by_host(sources.iter().map(|s| (s.name.as_str(), s.source.as_str()))));
        match compiled {
            Ok(new) => {
                *engine = Some(new);
                r#"{"ok":true}"#.to_owned()
            }
            Err(e) => {
                *engine = Some(current);
                error("bad_rules", &e.to_string())
            }
        }
    })
}

/// Which files [`load_pack`] gets, and in what order their bytes follow one another.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFiles {
    now_ms: i64,
    files: Vec<PackFile>,
    /// Filters made by applying a delta, with the sha256 the signed delta pinned.
    #[serde(default)]
    patched: std::collections::BTreeMap<String, String>,
}

/// One file of a request whose files follow it as bytes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackFile {
    pub(crate) name: String,
    pub(crate) size: usize,
}

/// Replaces the engine with one built from an installed pack: `meta` names the files and
/// their sizes, `body` is their bytes one after another. The pack's manifest hashes are
/// checked again ([`ferretwatch_pack_client::load`]); YARA is bounded by the host.
/// `{"ok": true, "pack_version", "expired_filters"}` or the error; on an error the engine
/// in use stays.
pub fn load_pack(meta: &[u8], body: &[u8]) -> String {
    let meta: PackFiles = match serde_json::from_slice(meta) {
        Ok(meta) => meta,
        Err(e) => return error("bad_request", &e.to_string()),
    };
    let files = match split_files(&meta.files, body) {
        Ok(files) => files,
        Err(answer) => return answer,
    };
    let now = ferretwatch_types::Timestamp::from_millis(meta.now_ms);
    match load::load_patched(&files, &meta.patched, now, load::YaraLimit::Host, true) {
        Ok(loaded) => {
            let answer = serde_json::json!({
                "ok": true,
                "pack_version": loaded.manifest.version,
                "expired_filters": loaded.expired_filters,
            });
            ENGINE.with(|engine| *engine.borrow_mut() = Some(loaded.engine));
            answer.to_string()
        }
        Err(e) => error(e.code(), &e.to_string()),
    }
}

/// Cuts `body` into the files `listed` names, in order; every byte must belong to one.
pub(crate) fn split_files(
    listed: &[PackFile],
    body: &[u8],
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, String> {
    let mut files = std::collections::BTreeMap::new();
    let mut rest = body;
    for file in listed {
        if file.size > rest.len() {
            return Err(error(
                "bad_request",
                &format!("{}: {} bytes listed, {} left", file.name, file.size, rest.len()),
            ));
        }
        let (bytes, after) = rest.split_at(file.size);
        files.insert(file.name.clone(), bytes.to_vec());
        rest = after;
    }
    if !rest.is_empty() {
        return Err(error("bad_request", &format!("{} bytes after the listed files", rest.len())));
    }
    Ok(files)
}

pub(crate) fn error(code: &str, message: &str) -> String {
    serde_json::json!({ "ok": false, "error": { "code": code, "message": message } }).to_string()
}

/// Memory for the host to write a request into (`len` bytes). Every buffer that crosses
/// the boundary is a boxed slice of exactly its length, so a pointer and a length are all
/// it takes to give one back.
#[no_mangle]
pub extern "C" fn fw_alloc(len: usize) -> *mut u8 {
    Box::into_raw(vec![0u8; len].into_boxed_slice()).cast::<u8>()
}

/// Gives back memory from [`fw_alloc`] or an answer (`len` as allocated or returned).
///
/// # Safety
/// `ptr` and `len` must be exactly what [`fw_alloc`] or an answer gave, once.
#[no_mangle]
pub unsafe extern "C" fn fw_free(ptr: *mut u8, len: usize) {
    // SAFETY: the caller passes back a boxed slice of `len` bytes this module made.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
}

/// Takes ownership of the host's request bytes.
///
/// # Safety
/// `ptr` must come from [`fw_alloc`]`(len)`.
unsafe fn take(ptr: *mut u8, len: usize) -> Vec<u8> {
    // SAFETY: fw_alloc made a boxed slice of exactly `len` initialised bytes.
    unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) }.into_vec()
}

/// Hands an answer to the host as `pointer << 32 | length` (wasm32 pointers are 32 bits).
fn give(answer: String) -> u64 {
    give_bytes(answer.into_bytes())
}

fn give_bytes(bytes: Vec<u8>) -> u64 {
    let len = u32::try_from(bytes.len()).expect("an answer under 4 GiB");
    let ptr = Box::into_raw(bytes.into_boxed_slice()).cast::<u8>() as usize;
    // Only a 32-bit address space (wasm32) packs both; a native build never hands answers out.
    let ptr = u32::try_from(ptr).expect("a wasm32 pointer");
    (u64::from(ptr) << 32) | u64::from(len)
}

/// The calls that take one JSON request (`ptr`, `len` from [`fw_alloc`], freed by the
/// call) and answer with JSON as `pointer << 32 | length` (free it with [`fw_free`]).
macro_rules! json_calls {
    ($($(#[doc = $doc:literal])* $name:ident => $body:expr;)*) => {$(
        $(#[doc = $doc])*
        ///
        /// # Safety
        /// `ptr` and `len` must come from [`fw_alloc`] with `len` bytes written.
        #[no_mangle]
        pub unsafe extern "C" fn $name(ptr: *mut u8, len: usize) -> u64 {
            // SAFETY: forwarded from the caller's contract.
            let request = unsafe { take(ptr, len) };
            let body: fn(&[u8]) -> String = $body;
            give(body(&request))
        }
    )*};
}

json_calls! {
    /// Scans a page ([`scan_json`]).
    fw_scan => scan_json;
    /// Replaces the rules with a `rules.json` ([`load_rules_json`]).
    fw_load_rules => load_rules_json;
    /// Replaces the YARA rules ([`load_yara_json`]).
    fw_load_yara => load_yara_json;
    /// Creates the updater ([`updater::new`]).
    fw_updater_new => updater::new;
    /// Starts a cycle ([`updater::start`]).
    fw_updater_start => updater::start;
    /// Reports the install ([`updater::installed`]).
    fw_updater_installed => updater::installed;
    /// The state to keep ([`updater::persisted`]).
    fw_updater_persisted => |_| updater::persisted();
    /// How fresh the client is ([`updater::status`]).
    fw_updater_status => updater::status;
    /// The bulletins to show on a page, recorded as shown ([`updater::bulletins`]).
    fw_updater_bulletins => updater::bulletins;
}

/// Hands an answer to the last fetch: the JSON meta (`{"now_ms", "status", "etag"?,
/// "retry_after"?}`) and the body, both from [`fw_alloc`] and freed here.
///
/// # Safety
/// Both pairs as in [`fw_scan`].
#[no_mangle]
pub unsafe extern "C" fn fw_updater_handle(meta: *mut u8, meta_len: usize, body: *mut u8, body_len: usize) -> u64 {
    // SAFETY: forwarded from the caller's contract.
    let (meta, body) = unsafe { (take(meta, meta_len), take(body, body_len)) };
    give(updater::handle(&meta, body))
}

/// Answers a `read_base` step ([`updater::base_read`]): the JSON meta
/// (`{"now_ms", "files": [{"name", "size"}]}`) and the base files' bytes.
///
/// # Safety
/// Both pairs as in [`fw_scan`].
#[no_mangle]
pub unsafe extern "C" fn fw_updater_base_read(meta: *mut u8, meta_len: usize, body: *mut u8, body_len: usize) -> u64 {
    // SAFETY: forwarded from the caller's contract.
    let (meta, body) = unsafe { (take(meta, meta_len), take(body, body_len)) };
    give(updater::base_read(&meta, &body))
}

/// Loads an installed pack ([`load_pack`]): the JSON meta and the files' bytes, both from
/// [`fw_alloc`] and freed here.
///
/// # Safety
/// Both pairs as in [`fw_scan`].
#[no_mangle]
pub unsafe extern "C" fn fw_load_pack(meta: *mut u8, meta_len: usize, body: *mut u8, body_len: usize) -> u64 {
    // SAFETY: forwarded from the caller's contract.
    let (meta, body) = unsafe { (take(meta, meta_len), take(body, body_len)) };
    give(load_pack(&meta, &body))
}

/// The bytes of a staged file (`{"name"}`), empty when there is none.
///
/// # Safety
/// As [`fw_scan`].
#[no_mangle]
pub unsafe extern "C" fn fw_updater_staged_file(ptr: *mut u8, len: usize) -> u64 {
    // SAFETY: forwarded from the caller's contract.
    let request = unsafe { take(ptr, len) };
    give_bytes(updater::staged_file(&request).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_gives_the_verdict_as_the_command_line_prints_it_and_bad_input_a_coded_error() {
        let html = r#"<form action="https://t.example/x"><input type="password"></form>"#;
        let request = serde_json::json!({ "url": "https://xn--pypal-4ve.com/signin", "html": html }).to_string();
        let verdict = scan_json(request.as_bytes());
        let engine = Engine::builtin();
        let page = Page { url: "https://xn--pypal-4ve.com/signin", html: Some(html), ..Page::default() };
        let native = engine.scan(&page, &ScanOptions::default()).unwrap();
        assert_eq!(verdict, serde_json::to_string(&native).unwrap());
        // Without YARA (the host's second try after a timeout) the verdict says partial.
        let request = serde_json::json!({ "url": "https://example.com/", "html": html, "yara": false }).to_string();
        let verdict: serde_json::Value = serde_json::from_str(&scan_json(request.as_bytes())).unwrap();
        assert_eq!(verdict["partial"], true);
        assert!(scan_json(b"{").contains(r#""code":"bad_request""#));
        assert!(scan_json(br#"{"url": "ftp://x"}"#).contains(r#""ok":false"#));
        assert!(load_rules_json(b"{}").contains("bad_rules"));
    }

    #[test]
    fn a_pack_whose_files_do_not_add_up_or_lack_a_manifest_is_refused_and_the_engine_stays() {
        let meta = |files: &str| format!(r#"{{"now_ms": 0, "files": {files}}}"#);
        let short = load_pack(meta(r#"[{"name": "rules.json", "size": 10}]"#).as_bytes(), b"12345");
        assert!(short.contains("bad_request") && short.contains("10 bytes listed, 5 left"), "{short}");
        let long = load_pack(meta(r#"[{"name": "rules.json", "size": 2}]"#).as_bytes(), b"12345");
        assert!(long.contains("3 bytes after the listed files"), "{long}");
        let unmanifested = load_pack(meta(r#"[{"name": "rules.json", "size": 2}]"#).as_bytes(), b"{}");
        assert!(unmanifested.contains(r#""ok":false"#) && unmanifested.contains("manifest"), "{unmanifested}");
        assert!(load_pack(b"{", b"").contains("bad_request"));
        // The engine in use still scans.
        let verdict = scan_json(br#"{"url": "https://example.com/"}"#);
        assert!(verdict.contains(r#""level":"green""#), "{verdict}");
    }
}
