//! The Reports module: the triage inbox (reported URLs with their reports' figures,
//! filtered and ordered), one URL's evidence and history, and decisions (verified,
//! rejected, benign, or reopened) on one URL or many, each written with its signed audit
//! entry.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ferretwatch_store::{
    AbuseKind, Actor, ErrorKind, InboxFilter, InboxKind, ModerationSort, ModerationState, Page, ReportReason,
    StateChange, UrlHash,
};
use ferretwatch_types::Timestamp;
use serde::Deserialize;

use super::error::ConsoleError;
use super::permissions::Permission;
use super::session::{Signed, Triage, Viewer};
use super::views::{render, time, InboxRow, Nav, ReportItem, ReportPage, ReportsPage};
use crate::state::AppState;

/// URLs per inbox page.
pub const INBOX_PAGE: u32 = 50;
/// The most URLs one bulk decision takes.
pub const MAX_BULK: usize = 200;

/// The inbox's query: every filter as text, checked here.
#[derive(Debug, Default, Deserialize)]
pub struct InboxQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    min_score: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    offset: Option<u32>,
}

fn filter_of(query: &InboxQuery) -> Result<InboxFilter, String> {
    let state = match query.state.as_str() {
        "" => None,
        code => Some(ModerationState::parse(code).map_err(|e| e.to_string())?),
    };
    let reason = match query.reason.as_str() {
        "" => None,
        code if ReportReason::CODES.contains(&code) => Some(code.to_owned()),
        _ => return Err("Unknown reason.".into()),
    };
    let kind = match query.kind.as_str() {
        "" => None,
        "report" => Some(InboxKind::Report),
        "false_positive" => Some(InboxKind::FalsePositive),
        _ => return Err("Kind is report or false_positive.".into()),
    };
    let min_score = match query.min_score.trim() {
        "" => None,
        raw => Some(raw.parse::<u8>().ok().filter(|s| *s <= 100).ok_or("Score is a whole number from 0 to 100.")?),
    };
    let since = match query.hours.trim() {
        "" => None,
        raw => {
            let hours = raw
                .parse::<i64>()
                .ok()
                .filter(|h| (1..=8760).contains(h))
                .ok_or("Hours is a whole number from 1 to 8760.")?;
            Some(Timestamp::from_millis(Timestamp::now().as_millis() - hours * 3_600_000))
        }
    };
    let q: String = query.q.trim().chars().filter(|c| !c.is_control()).take(200).collect();
    let sort = match query.sort.as_str() {
        "" | "last_seen" => ModerationSort::LastSeen,
        "report_count" => ModerationSort::ReportCount,
        "max_score" => ModerationSort::MaxScore,
        _ => return Err("Unknown order.".into()),
    };
    Ok(InboxFilter { state, reason, min_score, since, kind, url_contains: (!q.is_empty()).then_some(q), sort })
}

fn query_link(query: &InboxQuery) -> String {
    let mut link = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("state", &query.state),
        ("reason", &query.reason),
        ("kind", &query.kind),
        ("min_score", &query.min_score),
        ("hours", &query.hours),
        ("q", &query.q),
        ("sort", &query.sort),
    ] {
        link.append_pair(k, v);
    }
    format!("/admin/reports?{}", link.finish())
}

async fn inbox_page(
    state: &AppState,
    viewer: &Viewer,
    query: &InboxQuery,
    flash: Option<String>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let (filter, error) = match filter_of(query) {
        Ok(f) => (f, error),
        Err(why) => (InboxFilter::default(), Some(why)),
    };
    let offset = query.offset.unwrap_or(0).min(1_000_000);
    let groups = state.store.triage_inbox(&filter, INBOX_PAGE + 1, offset).await?;
    let policies = &state.console.policies;
    let window = policies.get("abuse.window_minutes");
    let since = Timestamp::from_millis(Timestamp::now().as_millis() - i64::from(window) * 60_000);
    let findings = state.store.abuse_findings(since, i64::from(policies.get("abuse.threshold"))).await?;
    let next_offset = (groups.len() > INBOX_PAGE as usize).then_some(offset + INBOX_PAGE);
    let groups = groups
        .into_iter()
        .take(INBOX_PAGE as usize)
        .map(|g| InboxRow {
            hash: g.entry.url_hash.to_string(),
            url: g.entry.url,
            state: g.entry.state.code(),
            reports: g.entry.report_count,
            false_positives: g.entry.false_positive_count,
            max_score: g.entry.max_score,
            reasons: g.reasons.iter().map(|(r, n)| format!("{r} × {n}")).collect::<Vec<_>>().join(", "),
            first_seen: time(g.entry.first_seen),
            last_seen: time(g.entry.last_seen),
            flags: findings
                .iter()
                .filter(|f| f.url_hash.as_ref() == Some(&g.entry.url_hash))
                .map(|f| format!("{} ({})", f.kind, f.count()))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let coordinated = findings
        .iter()
        .map(|f| {
            let key = match f.kind {
                AbuseKind::InstallToken => format!("install {}…", f.key.chars().take(8).collect::<String>()),
                _ => f.key.clone(),
            };
            format!("{}: {key}, {} in the last {window} min", f.kind, f.count())
        })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = ReportsPage {
        nav: Some(Nav::new(viewer, "/admin/reports")),
        flash,
        csrf: viewer.csrf.clone(),
        error,
        states: ModerationState::ALL.iter().map(|s| s.code()).collect(),
        reasons: ReportReason::CODES.to_vec(),
        state: query.state.clone(),
        reason: query.reason.clone(),
        kind: query.kind.clone(),
        min_score: query.min_score.clone(),
        hours: query.hours.clone(),
        q: query.q.clone(),
        sort: query.sort.clone(),
        groups,
        coordinated,
        next_offset,
        next_link: query_link(query),
    };
    Ok(render(status, &page))
}

/// `GET /admin/reports`: the inbox.
pub async fn inbox(
    State(state): State<AppState>,
    signed: Signed<Triage>,
    Query(query): Query<InboxQuery>,
) -> Result<Response, ConsoleError> {
    inbox_page(&state, &signed.viewer, &query, None, None).await
}

fn parse_hash(hex: &str) -> Result<UrlHash, ConsoleError> {
    UrlHash::from_hex(hex).map_err(|_| ConsoleError::NotFound)
}

/// `GET /admin/reports/{hash}`: one URL's evidence, history and decision form.
pub async fn detail(
    State(state): State<AppState>,
    signed: Signed<Triage>,
    Path(hash): Path<String>,
) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    let url_hash = parse_hash(&hash)?;
    let entry = state.store.get_moderation(&url_hash).await?;
    let reports = state.store.list_reports_for_url(&url_hash, Page::first(50)).await?;
    let history = state.store.moderation_history(&url_hash).await?;
    let items = reports
        .items
        .into_iter()
        .map(|r| ReportItem {
            id: r.id.0,
            kind: r.kind.code(),
            received: time(r.received_at),
            reason: r.reason.code(),
            reason_text: r.reason.text().map(str::to_owned),
            score: r.score,
            pack_version: r.pack_version,
            extension_version: r.extension_version,
            client_net: r.client_net.unwrap_or_else(|| "unknown network".into()),
            install: r
                .install_token_id
                .map_or_else(|| "none".into(), |t| format!("{}…", t.chars().take(8).collect::<String>())),
            screenshot: r.screenshot_hash.map_or_else(|| "none".into(), |h| h.to_hex()),
            findings: r.findings.iter().map(|f| (f.key().to_owned(), f.evidence().to_owned())).collect(),
        })
        .collect();
    let page = ReportPage {
        nav: Some(Nav::new(&viewer, "/admin/reports")),
        flash: None,
        csrf: viewer.csrf.clone(),
        url: entry.url,
        hash: url_hash.to_string(),
        state: entry.state.code(),
        changed_by: entry.state_changed_by,
        reports: entry.report_count,
        false_positives: entry.false_positive_count,
        max_score: entry.max_score,
        first_seen: time(entry.first_seen),
        last_seen: time(entry.last_seen),
        next_states: ModerationState::ALL
            .into_iter()
            .filter(|s| entry.state.can_transition_to(*s))
            .map(|s| s.code())
            .collect(),
        items,
        history: history
            .into_iter()
            .rev()
            .map(|h| (time(h.at), h.actor, h.from.code(), h.to.code(), h.note.unwrap_or_default()))
            .collect(),
        propose: viewer.can(Permission::ProposeRules)
            && matches!(entry.state, ModerationState::Verified | ModerationState::Benign),
    };
    Ok(render(StatusCode::OK, &page))
}

/// Applies one decision with its audit entry.
async fn apply(
    state: &AppState,
    viewer: &Viewer,
    url_hash: UrlHash,
    to: ModerationState,
    note: Option<String>,
) -> Result<(), ConsoleError> {
    let actor = Actor::new(&viewer.actor()).map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
    let entry = viewer.audit_entry(
        "report.decided",
        &url_hash.to_string(),
        serde_json::json!({ "to": to.code(), "note": note }),
    );
    let change = StateChange { url_hash, to, actor, note, at: entry.at };
    state.store.decide(&change, state.console.audited(&entry)).await?;
    Ok(())
}

fn decision_of(state: &str, note: &str) -> Result<(ModerationState, Option<String>), ConsoleError> {
    let to = ModerationState::parse(state).map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
    let note: String = note.trim().chars().filter(|c| !c.is_control()).collect();
    if note.chars().count() > StateChange::MAX_NOTE_CHARS {
        return Err(ConsoleError::BadRequest(format!(
            "A note has at most {} characters.",
            StateChange::MAX_NOTE_CHARS
        )));
    }
    Ok((to, (!note.is_empty()).then_some(note)))
}

/// The decision form.
#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    state: String,
    #[serde(default)]
    note: String,
}

/// `POST /admin/reports/{hash}/decide`.
pub async fn decide(
    State(state): State<AppState>,
    signed: Signed<Triage>,
    Path(hash): Path<String>,
    Form(form): Form<DecideForm>,
) -> Result<Response, ConsoleError> {
    let url_hash = parse_hash(&hash)?;
    let (to, note) = decision_of(&form.state, &form.note)?;
    apply(&state, &signed.viewer, url_hash, to, note).await?;
    Ok(Redirect::to(&format!("/admin/reports/{hash}")).into_response())
}

/// `POST /admin/reports/decide`: one decision on every selected URL (`url_hash`
/// repeated). Each URL is decided in its own transaction; the page says how many were
/// decided and which could not be (already decided by someone else, or gone).
pub async fn decide_many(
    State(state): State<AppState>,
    signed: Signed<Triage>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str());
    let (to, note) = decision_of(field("state"), field("note"))?;
    let hashes: Vec<&str> = fields.iter().filter(|(k, _)| k == "url_hash").map(|(_, v)| v.as_str()).collect();
    if hashes.is_empty() {
        return inbox_page(&state, &viewer, &InboxQuery::default(), None, Some("Select at least one URL.".into()))
            .await;
    }
    if hashes.len() > MAX_BULK {
        return Err(ConsoleError::BadRequest(format!("At most {MAX_BULK} URLs at once.")));
    }
    let mut done = 0;
    let mut skipped = Vec::new();
    for hex in hashes {
        let Ok(url_hash) = UrlHash::from_hex(hex) else {
            skipped.push(hex.chars().take(12).collect::<String>());
            continue;
        };
        match apply(&state, &viewer, url_hash, to, note.clone()).await {
            Ok(()) => done += 1,
            Err(ConsoleError::Store(e)) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::NotFound) => {
                skipped.push(hex.chars().take(12).collect())
            }
            Err(e) => return Err(e),
        }
    }
    let mut flash = format!("{done} URL(s) marked {to}.");
    if !skipped.is_empty() {
        flash.push_str(&format!(" Not changed (already decided, or unknown): {}.", skipped.join(", ")));
    }
    inbox_page(&state, &viewer, &InboxQuery::default(), Some(flash), None).await
}
