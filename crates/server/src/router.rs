//! Every route of the service, in one place.

use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use axum::{middleware, Router};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::console::{guard, login, pages, reproduce, rules, sso, triage};
use crate::state::AppState;
use crate::{client_telemetry, error, health, incidents, openapi, origin_http, report_api, telemetry};

/// Every console route: method, path, and what it needs (`None`: no session, or any
/// signed-in account as the handler says). The route × role test walks this table.
pub const CONSOLE_ROUTES: &[(&str, &str, ConsoleAccess)] = &[
    ("GET", "/admin/static/console.css", ConsoleAccess::Public),
    ("GET", "/admin/login", ConsoleAccess::Public),
    ("POST", "/admin/login", ConsoleAccess::Public),
    ("GET", "/admin/login/totp", ConsoleAccess::Public),
    ("POST", "/admin/login/totp", ConsoleAccess::Public),
    ("GET", "/admin/login/oidc", ConsoleAccess::Public),
    ("GET", "/admin/login/oidc/callback", ConsoleAccess::Public),
    ("GET", "/admin/enrol", ConsoleAccess::Public),
    ("POST", "/admin/enrol", ConsoleAccess::Public),
    ("POST", "/admin/logout", ConsoleAccess::Public),
    ("POST", "/admin/logout/everywhere", ConsoleAccess::SignedIn),
    ("GET", "/admin/account", ConsoleAccess::SignedIn),
    ("POST", "/admin/account/elevate", ConsoleAccess::SignedIn),
    ("POST", "/admin/account/elevation/end", ConsoleAccess::SignedIn),
    ("GET", "/admin", ConsoleAccess::Needs(Permission::ViewDashboard)),
    ("GET", "/admin/reports", ConsoleAccess::Needs(Permission::TriageReports)),
    ("POST", "/admin/reports/decide", ConsoleAccess::Needs(Permission::TriageReports)),
    ("GET", "/admin/reports/{hash}", ConsoleAccess::Needs(Permission::TriageReports)),
    ("POST", "/admin/reports/{hash}/decide", ConsoleAccess::Needs(Permission::TriageReports)),
    ("GET", "/admin/rules", ConsoleAccess::Needs(Permission::ViewRules)),
    ("POST", "/admin/rules", ConsoleAccess::Needs(Permission::ProposeRules)),
    ("POST", "/admin/rules/rollback", ConsoleAccess::Needs(Permission::PublishRules)),
    ("GET", "/admin/rules/{id}", ConsoleAccess::Needs(Permission::ViewRules)),
    ("GET", "/admin/rules/{id}/request.json", ConsoleAccess::Needs(Permission::ViewRules)),
    ("POST", "/admin/rules/{id}/sign", ConsoleAccess::Needs(Permission::PublishRules)),
    ("POST", "/admin/rules/{id}/reject", ConsoleAccess::Needs(Permission::PublishRules)),
    ("GET", "/admin/bulletins", ConsoleAccess::Needs(Permission::ViewRules)),
    ("POST", "/admin/bulletins", ConsoleAccess::Needs(Permission::ProposeRules)),
    ("POST", "/admin/reports/{hash}/reproduce", ConsoleAccess::Needs(Permission::TriageReports)),
    ("GET", "/admin/reproductions/{id}", ConsoleAccess::Needs(Permission::TriageReports)),
    ("GET", "/admin/reproductions/{id}/screenshot.png", ConsoleAccess::Needs(Permission::TriageReports)),
    ("GET", "/admin/accounts", ConsoleAccess::Needs(Permission::ManageAccounts)),
    ("POST", "/admin/accounts/invite", ConsoleAccess::Needs(Permission::ManageAccounts)),
    ("POST", "/admin/accounts/{id}/role", ConsoleAccess::Needs(Permission::ManageAccounts)),
    ("POST", "/admin/accounts/{id}/{action}", ConsoleAccess::Needs(Permission::ManageAccounts)),
    ("POST", "/admin/accounts/{id}/sessions/end", ConsoleAccess::Needs(Permission::ManageAccounts)),
    ("GET", "/admin/settings", ConsoleAccess::Needs(Permission::ManageSettings)),
    ("POST", "/admin/settings", ConsoleAccess::Needs(Permission::ManageSettings)),
    ("GET", "/admin/audit", ConsoleAccess::Needs(Permission::ViewAudit)),
    ("GET", "/admin/access", ConsoleAccess::Needs(Permission::ViewAudit)),
    ("GET", "/admin/audit/export.jsonl", ConsoleAccess::Needs(Permission::ExportAudit)),
];

/// Who may use a console route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleAccess {
    /// Anyone (sign-in, enrolment, the style sheet).
    Public,
    /// Any signed-in account.
    SignedIn,
    /// A signed-in account whose role in force has the permission.
    Needs(Permission),
}

use crate::console::permissions::Permission;

/// The console's routes, behind its security headers and CSRF check.
fn console(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/admin/static/console.css", get(pages::stylesheet))
        .route("/admin/login", get(login::login_page).post(login::login))
        .route("/admin/login/totp", get(login::totp_page).post(login::totp))
        .route("/admin/login/oidc", get(sso::start))
        .route("/admin/login/oidc/callback", get(sso::callback))
        .route("/admin/enrol", get(login::enrol_page).post(login::enrol))
        .route("/admin/logout", post(login::logout))
        .route("/admin/logout/everywhere", post(login::logout_everywhere))
        .route("/admin/account", get(pages::account))
        .route("/admin/account/elevate", post(pages::elevate))
        .route("/admin/account/elevation/end", post(pages::end_elevation))
        .route("/admin", get(pages::dashboard))
        .route("/admin/reports", get(triage::inbox))
        .route("/admin/reports/decide", post(triage::decide_many))
        .route("/admin/reports/{hash}", get(triage::detail))
        .route("/admin/reports/{hash}/decide", post(triage::decide))
        .route("/admin/rules", get(rules::rules).post(rules::propose))
        .route("/admin/rules/rollback", post(rules::propose_rollback))
        .route("/admin/rules/{id}", get(rules::detail))
        .route("/admin/rules/{id}/request.json", get(rules::request))
        .route("/admin/rules/{id}/sign", post(rules::sign))
        .route("/admin/rules/{id}/reject", post(rules::reject))
        .route("/admin/bulletins", get(rules::bulletins).post(rules::propose))
        .route("/admin/reports/{hash}/reproduce", post(reproduce::run))
        .route("/admin/reproductions/{id}", get(reproduce::page))
        .route("/admin/reproductions/{id}/screenshot.png", get(reproduce::screenshot))
        .route("/admin/accounts", get(pages::accounts))
        .route("/admin/accounts/invite", post(pages::invite))
        .route("/admin/accounts/{id}/role", post(pages::set_role))
        .route("/admin/accounts/{id}/{action}", post(pages::set_disabled))
        .route("/admin/accounts/{id}/sessions/end", post(pages::end_sessions))
        .route("/admin/settings", get(pages::settings).post(pages::save_settings))
        .route("/admin/audit", get(pages::audit))
        .route("/admin/access", get(pages::access))
        .route("/admin/audit/export.jsonl", get(pages::export))
        .layer(middleware::from_fn_with_state(state, guard::csrf))
        .layer(middleware::from_fn(guard::headers))
}

/// The request-id header, set when the client sent none and echoed in every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The API and origin listener's routes.
pub fn api(state: AppState) -> Router {
    let router = Router::new()
        .route("/health", get(health::live).post(health::check))
        .route("/ready", get(health::ready))
        .route("/api/health", get(health::admin))
        .route("/api/alerts", post(incidents::receive))
        .route("/status", get(incidents::status_html))
        .route("/status.json", get(incidents::status_json))
        .route("/openapi.json", get(openapi::serve))
        .route("/v1/install", post(report_api::install))
        .route("/v1/report", post(report_api::report))
        .route("/v1/false-positive", post(report_api::false_positive))
        .route("/v1/deletion-request", post(crate::lifecycle::deletion_request))
        .route("/v1/telemetry", post(client_telemetry::receive))
        .route("/v1/{*name}", get(origin_http::serve))
        .merge(console(state.clone()))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        // Innermost first: compression, then the gzip representation's own ETag, then
        // metrics, the request id in the response, the request span, and outermost the
        // request id itself so that everything inside sees it.
        .layer(CompressionLayer::new().gzip(true))
        .layer(middleware::map_response(origin_http::gzip_etag))
        .layer(middleware::from_fn(telemetry::track))
        .layer(middleware::from_fn(close_unread))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                // The span names the method, path and request id only: never headers or
                // the query, which may carry tokens.
                .make_span_with(|req: &Request<_>| {
                    let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                .on_request(())
                // One line per response, except rate-limit refusals: counted, and
                // summarised every few seconds (a flood must not flood the log).
                .on_response(|res: &axum::response::Response, latency: std::time::Duration, _: &tracing::Span| {
                    telemetry::log_response(res.status(), latency)
                }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    // Outermost, so that every answer carries them, refusals included.
    let router = router.layer(middleware::map_response(baseline_headers));
    let router = if state.settings.tls.enabled() { router.layer(middleware::map_response(hsts)) } else { router };
    router.with_state(state)
}

/// What every answer says, whatever answered: its type is the one declared
/// (`X-Content-Type-Options: nosniff`), and no page of the service leaks its address to
/// another site (`Referrer-Policy: no-referrer`). The console's own headers (CSP,
/// framing) are set by its guard; a header already set is kept.
async fn baseline_headers(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let headers = response.headers_mut();
    headers.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    headers.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("no-referrer"));
    response
}

/// `Strict-Transport-Security` for two years, when this listener speaks TLS (over plain
/// HTTP a browser ignores it; behind a proxy that terminates TLS, the proxy sends it).
async fn hsts(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static("max-age=63072000"),
    );
    response
}

/// A refusal of a request that carries a body says `Connection: close`, unless the handler
/// read the body to its end ([`crate::extract::BodyDrained`]): an unread body means the
/// connection cannot carry another request (hyper closes it), and a client reusing it
/// must know.
async fn close_unread(req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    use axum::http::header;
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() != "0");
    let mut response = next.run(req).await;
    let status = response.status();
    let drained = response.extensions().get::<crate::extract::BodyDrained>().is_some();
    if has_body && !drained && (status.is_client_error() || status.is_server_error()) {
        response.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    }
    response
}

/// The metrics listener's one route.
pub fn metrics(state: AppState) -> Router {
    Router::new().route("/metrics", get(telemetry::render)).with_state(state)
}
