//! Incidents (`docs/incidents.md`): Alertmanager's webhook opens or updates them, an
//! escalation loop raises those nobody acknowledged within their priority's response
//! time, a Slack-compatible webhook is told, and a public status page (HTML and JSON)
//! shows each service as the open incidents leave it.
//!
//! - `POST /api/alerts`: Alertmanager's webhook (version 4). `Authorization: Bearer` with
//!   `incidents.webhook_token`, compared in constant time; without the setting the route
//!   answers 404. One open incident per alert group (`groupKey`); the priority is the
//!   most urgent `priority` label among the group's alerts (P3 when none says).
//! - `GET /status.json`, `GET /status`: public, no details beyond titles and priorities.
//!
//! Incidents live in their own database (`incidents.db`, default a SQLite file in the data
//! directory), so that the service's database going down still opens its incident.

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferretwatch_store::{AlertNotice, Incident, IncidentState, Priority};
use ferretwatch_types::Timestamp;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The services the status page shows (the HTTP metrics' `service` label).
pub const SERVICES: [&str; 3] = ["packs", "reports", "admin"];

/// Alertmanager's webhook body (version 4); unknown fields are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertBatch {
    /// `firing` or `resolved`.
    pub status: String,
    /// The group's key: stable while the group lives.
    pub group_key: String,
    /// Labels every alert of the group shares.
    #[serde(default)]
    pub common_labels: std::collections::BTreeMap<String, String>,
    /// The alerts.
    #[serde(default)]
    pub alerts: Vec<Alert>,
}

/// One alert of a batch.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Its labels.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Its annotations.
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
    /// When it started (RFC 3339, possibly with nanoseconds).
    #[serde(default)]
    pub starts_at: String,
}

/// An RFC 3339 time with any fraction of a second dropped.
fn parse_time(text: &str) -> Option<Timestamp> {
    let whole = match text.find('.') {
        Some(dot) => {
            let zone = text[dot..].find(['Z', '+', '-']).map(|i| &text[dot + i..])?;
            format!("{}{}", &text[..dot], zone)
        }
        None => text.to_owned(),
    };
    Timestamp::parse(&whole).ok()
}

/// The notice a batch makes, or why it is refused.
pub fn notice_of(batch: &AlertBatch, at: Timestamp) -> Result<AlertNotice, String> {
    let firing = match batch.status.as_str() {
        "firing" => true,
        "resolved" => false,
        other => return Err(format!("status {other:?}: firing or resolved")),
    };
    if batch.group_key.is_empty() || batch.group_key.len() > 1024 {
        return Err("groupKey must be 1 to 1024 characters".into());
    }
    if batch.alerts.is_empty() || batch.alerts.len() > 1000 {
        return Err("a batch holds 1 to 1000 alerts".into());
    }
    let label = |alert: &Alert, name: &str| alert.labels.get(name).cloned().unwrap_or_default();
    let counted = batch.alerts.iter().filter(|a| !firing || a.status == "firing");
    let priority = counted.filter_map(|a| a.labels.get("priority").and_then(|p| Priority::parse(p))).min();
    let name = batch.common_labels.get("alertname").cloned().unwrap_or_else(|| label(&batch.alerts[0], "alertname"));
    let service = batch.common_labels.get("service").cloned();
    let title = match &service {
        Some(service) => format!("{name} ({service})"),
        None => name,
    };
    let lines = batch
        .alerts
        .iter()
        .map(|a| {
            let instance = a.labels.get("instance").map(|i| format!(" on {i}")).unwrap_or_default();
            let summary = a.annotations.get("summary").map(|s| format!(": {s}")).unwrap_or_default();
            let text = format!("{} {}{instance}{summary}", a.status, label(a, "alertname"));
            text.chars().take(1000).collect()
        })
        .collect();
    let started_at = batch.alerts.iter().filter_map(|a| parse_time(&a.starts_at)).min().unwrap_or(at);
    Ok(AlertNotice {
        group_key: batch.group_key.clone(),
        title: title.chars().take(200).collect(),
        priority: priority.unwrap_or(Priority::P3),
        service: service.filter(|s| SERVICES.contains(&s.as_str())),
        firing,
        lines,
        started_at,
        at,
    })
}

/// What the webhook answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct AlertReceipt {
    /// The incident the batch went to (none: a resolved batch with no open incident).
    pub incident: Option<i64>,
    /// Whether this batch opened it.
    pub opened: bool,
}

fn authorised(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &state.settings.incidents.webhook_token else {
        return Err(ApiError::new(ErrorCode::NotFound, "no such route"));
    };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "send Authorization: Bearer <webhook token>"))?;
    if bool::from(sent.as_bytes().ct_eq(token.expose_secret().as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::InvalidToken, "unknown webhook token"))
    }
}

/// `POST /api/alerts`: Alertmanager's webhook.
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<AlertReceipt>, ApiError> {
    authorised(&state, &headers)?;
    let batch: AlertBatch = serde_json::from_slice(&body).map_err(|e| {
        let code = if e.is_syntax() || e.is_eof() { ErrorCode::InvalidJson } else { ErrorCode::InvalidBody };
        ApiError::new(code, format!("not an Alertmanager webhook body: {e}"))
    })?;
    let notice = notice_of(&batch, Timestamp::now()).map_err(|why| ApiError::new(ErrorCode::InvalidField, why))?;
    let recorded = state.incidents.record_alert(&notice).await.map_err(ApiError::store)?;
    let Some((incident, opened)) = recorded else {
        return Ok(Json(AlertReceipt { incident: None, opened: false }));
    };
    if opened {
        tracing::warn!(incident = incident.id.0, priority = %incident.priority, title = %incident.title, "incident opened");
        let text = format!("[{}] {} opened: {}", incident.priority, incident.reference(), incident.title);
        state.notifier.send(&text, &format!("{text}\n\nStatus page: {}/status", state.settings.console_url())).await;
    }
    Ok(Json(AlertReceipt { incident: Some(incident.id.0), opened }))
}

/// Escalates, every `incidents.escalation_check_secs`, the open incidents nobody
/// acknowledged within their response time, and tells the notification webhook.
pub async fn escalations(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let period = std::time::Duration::from_secs(state.settings.incidents.escalation_check_secs.max(1));
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match state.incidents.escalate_due(Timestamp::now(), state.settings.incidents.response_secs).await {
            Ok(escalated) => {
                for incident in escalated {
                    tracing::warn!(
                        incident = incident.id.0, priority = %incident.priority, escalations = incident.escalations,
                        "incident escalated: not acknowledged within its response time"
                    );
                    let text = format!(
                        "[{}] ESCALATION {}: {} not acknowledged: {}",
                        incident.priority,
                        incident.escalations,
                        incident.reference(),
                        incident.title
                    );
                    state
                        .notifier
                        .send(
                            &text,
                            &format!("{text}\n\nAcknowledge it: ferretwatch incident ack {}", incident.reference()),
                        )
                        .await;
                }
            }
            Err(e) => tracing::warn!(error = %crate::error::chain(&e), "could not check incident escalations"),
        }
    }
}

/// One service on the status page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// `packs`, `reports`, `admin`.
    pub service: String,
    /// `operational`, `degraded` or `outage`.
    pub status: String,
}

/// An incident as the status page shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicIncident {
    /// Its number.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// P1–P4.
    pub priority: String,
    /// `open` or `acknowledged` (investigating).
    pub state: String,
    /// The service it concerns (none: all).
    pub service: Option<String>,
    /// When it opened (RFC 3339).
    pub opened_at: String,
}

/// The status page's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusPage {
    /// The worst of the services.
    pub status: String,
    /// Each service.
    pub services: Vec<ServiceStatus>,
    /// The incidents not yet resolved.
    pub incidents: Vec<PublicIncident>,
    /// When this was computed.
    pub updated_at: String,
}

fn status_of(incidents: &[Incident], service: &str) -> &'static str {
    let worst =
        incidents.iter().filter(|i| i.service.as_deref().is_none_or(|s| s == service)).map(|i| i.priority).min();
    match worst {
        Some(Priority::P1) => "outage",
        Some(Priority::P2 | Priority::P3) => "degraded",
        _ => "operational",
    }
}

async fn status_page(state: &AppState) -> Result<StatusPage, ApiError> {
    let open = state
        .incidents
        .list_incidents(&[IncidentState::Open, IncidentState::Acknowledged], 100)
        .await
        .map_err(ApiError::store)?;
    let services: Vec<ServiceStatus> = SERVICES
        .iter()
        .map(|s| ServiceStatus { service: (*s).to_owned(), status: status_of(&open, s).to_owned() })
        .collect();
    let rank = |s: &str| ["operational", "degraded", "outage"].iter().position(|x| *x == s).unwrap_or(0);
    let status = services.iter().map(|s| s.status.as_str()).max_by_key(|s| rank(s)).unwrap_or("operational");
    Ok(StatusPage {
        status: status.to_owned(),
        services: services.clone(),
        incidents: open
            .iter()
            .map(|i| PublicIncident {
                id: i.id.0,
                title: i.title.clone(),
                priority: i.priority.code().to_owned(),
                state: i.state.code().to_owned(),
                service: i.service.clone(),
                opened_at: i.opened_at.to_string(),
            })
            .collect(),
        updated_at: Timestamp::now().to_string(),
    })
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `GET /status.json`.
pub async fn status_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(no_store(Json(status_page(&state).await?).into_response()))
}

/// The status page as HTML.
#[derive(Template)]
#[template(path = "status.html")]
struct StatusHtml {
    page: StatusPage,
}

/// `GET /status`.
pub async fn status_html(State(state): State<AppState>) -> Result<Response, ApiError> {
    let page = StatusHtml { page: status_page(&state).await? };
    let html = page.render().map_err(|e| {
        tracing::error!(error = %e, "the status page failed to render");
        ApiError::new(ErrorCode::Internal, "the status page could not be rendered")
    })?;
    let mut response = (StatusCode::OK, html).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    Ok(no_store(response))
}
