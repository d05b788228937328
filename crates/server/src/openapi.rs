//! The OpenAPI document, generated from the handlers' and types' annotations (`utoipa`)
//! and served at `/openapi.json`.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{error, health, origin_http, report_api};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "FerretWatch service", description = "Pack origin, report API and health checks. See docs/formats/report-api.md."),
    paths(
        health::live, health::check, health::ready, health::admin,
        report_api::install, report_api::report, report_api::false_positive, crate::lifecycle::deletion_request,
        crate::client_telemetry::receive,
        origin_http::serve,
    ),
    components(schemas(
        error::ErrorBody, error::ErrorDetail,
        health::Health, health::Readiness, health::HealthCheck, health::AdminHealth,
        report_api::ReportRequest, report_api::FindingBody, report_api::ReasonCode,
        report_api::ReportAccepted, report_api::ReportQueued, report_api::InstallIssued, crate::lifecycle::DeletionDone, crate::client_telemetry::TelemetryRequest, crate::client_telemetry::Detections,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "reports", description = "User reports and install tokens"),
        (name = "origin", description = "Signed packs, TUF metadata and bulletins"),
        (name = "health", description = "Liveness and readiness"),
        (name = "admin", description = "Admin API (bearer token)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serialises"))
}

/// `GET /openapi.json`.
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}
