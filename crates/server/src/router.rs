//! Every route of the service, in one place.

use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use axum::{middleware, Router};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::{error, health, openapi, origin_http, report_api, telemetry};

/// The request-id header, set when the client sent none and echoed in every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The API and origin listener's routes.
pub fn api(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::live).post(health::check))
        .route("/ready", get(health::ready))
        .route("/api/health", get(health::admin))
        .route("/openapi.json", get(openapi::serve))
        .route("/v1/install", post(report_api::install))
        .route("/v1/report", post(report_api::report))
        .route("/v1/false-positive", post(report_api::false_positive))
        .route("/v1/{*name}", get(origin_http::serve))
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
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
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
