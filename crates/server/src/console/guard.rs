//! What stands in front of every console route.
//!
//! - [`headers`]: a strict Content-Security-Policy (no script at all, styles from our own
//!   origin only, forms post to our own origin only, `frame-ancestors 'none'`), no
//!   framing, no sniffing, no referrer outside our origin, no caching.
//! - [`csrf`]: every `POST` must be a form from this console: the `Origin` header, when
//!   the browser sends one, must name this host, and the form's `csrf` field must be the
//!   token of the session cookie (or, before sign-in, of the pre-sign-in cookie).
//!   Anything else is refused with 403 before a handler runs.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::ConsoleError;
use super::session::{self, PRE_COOKIE, SESSION_COOKIE};
use crate::state::AppState;

/// The console's Content-Security-Policy.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The largest form accepted, in bytes.
const MAX_FORM: usize = 64 * 1024;

/// Adds the security headers to every console response.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // `same-origin`, not `no-referrer`: with no referrer at all, browsers send
    // `Origin: null` on form posts, and the origin check could not tell our own forms.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"));
    response
}

/// Whether the `Origin` header, if any, names the host the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.to_str().ok().and_then(|o| url::Url::parse(o).ok()).map(|u| match u.port() {
        Some(port) => format!("{}:{port}", u.host_str().unwrap_or_default()),
        None => u.host_str().unwrap_or_default().to_owned(),
    });
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// The CSRF check in front of every console `POST`.
pub async fn csrf(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    if !same_origin(request.headers()) {
        return ConsoleError::Csrf.into_response();
    }
    let is_form = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !is_form {
        return ConsoleError::BadRequest("Console forms are sent as application/x-www-form-urlencoded.".into())
            .into_response();
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_FORM).await {
        Ok(b) => b,
        Err(_) => return ConsoleError::BadRequest("The form is too large.".into()).into_response(),
    };
    let presented = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
    let expected: Vec<String> = [
        session::cookie(&parts.headers, SESSION_COOKIE)
            .as_deref()
            .and_then(session::id_hash)
            .map(|h| session::csrf_token(&state, &h)),
        session::cookie(&parts.headers, PRE_COOKIE)
            .as_deref()
            .and_then(session::id_hash)
            .map(|h| session::pre_csrf_token(&state, &h)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let valid = presented.is_some_and(|p| expected.iter().any(|e| bool::from(e.as_bytes().ct_eq(p.as_bytes()))));
    if !valid {
        metrics::counter!("ferretwatch_console_csrf_refused_total").increment(1);
        return ConsoleError::Csrf.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            m.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        m
    }

    #[test]
    fn only_our_own_origin_or_none_passes() {
        assert!(same_origin(&h(None, "127.0.0.1:8080")));
        assert!(same_origin(&h(Some("http://127.0.0.1:8080"), "127.0.0.1:8080")));
        assert!(same_origin(&h(Some("https://console.example"), "console.example")));
        assert!(!same_origin(&h(Some("https://evil.example"), "console.example")));
        assert!(!same_origin(&h(Some("null"), "console.example")));
        assert!(!same_origin(&h(Some("http://127.0.0.1:9999"), "127.0.0.1:8080")));
    }
}
