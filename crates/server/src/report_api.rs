//! `POST /v1/report`, `POST /v1/false-positive` and `POST /v1/install`
//! (`docs/formats/report-api.md`).
//!
//! The order of checks puts the cheap refusals first, so a flood costs as little as
//! possible: the IP's buckets, the install token (MAC, expiry) and its buckets, then the
//! body (type, size, JSON, fields), then a CAPTCHA when the IP looks abusive, and only
//! then the database. A 201 is sent after the store has committed the report.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferretwatch_store::{
    ClientNet, ExtensionVersion, Finding, Findings, InstallTokenId, NewReport, ReportKind, ReportReason, ReportUrl,
    Score, ValidationError,
};
use ferretwatch_types::{PackVersion, Sha256, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::captcha::Verdict;
use crate::degradation::{Admission, Gate};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{parse_json, read_json_bytes, ClientIp};
use crate::install::{InstallError, HEADER};
use crate::limits::{Challenge, Limited};
use crate::report_queue::QueuedReport;
use crate::state::AppState;

/// The closed list of reasons.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Phishing login page.
    PhishingLogin,
    /// Payment fraud or scam.
    PaymentFraud,
    /// Malware or download deception.
    MalwareDownload,
    /// Brand impersonation or homograph.
    BrandImpersonation,
    /// Data exfiltration or form abuse.
    DataExfiltration,
    /// Something else: `reason_text` is required.
    Other,
}

impl ReasonCode {
    /// The store's code for this reason (the variants are declared in the order of
    /// [`ReportReason::CODES`]; a test holds the two together).
    fn code(self) -> &'static str {
        ReportReason::CODES[self as usize]
    }
}

/// One of the verdict's top findings.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingBody {
    /// The finding key (`[a-z0-9_.:-]`, 1–64 characters).
    #[schema(example = "idn_homograph_high", min_length = 1, max_length = 64, pattern = "^[a-z0-9_.:-]{1,64}$")]
    pub key: String,
    /// The evidence snippet shown to the user (at most 500 characters).
    #[schema(example = "xn--pypal-4ve.com is displayed as pаypal.com", max_length = 500)]
    #[serde(default)]
    pub evidence: String,
}

/// A report of a dangerous page (`/v1/report`) or of a page wrongly flagged
/// (`/v1/false-positive`). Nothing else is accepted: unknown fields are refused.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// The full http(s) URL of the page (never a domain pattern), at most 2048 bytes.
    #[schema(example = "https://paypa1-secure.example/signin?session=1", max_length = 2048)]
    pub url: String,
    /// Why it is reported.
    pub reason: ReasonCode,
    /// Required with `other` (1–200 characters), refused with any other reason.
    #[schema(max_length = 200)]
    #[serde(default)]
    pub reason_text: Option<String>,
    /// When the client made the report, `YYYY-MM-DDTHH:MM:SSZ` (UTC), at most a day ahead
    /// of the server's clock.
    #[schema(example = "2026-11-27T10:15:00Z", pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")]
    pub timestamp: String,
    /// The extension's version (`[0-9A-Za-z.+-]`, 1–32 characters).
    #[schema(example = "1.4.2", pattern = "^[0-9A-Za-z.+-]{1,32}$")]
    pub extension_version: String,
    /// The pack version the page was scored with: `YYYY.MM.DD.HH` or `YYYY.MM.DD.HH.N`.
    #[schema(example = "2026.11.27.01", pattern = "^[0-9]{4}\\.[0-9]{2}\\.[0-9]{2}\\.[0-9]{2}(\\.[1-9][0-9]{0,5})?$")]
    pub pack_version: String,
    /// The verdict's score, 0–100.
    #[schema(minimum = 0, maximum = 100, example = 87)]
    pub score: i64,
    /// The verdict's top findings, at most 10.
    #[schema(max_items = 10)]
    #[serde(default)]
    pub findings: Vec<FindingBody>,
    /// Hex SHA-256 of a screenshot hashed locally (never the image).
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    #[serde(default)]
    pub screenshot_hash: Option<String>,
    /// The CAPTCHA response token, when the server asked for one (403 `captcha_required`).
    #[schema(max_length = 4096)]
    #[serde(default)]
    pub captcha_token: Option<String>,
}

/// The answer to an accepted report: it is committed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportAccepted {
    /// The report's id.
    pub id: i64,
    /// SHA-256 of the normalised URL (the moderation key).
    pub url_hash: String,
    /// The URL as normalised and stored.
    pub url: String,
    /// Whether this is the first report of this URL.
    pub first_report: bool,
    /// Reports of this URL so far, this one included.
    pub report_count: i64,
}

/// The answer to a report taken at degradation level 3: it is on disk in the service's
/// queue and is stored when the level drops.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportQueued {
    /// Always `queued`.
    #[schema(example = "queued")]
    pub status: String,
    /// SHA-256 of the normalised URL (the moderation key).
    pub url_hash: String,
    /// The URL as normalised.
    pub url: String,
}

/// A new install token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InstallIssued {
    /// Send it as `X-Install-Token` with every report. It identifies nobody.
    pub install_token: String,
    /// Its expiry, seconds since the Unix epoch.
    pub expires_at: u64,
}

/// The 429 of a refused decision, counted.
pub(crate) fn rate_limited(state: &AppState, limited: Limited) -> ApiError {
    metrics::counter!("ferretwatch_rate_limited_total", "scope" => limited.scope.label()).increment(1);
    let _ = state;
    let message = match limited.scope {
        crate::limits::Scope::Url => {
            "too many reports about this URL in the last hour; it is already queued for review".to_owned()
        }
        crate::limits::Scope::UrlNetwork => "too many reports about this URL from this network in the last hour; \
                                              it is already queued for review"
            .to_owned(),
        scope => format!("too many requests from this {}; retry later", scope.label().replace('_', " ")),
    };
    ApiError::new(ErrorCode::RateLimited, message).retry_after(limited.retry_after)
}

/// Issues an install token (counts against the client IP's buckets).
#[utoipa::path(post, path = "/v1/install", tag = "reports",
    responses(
        (status = 201, description = "A new install token", body = InstallIssued),
        (status = 429, description = "Rate limited (see Retry-After)", body = crate::error::ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    ))]
pub async fn install(State(state): State<AppState>, ClientIp(ip): ClientIp) -> Result<Response, ApiError> {
    if state.degradation.admission(Gate::Install) == Admission::Shed {
        return Err(state.degradation.shed());
    }
    state.limits.check_ip(ip).await.map_err(|l| rate_limited(&state, l))?;
    let (install_token, expires_at) = state.install.issue().map_err(|e| {
        tracing::error!(error = %e, "could not issue an install token");
        ApiError::new(ErrorCode::Unavailable, "could not issue a token; retry later")
    })?;
    metrics::counter!("ferretwatch_install_tokens_issued_total").increment(1);
    Ok((StatusCode::CREATED, Json(InstallIssued { install_token, expires_at })).into_response())
}

/// What the two report routes answer, documented once for both.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum ReportResponses {
    #[response(status = 201, description = "Committed")]
    Committed(ReportAccepted),
    #[response(status = 202, description = "Queued on disk at degradation level 3; stored when the level drops")]
    Queued(ReportQueued),
    #[response(status = 400, description = "Not JSON")]
    NotJson(crate::error::ErrorBody),
    #[response(status = 401, description = "Install token missing, invalid or expired")]
    Unauthorized(crate::error::ErrorBody),
    #[response(status = 403, description = "CAPTCHA required or failed")]
    Captcha(crate::error::ErrorBody),
    #[response(status = 410, description = "The URL was deleted on request and is not stored again")]
    Gone(crate::error::ErrorBody),
    #[response(status = 413, description = "Body over the limit (10 KB)")]
    TooLarge(crate::error::ErrorBody),
    #[response(status = 415, description = "Not application/json")]
    NotJsonType(crate::error::ErrorBody),
    #[response(status = 422, description = "A field is refused")]
    Refused(crate::error::ErrorBody),
    #[response(status = 429, description = "Rate limited (see Retry-After)",
        headers(("retry-after" = u64, description = "Seconds to wait")))]
    RateLimited(crate::error::ErrorBody),
    #[response(status = 503, description = "Storage or CAPTCHA verifier unavailable, or shed at degradation level 4; retry",
        headers(("retry-after" = u64, description = "Seconds to wait")))]
    Unavailable(crate::error::ErrorBody),
}

/// Reports a dangerous page.
#[utoipa::path(post, path = "/v1/report", tag = "reports", request_body = ReportRequest,
    params(("x-install-token" = String, Header, description = "The install token from POST /v1/install")),
    responses(ReportResponses))]
pub async fn report(state: State<AppState>, ip: ClientIp, req: Request) -> Response {
    submit(state, ip, req, ReportKind::Report).await
}

/// Reports a page wrongly flagged as dangerous.
#[utoipa::path(post, path = "/v1/false-positive", tag = "reports", request_body = ReportRequest,
    params(("x-install-token" = String, Header, description = "The install token from POST /v1/install")),
    responses(ReportResponses))]
pub async fn false_positive(state: State<AppState>, ip: ClientIp, req: Request) -> Response {
    submit(state, ip, req, ReportKind::FalsePositive).await
}

async fn submit(State(state): State<AppState>, ClientIp(ip): ClientIp, req: Request, kind: ReportKind) -> Response {
    let admission = state.degradation.admission(Gate::Report);
    if admission == Admission::Shed {
        return crate::degradation::shed_response(&state, req).await;
    }
    let outcome = match admit(&state, ip, req.headers()).await {
        Ok((install, challenge)) => accept(&state, ip, req, kind, install, challenge, admission).await,
        Err(err) => {
            // Refused on its headers: the body is read and dropped when it is small and
            // already here, so that the connection can carry the client's next request;
            // otherwise the answer says Connection: close (router::close_unread).
            let drained = crate::extract::drain_small_body(req, &state.settings.limits).await;
            metrics::counter!("ferretwatch_reports_rejected_total", "kind" => kind.code(), "reason" => err.code())
                .increment(1);
            let mut response = err.into_response();
            if drained {
                response.extensions_mut().insert(crate::extract::BodyDrained);
            }
            return response;
        }
    };
    match outcome {
        Ok(Accepted::Committed(accepted)) => {
            metrics::counter!("ferretwatch_reports_accepted_total", "kind" => kind.code()).increment(1);
            (StatusCode::CREATED, Json(accepted)).into_response()
        }
        Ok(Accepted::Queued(queued)) => {
            metrics::counter!("ferretwatch_reports_accepted_total", "kind" => kind.code()).increment(1);
            (StatusCode::ACCEPTED, Json(queued)).into_response()
        }
        Err(err) => {
            metrics::counter!("ferretwatch_reports_rejected_total", "kind" => kind.code(), "reason" => err.code())
                .increment(1);
            err.into_response()
        }
    }
}

/// The checks on the headers alone: the install token, then the limits of the address and
/// the token together (or of the address alone, for a request without a valid token).
async fn admit(
    state: &AppState,
    ip: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
) -> Result<(crate::install::VerifiedInstall, Challenge), ApiError> {
    // The token first (an HMAC: no state, no I/O), so that a report is charged to the
    // address and the token in one decision. A request without a valid token is charged
    // to the address alone: a flood of bad tokens meets the address's limit like any other.
    let verified = verify_install(state, headers);
    match verified {
        Ok(install) => {
            let challenge = state.limits.check_report(ip, &install.id).await.map_err(|l| rate_limited(state, l))?;
            Ok((install, challenge))
        }
        Err(refused) => {
            state.limits.check_ip(ip).await.map_err(|l| rate_limited(state, l))?;
            Err(refused)
        }
    }
}

/// The install token of a request, verified (an HMAC: no state, no I/O).
pub fn verify_install(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<crate::install::VerifiedInstall, ApiError> {
    match headers.get(HEADER) {
        None => Err(ApiError::new(
            ErrorCode::InstallTokenRequired,
            "send the install token from POST /v1/install as X-Install-Token",
        )),
        Some(value) => value
            .to_str()
            .map_err(|_| ApiError::new(ErrorCode::InstallTokenInvalid, InstallError::Malformed.to_string()))
            .and_then(|token| {
                state.install.verify(token).map_err(|e| {
                    let code = if e == InstallError::Expired {
                        ErrorCode::InstallTokenExpired
                    } else {
                        ErrorCode::InstallTokenInvalid
                    };
                    ApiError::new(code, e.to_string())
                })
            }),
    }
}

/// The body, then the CAPTCHA when the address looks abusive, then the database.
async fn accept(
    state: &AppState,
    ip: std::net::IpAddr,
    req: Request,
    kind: ReportKind,
    install: crate::install::VerifiedInstall,
    challenge: Challenge,
    admission: Admission,
) -> Result<Accepted, ApiError> {
    let bytes = read_json_bytes(req, &state.settings.limits).await?;
    let body: ReportRequest = parse_json(&bytes)?;
    let captcha_token = body.captcha_token.clone();
    let queued = (admission == Admission::Queue).then(|| QueuedReport::new(kind, body.clone(), &install.id, ip));
    let report = to_new_report(body, kind, &install.id, ip).map_err(|e| ApiError::invalid(&e))?;

    if challenge == Challenge::Required {
        if let Some(verifier) = &state.captcha {
            let token = captcha_token.filter(|t| !t.is_empty()).ok_or_else(|| {
                ApiError::new(ErrorCode::CaptchaRequired, "solve the CAPTCHA and send its token as captcha_token")
            })?;
            match verifier.verify(&token, Some(ip)).await {
                Verdict::Passed => metrics::counter!("ferretwatch_captcha_total", "result" => "passed").increment(1),
                Verdict::Failed(codes) => {
                    metrics::counter!("ferretwatch_captcha_total", "result" => "failed").increment(1);
                    return Err(ApiError::new(
                        ErrorCode::CaptchaFailed,
                        format!("the CAPTCHA was not accepted ({})", codes.join(", ")),
                    ));
                }
                Verdict::Unavailable(why) => {
                    metrics::counter!("ferretwatch_captcha_total", "result" => "unavailable").increment(1);
                    tracing::warn!(reason = %why, "CAPTCHA verifier unavailable; refusing the challenged request");
                    return Err(ApiError::new(
                        ErrorCode::CaptchaUnavailable,
                        "the CAPTCHA cannot be checked now; retry later",
                    ));
                }
            }
        }
    }

    // Reports of one kind about one URL from one client network, per hour: correlated
    // install tokens (a farm on one network) are refused here, before they can spend the
    // URL's own budget below.
    if let Some(net) = &report.client_net {
        let per_network = state.console.policies.get("reports.per_url_per_network_per_hour");
        let key = format!("{}:{}:{}", kind.code(), report.url.hash(), net.as_str());
        if let Err(wait) = state.console.by_url.check_rate(&key, per_network, std::time::Duration::from_secs(3600)) {
            return Err(rate_limited(state, Limited { scope: crate::limits::Scope::UrlNetwork, retry_after: wait }));
        }
    }
    // Reports of one kind about one URL, per hour: a coordinated campaign is refused here
    // (and flagged in the triage inbox); the URL was queued for review long before.
    let per_url = state.console.policies.get("reports.per_url_per_hour");
    let key = format!("{}:{}", kind.code(), report.url.hash());
    if let Err(wait) = state.console.by_url.check_rate(&key, per_url, std::time::Duration::from_secs(3600)) {
        return Err(rate_limited(state, Limited { scope: crate::limits::Scope::Url, retry_after: wait }));
    }
    if let Some(entry) = queued {
        state.report_queue.push(&entry).await.map_err(|error| {
            tracing::error!(%error, "could not queue a report");
            ApiError::new(ErrorCode::Unavailable, "the report could not be queued; retry later")
        })?;
        return Ok(Accepted::Queued(ReportQueued {
            status: "queued".into(),
            url_hash: report.url.hash().to_string(),
            url: report.url.as_str().to_owned(),
        }));
    }
    let receipt = state.store.append_report(&report).await.map_err(ApiError::store)?;
    Ok(Accepted::Committed(ReportAccepted {
        id: receipt.id.0,
        url_hash: receipt.url_hash.to_string(),
        url: report.url.as_str().to_owned(),
        first_report: receipt.new_url,
        report_count: receipt.report_count,
    }))
}

/// What `accept` did with a report.
enum Accepted {
    /// Committed to the store (201).
    Committed(ReportAccepted),
    /// Queued on disk at degradation level 3 (202).
    Queued(ReportQueued),
}

/// The most a client's clock may run ahead of the server's.
const MAX_CLOCK_AHEAD_SECS: u64 = ferretwatch_types::DAY;

/// Builds the store's validated report from the request (parse, don't validate: every
/// field goes through its type's constructor).
pub fn to_new_report(
    body: ReportRequest,
    kind: ReportKind,
    install_id: &str,
    ip: std::net::IpAddr,
) -> Result<NewReport, ValidationError> {
    to_new_report_at(body, kind, install_id, ip, Timestamp::now())
}

/// [`to_new_report`] for a report received at `received_at` (a queued one).
pub fn to_new_report_at(
    body: ReportRequest,
    kind: ReportKind,
    install_id: &str,
    ip: std::net::IpAddr,
    received_at: Timestamp,
) -> Result<NewReport, ValidationError> {
    let client_timestamp = Timestamp::parse(&body.timestamp)
        .map_err(|_| ValidationError::new("timestamp", "must be YYYY-MM-DDTHH:MM:SSZ (UTC)"))?;
    if client_timestamp > received_at.plus_secs(MAX_CLOCK_AHEAD_SECS) {
        return Err(ValidationError::new("timestamp", "is more than a day in the future"));
    }
    let findings = body
        .findings
        .iter()
        .map(|f| Finding::new(&f.key, &f.evidence))
        .collect::<Result<Vec<_>, _>>()
        .and_then(Findings::new)?;
    let screenshot_hash = body
        .screenshot_hash
        .as_deref()
        .map(|h| Sha256::from_hex(h).map_err(|_| ValidationError::new("screenshot_hash", "must be 64 hex digits")))
        .transpose()?;
    Ok(NewReport {
        kind,
        url: ReportUrl::parse(&body.url)?,
        reason: ReportReason::parse(body.reason.code(), body.reason_text.as_deref())?,
        received_at,
        client_timestamp,
        extension_version: ExtensionVersion::parse(&body.extension_version)?,
        pack_version: PackVersion::parse(&body.pack_version).map_err(|_| {
            ValidationError::new("pack_version", "must be YYYY.MM.DD.HH or YYYY.MM.DD.HH.N (a real UTC date and hour)")
        })?,
        score: Score::new(body.score)?,
        findings,
        screenshot_hash,
        install_token_id: Some(InstallTokenId::parse(install_id)?),
        client_net: Some(ClientNet::from_ip(ip)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_spelled_as_the_store_spells_them() {
        let all = [
            ReasonCode::PhishingLogin,
            ReasonCode::PaymentFraud,
            ReasonCode::MalwareDownload,
            ReasonCode::BrandImpersonation,
            ReasonCode::DataExfiltration,
            ReasonCode::Other,
        ];
        assert_eq!(all.len(), ReportReason::CODES.len());
        for reason in all {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.code(), "{reason:?}");
        }
    }
}
