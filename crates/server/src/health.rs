//! Health checks (runbook §3.1): liveness, readiness, the report API's `POST /health`
//! and the admin API's authenticated `GET /api/health`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Admin, ReadHealth};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{parse_json, read_json_bytes};
use crate::state::AppState;

/// A health answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` with 503.
    pub status: String,
}

/// The readiness answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// `ready`, or `not_ready` with 503.
    pub status: String,
    /// Whether the database answered.
    pub database: bool,
    /// The pack version the origin serves, if any.
    pub pack_version: Option<String>,
    /// The service's degradation level: 1 (full service) to 4 (only the origin serves).
    pub degradation: u8,
}

/// The body `POST /health` accepts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// Must be `health` (anything else: 400 `unknown_check`).
    #[schema(example = "health", pattern = "^health$")]
    pub check: String,
}

/// The admin health answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdminHealth {
    /// `ok` or `degraded`.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// Whether the database answered.
    pub database_ok: bool,
    /// The pack version the origin serves, if any.
    pub pack_version: Option<String>,
    /// The authenticated token's role.
    pub role: String,
    /// The server's version.
    pub version: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn live() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// The runbook's report API check: `{"check":"health"}`; the database must answer.
#[utoipa::path(post, path = "/health", tag = "health", request_body = HealthCheck,
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 400, description = "Not the runbook's check", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not application/json", body = crate::error::ErrorBody),
        (status = 422, description = "Unknown fields", body = crate::error::ErrorBody),
        (status = 503, description = "The database does not answer", body = crate::error::ErrorBody),
    ))]
pub async fn check(State(state): State<AppState>, req: Request) -> Result<Json<Health>, ApiError> {
    let bytes = read_json_bytes(req, &state.settings.limits).await?;
    let body: HealthCheck = parse_json(&bytes)?;
    if body.check != "health" {
        return Err(ApiError::new(ErrorCode::UnknownCheck, "the only check is {\"check\":\"health\"}"));
    }
    state.store.ping().await.map_err(ApiError::store)?;
    Ok(Json(Health { status: "ok".into() }))
}

/// Readiness: the database answers (from degradation level 3 on, not needed) and the origin
/// serves a pack.
#[utoipa::path(get, path = "/ready", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready", body = Readiness),
    ))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let database = state.store.ping().await.is_ok();
    let pack_version = state.origin.pack_version().await;
    // From degradation level 3 on, reports wait in the queue and the origin serves from
    // its store: an instance whose database is down is still of use, so it stays ready.
    let ok = (database || state.degradation.level() >= 3) && pack_version.is_some();
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = Readiness {
        status: if ok { "ready" } else { "not_ready" }.into(),
        database,
        pack_version,
        degradation: state.degradation.level(),
    };
    (status, Json(body)).into_response()
}

/// The admin API's health, for any role that may read dashboards.
#[utoipa::path(get, path = "/api/health", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Health", body = AdminHealth),
        (status = 401, description = "Missing, unknown or revoked token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not read health", body = crate::error::ErrorBody),
        (status = 503, description = "The database does not answer", body = crate::error::ErrorBody),
    ))]
pub async fn admin(State(state): State<AppState>, admin: Admin<ReadHealth>) -> Json<AdminHealth> {
    let database_ok = state.store.ping().await.is_ok();
    let pack_version = state.origin.pack_version().await;
    let ok = database_ok && pack_version.is_some();
    Json(AdminHealth {
        status: if ok { "ok" } else { "degraded" }.into(),
        database: state.store.backend().name().into(),
        database_ok,
        pack_version,
        role: admin.token.role.code().into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}
