//! Verifying a pack straight from its origin or CDN over HTTP(S): a read-only origin.

use std::time::Duration;

use ferretwatch_pack_client::layout;
use ferretwatch_pack_client::trust::verify::{Source, VerifyError};
use ferretwatch_pack_client::update::{Request, Response};

/// A pack served under a base URL (`https://cdn.example/packs/`).
pub struct HttpSource {
    base: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for HttpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSource").field("base", &self.base).finish_non_exhaustive()
    }
}

impl HttpSource {
    /// A source reading `base/NAME`, each request limited to `timeout` overall.
    pub fn new(base: &str, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .user_agent(concat!("ferretwatch/", env!("CARGO_PKG_VERSION"), " (+pack verify)"))
            .build()
            .into();
        HttpSource { base: base.trim_end_matches('/').to_owned(), agent }
    }
}

impl Source for HttpSource {
    fn fetch(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, VerifyError> {
        layout::check_name(name).map_err(|e| {
            VerifyError::Malformed(format!("target path {name:?} is not a plain path in the pack: {e}"))
        })?;
        let url = format!("{}/{name}", self.base);
        let unreadable = |e: ureq::Error| VerifyError::Unreadable(format!("{url}: {e}"));
        let mut response = self.agent.get(&url).call().map_err(unreadable)?;
        match response.status().as_u16() {
            200 => {}
            404 | 410 => return Ok(None),
            status => return Err(VerifyError::Unreadable(format!("{url}: HTTP {status}"))),
        }
        let declared =
            response.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(VerifyError::Oversized { file: name.to_owned(), limit });
        }
        match response.body_mut().with_config().limit(limit.saturating_add(1)).read_to_vec() {
            Ok(bytes) if bytes.len() as u64 > limit => Err(VerifyError::Oversized { file: name.to_owned(), limit }),
            Ok(bytes) => Ok(Some(bytes)),
            Err(ureq::Error::BodyExceedsLimit(_)) => Err(VerifyError::Oversized { file: name.to_owned(), limit }),
            Err(e) => Err(unreadable(e)),
        }
    }
}

/// An HTTP agent for pack clients: statuses are answers, not errors, and every request is
/// limited to `timeout` overall.
pub fn client_agent(timeout: Duration, purpose: &str) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(format!("ferretwatch/{} (+{purpose})", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Makes one request of the updater over HTTP (`If-None-Match` when it carries a tag) and
/// turns the answer into what the updater reads: 200 with at most `limit + 1` bytes and
/// the `ETag`, 304, 404 (or 410), or a failure with its status and `Retry-After`.
pub fn fetch_update(agent: &ureq::Agent, request: &Request) -> Response {
    let failed = |status: Option<u16>, retry_after: Option<u64>| Response::Failed { status, retry_after };
    if layout::check_name(&request.name).is_err() {
        return Response::NotFound;
    }
    let mut call = agent.get(&request.url);
    if let Some(etag) = &request.etag {
        call = call.header("If-None-Match", etag);
    }
    let mut response = match call.call() {
        Ok(response) => response,
        Err(_) => return failed(None, None),
    };
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
    let etag = header("etag");
    match response.status().as_u16() {
        200 => {}
        304 => return Response::NotModified,
        404 | 410 => return Response::NotFound,
        status => return failed(Some(status), retry_after),
    }
    match response.body_mut().with_config().limit(request.limit.saturating_add(1)).read_to_vec() {
        Ok(bytes) => Response::Body { bytes, etag },
        // Over the limit: hand back limit + 1 bytes, which the updater refuses as oversized.
        Err(ureq::Error::BodyExceedsLimit(_)) => {
            Response::Body { bytes: vec![0; request.limit.saturating_add(1) as usize], etag }
        }
        Err(_) => failed(None, None),
    }
}
