//! `GET`/`HEAD /v1/{name}`: origin objects with strong ETags, conditional requests and
//! cache lifetimes (see [`crate::origin`]).

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCode};
use crate::origin::{Object, OriginError};
use crate::state::AppState;

/// The suffix of a gzip representation's ETag (added by [`gzip_etag`]).
pub const GZIP_SUFFIX: &str = "-gzip";

/// Serves one origin object.
#[utoipa::path(get, path = "/v1/{name}", tag = "origin",
    params(("name" = String, Path, example = "manifest.json",
        description = "An origin object: manifest.json, timestamp.json, a content-addressed pack file, bulletins/…")),
    responses(
        (status = 200, description = "The object",
            content(
                (serde_json::Value = "application/json"),
                (String = "application/octet-stream"),
                (String = "text/plain; charset=utf-8"),
            ),
            headers(("etag" = String, description = "Strong, SHA-256 based"), ("cache-control" = String))),
        (status = 304, description = "Not modified (If-None-Match matched)"),
        (status = 404, description = "No such object (also for names that could never be one: '..', \\, …)",
            body = crate::error::ErrorBody),
    ))]
pub async fn serve(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    // A name that does not even decode (invalid UTF-8 in its escapes) is no object either,
    // and the refusal is JSON like every other.
    let Ok(Path(name)) = name else {
        return ApiError::new(ErrorCode::InvalidName, "the object name is not valid UTF-8").into_response();
    };
    match state.origin.get(&name).await {
        Ok(object) => respond(&state, &name, &object, &headers),
        // A name that could never be an object is simply not found (code `invalid_name`).
        Err(OriginError::BadName(why)) => ApiError::new(ErrorCode::InvalidName, why.to_string()).into_response(),
        // An object too large to serve is not served at all.
        Err(OriginError::NotFound | OriginError::TooLarge) => {
            ApiError::new(ErrorCode::NotFound, "no such object at the origin").into_response()
        }
        Err(OriginError::Store(detail)) => {
            tracing::error!(object = %name, error = %detail, "origin store failed");
            ApiError::new(ErrorCode::OriginUnavailable, "the origin store is not answering; retry").into_response()
        }
    }
}

fn respond(state: &AppState, name: &str, object: &Object, headers: &HeaderMap) -> Response {
    let etag = format!("\"sha256-{}\"", object.sha256);
    let cache_control = if object.immutable {
        "public, max-age=31536000, immutable".to_owned()
    } else {
        format!("public, max-age={}", state.settings.server.metadata_max_age)
    };
    let mut out = HeaderMap::new();
    out.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex is a valid header"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_str(&cache_control).expect("ascii"));
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if matches_etag(headers, &object.sha256) {
        metrics::counter!("ferretwatch_origin_responses_total", "result" => "not_modified").increment(1);
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    metrics::counter!("ferretwatch_origin_responses_total", "result" => "full").increment(1);
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
    (StatusCode::OK, out, Body::from(object.bytes.clone())).into_response()
}

/// Whether `If-None-Match` names this object (either representation, or `*`).
fn matches_etag(headers: &HeaderMap, sha256: &str) -> bool {
    headers.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |tag| {
            let tag = tag.trim();
            if tag == "*" {
                return true;
            }
            // A weak comparison is what If-None-Match uses (RFC 9110 §13.1.2).
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            let Some(inner) = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else { return false };
            let inner = inner.strip_suffix(GZIP_SUFFIX).unwrap_or(inner);
            inner.strip_prefix("sha256-") == Some(sha256)
        },
    )
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("json") => "application/json",
        Some("yar") | Some("yara") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Gives a gzip-encoded answer its own strong ETag (`"…-gzip"`): the compressed bytes
/// are a different representation from the identity ones.
pub async fn gzip_etag(mut response: Response) -> Response {
    let gzipped = response.headers().get(header::CONTENT_ENCODING).is_some_and(|v| v.as_bytes() == b"gzip");
    if gzipped {
        if let Some(tag) = response.headers().get(header::ETAG).and_then(|v| v.to_str().ok()) {
            if let Some(inner) = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                let tagged = format!("\"{inner}{GZIP_SUFFIX}\"");
                if let Ok(value) = HeaderValue::from_str(&tagged) {
                    response.headers_mut().insert(header::ETAG, value);
                }
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_accepts_either_representation_lists_and_star() {
        let sha = "ab".repeat(32);
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
            h
        };
        assert!(matches_etag(&with(&format!("\"sha256-{sha}\"")), &sha));
        assert!(matches_etag(&with(&format!("\"sha256-{sha}-gzip\"")), &sha));
        assert!(matches_etag(&with(&format!("\"x\", W/\"sha256-{sha}\"")), &sha));
        assert!(matches_etag(&with("*"), &sha));
        assert!(!matches_etag(&with("\"sha256-00\""), &sha));
        assert!(!matches_etag(&HeaderMap::new(), &sha));
    }
}
