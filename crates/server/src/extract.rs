//! Extractors whose every rejection is a JSON 4xx: the request body as JSON (content type,
//! size, syntax, shape) and the client's address.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};
use crate::settings::Limits;
use crate::state::AppState;

/// A JSON request body of at most `limits.max_body_bytes`.
///
/// - no `Content-Type: application/json` (or `…+json`): 415 `unsupported_media_type`;
/// - larger than the limit (by `Content-Length` or once read): 413 `payload_too_large`;
/// - not JSON: 400 `invalid_json`; JSON of the wrong shape (missing or unknown field,
///   wrong type): 422 `invalid_body`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let bytes = read_json_bytes(req, &state.settings.limits).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Checks the content type and the size, and reads the body within
/// `limits.body_timeout_ms` (408 `request_timeout` beyond: a client trickling its body
/// holds a connection no longer than that).
pub async fn read_json_bytes(req: Request, limits: &Limits) -> Result<bytes::Bytes, ApiError> {
    let limit = limits.max_body_bytes;
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false);
    if !is_json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with Content-Type: application/json",
        ));
    }
    let too_large = || ApiError::new(ErrorCode::PayloadTooLarge, format!("the body is over {limit} bytes"));
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let body: Body = req.into_body();
    let timeout = std::time::Duration::from_millis(limits.body_timeout_ms.max(1));
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(read) => read.map_err(|err| {
            // A length-limit error is the only one a client can cause on purpose; any other
            // (an aborted upload) is answered the same way rather than as a 5xx.
            let _ = err;
            too_large()
        }),
        Err(_) => Err(ApiError::new(
            ErrorCode::RequestTimeout,
            format!("the body did not arrive within {} ms", timeout.as_millis()),
        )),
    }
}

/// Marks a refusal whose request body was read to its end (the connection stays usable).
#[derive(Debug, Clone, Copy)]
pub struct BodyDrained;

/// Reads and drops the body of a request refused on its headers, when it declares a length
/// within `limits.max_body_bytes` and arrives within 250 ms (a body sent with its headers
/// is already here). True when the body was read to its end.
pub async fn drain_small_body(req: Request, limits: &Limits) -> bool {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(0) => true,
        Some(n) if n <= limits.max_body_bytes as u64 && !req.headers().contains_key(header::TRANSFER_ENCODING) => {
            let read = axum::body::to_bytes(req.into_body(), limits.max_body_bytes);
            matches!(tokio::time::timeout(std::time::Duration::from_millis(250), read).await, Ok(Ok(_)))
        }
        _ => false,
    }
}

/// Parses JSON, telling a syntax error (400) from a shape error (422, naming the field).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    if value.is_ok() {
        deserializer
            .end()
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {e}")))?;
    }
    value.map_err(|err| {
        use serde_json::error::Category;
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            Category::Data if path == "." => ApiError::new(ErrorCode::InvalidBody, inner.to_string()),
            Category::Data => ApiError::new(ErrorCode::InvalidBody, format!("{path}: {inner}")),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {inner}"))
            }
        }
    })
}

/// An `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

/// The client's address: the peer's, or with `trust_forwarded_for` the last entry of
/// `X-Forwarded-For` (the one the trusted proxy appended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        if state.settings.trust_forwarded_for {
            // Exactly the last entry, the one the trusted proxy appended: skipping an entry
            // that does not parse would hand the choice to the client's own entries.
            let last = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .map(str::trim);
            if let Some(entry) = last {
                return parse_forwarded(entry).map(ClientIp).ok_or_else(|| {
                    ApiError::new(ErrorCode::InvalidForwardedFor, "the last X-Forwarded-For entry is not an address")
                });
            }
        }
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientIp(peer.unwrap_or(IpAddr::from([127, 0, 0, 1]))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_entries_parse_with_or_without_a_port() {
        assert_eq!(parse_forwarded("203.0.113.9"), Some(IpAddr::from([203, 0, 113, 9])));
        assert_eq!(parse_forwarded("203.0.113.9:5678"), Some(IpAddr::from([203, 0, 113, 9])));
        assert_eq!(parse_forwarded("[2001:db8::1]:443"), "2001:db8::1".parse().ok());
        assert_eq!(parse_forwarded("unknown"), None);
    }
}
