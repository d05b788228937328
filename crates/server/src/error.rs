//! The one error type handlers return, and its one mapping to a response: a status and a
//! JSON body `{"error": {"code", "message"}}`. Internal causes are logged (with the
//! request's id, from the span) and never sent to the client.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferretwatch_store::{ErrorKind, StoreError, ValidationError};
use serde::Serialize;
use utoipa::ToSchema;

/// The JSON body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// A stable code and a message a client developer can act on.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`invalid_json`, `rate_limited`, `payload_too_large`, …).
    pub code: String,
    /// Human-readable explanation; never contains internals.
    pub message: String,
}

/// Every error code the API answers with. Each has one HTTP status ([`ErrorCode::status`])
/// and one spelling ([`ErrorCode::as_str`]); `docs/formats/report-api.md` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 400: the body is not JSON.
    InvalidJson,
    /// 400: the last `X-Forwarded-For` entry is not an address.
    InvalidForwardedFor,
    /// 400: `POST /health` with another check.
    UnknownCheck,
    /// 401: no install token.
    InstallTokenRequired,
    /// 401: the install token is malformed or its MAC does not match.
    InstallTokenInvalid,
    /// 401: the install token has expired.
    InstallTokenExpired,
    /// 401: no admin token.
    Unauthenticated,
    /// 401: the admin token is unknown or revoked.
    InvalidToken,
    /// 403: the admin token's role may not do this.
    Forbidden,
    /// 403: a CAPTCHA must be solved first.
    CaptchaRequired,
    /// 403: the CAPTCHA was not accepted.
    CaptchaFailed,
    /// 404: no such resource or origin object.
    NotFound,
    /// 404: a name that could never be an origin object.
    InvalidName,
    /// 405: the route does not take that method.
    MethodNotAllowed,
    /// 409: the request conflicts with what is stored.
    Conflict,
    /// 410: the URL was deleted on request and is not accepted again.
    Gone,
    /// 413: the body is over the limit.
    PayloadTooLarge,
    /// The body did not arrive within `limits.body_timeout_ms`.
    RequestTimeout,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 422: JSON whose shape is wrong (a missing, unknown or mistyped field).
    InvalidBody,
    /// 422: a field's value is refused.
    InvalidField,
    /// 422: the store refused the input.
    Invalid,
    /// 429: rate limited (with `Retry-After`).
    RateLimited,
    /// 500: a bug or a corrupt row (the cause is logged, never sent).
    Internal,
    /// 503: storage or another dependency is unavailable (with `Retry-After`).
    Unavailable,
    /// 503: the origin store is not answering.
    OriginUnavailable,
    /// 503: the CAPTCHA verifier is not answering.
    CaptchaUnavailable,
    /// 503: the service runs at a degradation level that sheds this request.
    Degraded,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 28] = [
        ErrorCode::InvalidJson,
        ErrorCode::InvalidForwardedFor,
        ErrorCode::UnknownCheck,
        ErrorCode::InstallTokenRequired,
        ErrorCode::InstallTokenInvalid,
        ErrorCode::InstallTokenExpired,
        ErrorCode::Unauthenticated,
        ErrorCode::InvalidToken,
        ErrorCode::Forbidden,
        ErrorCode::CaptchaRequired,
        ErrorCode::CaptchaFailed,
        ErrorCode::NotFound,
        ErrorCode::InvalidName,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::Gone,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RequestTimeout,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::InvalidBody,
        ErrorCode::InvalidField,
        ErrorCode::Invalid,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
        ErrorCode::OriginUnavailable,
        ErrorCode::CaptchaUnavailable,
        ErrorCode::Degraded,
    ];

    /// The stable spelling in JSON bodies, logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidForwardedFor => "invalid_forwarded_for",
            ErrorCode::UnknownCheck => "unknown_check",
            ErrorCode::InstallTokenRequired => "install_token_required",
            ErrorCode::InstallTokenInvalid => "install_token_invalid",
            ErrorCode::InstallTokenExpired => "install_token_expired",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::CaptchaRequired => "captcha_required",
            ErrorCode::CaptchaFailed => "captcha_failed",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidName => "invalid_name",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Gone => "gone",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::Invalid => "invalid",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::OriginUnavailable => "origin_unavailable",
            ErrorCode::CaptchaUnavailable => "captcha_unavailable",
            ErrorCode::Degraded => "degraded",
        }
    }

    /// The HTTP status it is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidJson | ErrorCode::InvalidForwardedFor | ErrorCode::UnknownCheck => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::InstallTokenRequired
            | ErrorCode::InstallTokenInvalid
            | ErrorCode::InstallTokenExpired
            | ErrorCode::Unauthenticated
            | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::CaptchaRequired | ErrorCode::CaptchaFailed => StatusCode::FORBIDDEN,
            ErrorCode::NotFound | ErrorCode::InvalidName => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::Gone => StatusCode::GONE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidBody | ErrorCode::InvalidField | ErrorCode::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unavailable
            | ErrorCode::OriginUnavailable
            | ErrorCode::CaptchaUnavailable
            | ErrorCode::Degraded => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code of a store failure's category.
    pub fn of_store(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Invalid => ErrorCode::Invalid,
            ErrorKind::NotFound => ErrorCode::NotFound,
            ErrorKind::Conflict => ErrorCode::Conflict,
            ErrorKind::Gone => ErrorCode::Gone,
            ErrorKind::Unavailable => ErrorCode::Unavailable,
            ErrorKind::Internal => ErrorCode::Internal,
        }
    }
}

/// An error answer: a code (which fixes the status), a message for the client developer,
/// and for 429 and 503 a `Retry-After`.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    retry_after: Option<Duration>,
}

/// How long a client waits after a 503 before retrying.
const UNAVAILABLE_RETRY: Duration = Duration::from_secs(5);

impl ApiError {
    /// An error with this code and message (a 503 carries `Retry-After: 5`).
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let retry_after = (code.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(UNAVAILABLE_RETRY);
        ApiError { code, message: message.into(), retry_after }
    }

    /// Sets `Retry-After` (whole seconds, rounded up, at least 1).
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// 422: well-formed JSON whose content is refused.
    pub fn invalid(err: &ValidationError) -> Self {
        Self::new(ErrorCode::InvalidField, err.to_string())
    }

    /// A store failure: logged with its cause chain when it is the server's, answered by
    /// category.
    pub fn store(err: StoreError) -> Self {
        let code = ErrorCode::of_store(err.kind());
        if code.status().is_server_error() {
            tracing::error!(error = %chain(&err), kind = err.kind().code(), "store failed");
        }
        Self::new(code, err.to_string())
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The code.
    pub fn code(&self) -> &'static str {
        self.code.as_str()
    }
}

/// An error and its sources, for logs.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = ErrorBody { error: ErrorDetail { code: self.code.as_str().to_owned(), message: self.message } };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Answers a request no route matches.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such resource")
}

/// Answers a known route called with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this resource does not accept that method")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_spelling_and_a_client_or_server_status() {
        let mut spellings: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        spellings.sort_unstable();
        spellings.dedup();
        assert_eq!(spellings.len(), ErrorCode::ALL.len());
        for code in ErrorCode::ALL {
            let status = code.status();
            assert!(status.is_client_error() || status.is_server_error(), "{code:?}");
            let response = ApiError::new(code, "m").into_response();
            assert_eq!(response.status(), status);
            assert_eq!(response.headers().contains_key(header::RETRY_AFTER), status == StatusCode::SERVICE_UNAVAILABLE);
        }
        for kind in [
            ErrorKind::Invalid,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::Gone,
            ErrorKind::Unavailable,
            ErrorKind::Internal,
        ] {
            assert_eq!(ErrorCode::of_store(kind).as_str(), kind.code(), "the store's codes keep their spelling");
        }
    }
}
