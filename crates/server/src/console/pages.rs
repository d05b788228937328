//! The console's modules. Every handler takes a [`Signed`] extractor naming what it
//! needs, so the permission table is checked before any handler code runs; every change
//! is written with its audit entry in one transaction.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ferretwatch_store::{AccountId, AuditFilter, Email, NewInvitation, TokenRole};
use ferretwatch_types::{PackVersion, Timestamp};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::error::ConsoleError;
use super::permissions::Permission;
use super::policies::{self, POLICIES};
use super::session::{Accounts, Anyone, Audit, Dashboard, Export, Policies, Signed, Viewer};
use super::views::{
    age, render, time, AccessPage, AccessRow, AccountPage, AccountRow, AccountsPage, AuditPage, AuditRow,
    DashboardPage, Nav, SettingField, SettingsPage,
};
use crate::state::AppState;

/// The style sheet (the only sub-resource: no script anywhere).
pub async fn stylesheet() -> Response {
    let mut response = include_str!("../../static/console.css").into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    response
}

/// `GET /admin`: service health, the served pack, report volume, refusals.
pub async fn dashboard(State(state): State<AppState>, signed: Signed<Dashboard>) -> Result<Response, ConsoleError> {
    let now = Timestamp::now();
    let database_ok = state.store.ping().await.is_ok();
    let pack_version = state.origin.pack_version().await;
    let pack_age = pack_version
        .as_deref()
        .and_then(|v| PackVersion::parse(v).ok())
        .map(|v| age(now.as_millis() - v.hour().as_millis()));
    let windows = [("Last hour", 1), ("Last 24 hours", 24), ("Last 7 days", 24 * 7)];
    let cached = *state.console.volume.lock().expect("volume lock");
    let counts = match cached {
        Some((at, counts)) if at.elapsed() < super::VOLUME_MAX_AGE => counts,
        _ => {
            let since = windows.map(|(_, hours)| Timestamp::from_millis(now.as_millis() - hours * 3_600_000));
            let counts = state.store.report_volume(since).await?;
            *state.console.volume.lock().expect("volume lock") = Some((std::time::Instant::now(), counts));
            counts
        }
    };
    let volume = windows.iter().zip(counts).map(|((label, _), v)| (*label, v.reports, v.false_positives)).collect();
    let pool = state.store.pool_stats();
    let (rate_limited, connections_refused) = crate::telemetry::refusal_totals();
    let page = DashboardPage {
        nav: Some(Nav::new(&signed.viewer, "/admin")),
        flash: None,
        status: if database_ok && pack_version.is_some() { "ok" } else { "degraded" },
        database: state.store.backend().name(),
        database_ok,
        pool_size: pool.size,
        pool_idle: pool.idle,
        pool_max: pool.max,
        pack_version,
        pack_age,
        limits_shared: state.limits.is_shared(),
        version: env!("CARGO_PKG_VERSION"),
        volume,
        rate_limited,
        connections_refused,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn accounts_page(
    state: &AppState,
    viewer: &Viewer,
    invitation_url: Option<String>,
) -> Result<Response, ConsoleError> {
    let now = Timestamp::now();
    let accounts = state
        .store
        .list_accounts()
        .await?
        .into_iter()
        .map(|a| AccountRow {
            id: a.id.0,
            email: a.email.clone(),
            role: a.role.code(),
            eligible: a.eligible_role.map_or("none", |r| r.code()),
            totp: if a.totp_enrolled { "enrolled" } else { "missing" },
            oidc: if a.oidc.is_some() { "linked" } else { "no" },
            last_login: a.last_login_at.map_or_else(|| "never".to_owned(), time),
            status: if !a.is_active() {
                "disabled"
            } else if a.locked_until.is_some_and(|u| u > now) {
                "locked"
            } else {
                "active"
            },
            active: a.is_active(),
        })
        .collect();
    let page = AccountsPage {
        nav: Some(Nav::new(viewer, "/admin/accounts")),
        flash: None,
        csrf: viewer.csrf.clone(),
        accounts,
        roles: TokenRole::ALL.iter().map(|r| r.code()).collect(),
        invitation_url,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /admin/accounts`.
pub async fn accounts(State(state): State<AppState>, signed: Signed<Accounts>) -> Result<Response, ConsoleError> {
    accounts_page(&state, &signed.viewer, None).await
}

/// The invitation form.
#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    email: String,
}

/// `POST /admin/accounts/invite`: creates an invitation and shows its link once.
pub async fn invite(
    State(state): State<AppState>,
    signed: Signed<Accounts>,
    Form(form): Form<InviteForm>,
) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    let role = TokenRole::parse(&form.role).map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
    let email = match form.email.trim() {
        "" => None,
        raw => Some(Email::parse(raw).map_err(|e| ConsoleError::BadRequest(e.to_string()))?),
    };
    let (code, code_hash) = super::codes::new_invitation_code().map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let now = Timestamp::now();
    let expires_at =
        Timestamp::from_millis(now.as_millis() + i64::from(state.settings.console.invitation_hours.max(1)) * 3_600_000);
    let target = email.as_ref().map_or("any", Email::as_str).to_owned();
    let audit = viewer.audit_entry(
        "account.invited",
        &target,
        serde_json::json!({ "role": role.code(), "expires_at": expires_at.as_millis() }),
    );
    let invitation = NewInvitation { code_hash, role, email, created_by: viewer.actor(), created_at: now, expires_at };
    state.store.create_invitation(&invitation, state.console.audited(&audit)).await?;
    let url = format!("{}/admin/enrol?code={}", state.settings.console_url(), code.expose_secret());
    accounts_page(&state, &viewer, Some(url)).await
}

/// The role form.
#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    eligible: String,
}

/// `POST /admin/accounts/{id}/role`: the standing role and the elevation eligibility.
pub async fn set_role(
    State(state): State<AppState>,
    signed: Signed<Accounts>,
    Path(id): Path<i64>,
    Form(form): Form<RoleForm>,
) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    let role = TokenRole::parse(&form.role).map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
    let eligible = match form.eligible.as_str() {
        "" | "none" => None,
        code => Some(TokenRole::parse(code).map_err(|e| ConsoleError::BadRequest(e.to_string()))?),
    };
    let eligible = eligible.filter(|e| *e != role);
    let before = state.store.get_account(AccountId(id)).await?;
    if before.id == viewer.account.id && before.role == TokenRole::Admin && role != TokenRole::Admin {
        return Err(ConsoleError::BadRequest(
            "You cannot take the Admin role from your own account; ask another Admin.".into(),
        ));
    }
    let details = serde_json::json!({
        "from": { "role": before.role.code(), "eligible": before.eligible_role.map(TokenRole::code) },
        "to": { "role": role.code(), "eligible": eligible.map(TokenRole::code) },
    });
    let audit = viewer.audit_entry("account.role_changed", &before.email, details);
    state.store.set_account_role(before.id, role, eligible, state.console.audited(&audit)).await?;
    Ok(Redirect::to("/admin/accounts").into_response())
}

/// `POST /admin/accounts/{id}/disable` and `…/enable`.
pub async fn set_disabled(
    State(state): State<AppState>,
    signed: Signed<Accounts>,
    Path((id, action)): Path<(i64, String)>,
) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    let disable = match action.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return Err(ConsoleError::NotFound),
    };
    let account = state.store.get_account(AccountId(id)).await?;
    if disable && account.id == viewer.account.id {
        return Err(ConsoleError::BadRequest("You cannot disable your own account.".into()));
    }
    let audit = viewer.audit_entry(
        if disable { "account.disabled" } else { "account.enabled" },
        &account.email,
        serde_json::json!({}),
    );
    let at = disable.then(Timestamp::now);
    state.store.set_account_disabled(account.id, at, state.console.audited(&audit)).await?;
    Ok(Redirect::to("/admin/accounts").into_response())
}

/// `POST /admin/accounts/{id}/sessions/end`: signs an account out everywhere.
pub async fn end_sessions(
    State(state): State<AppState>,
    signed: Signed<Accounts>,
    Path(id): Path<i64>,
) -> Result<Response, ConsoleError> {
    let account = state.store.get_account(AccountId(id)).await?;
    let ended = state.store.delete_account_sessions(account.id).await?;
    let audit =
        signed.viewer.audit_entry("account.sessions_ended", &account.email, serde_json::json!({ "sessions": ended }));
    state.store.append_audit(state.console.audited(&audit)).await?;
    Ok(Redirect::to("/admin/accounts").into_response())
}

async fn settings_page(
    state: &AppState,
    viewer: &Viewer,
    error: Option<String>,
    flash: Option<String>,
) -> Result<Response, ConsoleError> {
    let stored = state.store.list_settings().await?;
    let settings = POLICIES
        .iter()
        .map(|def| SettingField {
            key: def.key,
            label: def.label,
            value: state.console.policies.get(def.key),
            min: def.min,
            max: def.max,
            source: stored.iter().find(|s| s.key == def.key).map_or_else(
                || "From the configuration file.".to_owned(),
                |s| format!("Set by {} at {}.", s.updated_by, time(s.updated_at)),
            ),
        })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = SettingsPage {
        nav: Some(Nav::new(viewer, "/admin/settings")),
        flash,
        csrf: viewer.csrf.clone(),
        settings,
        error,
    };
    Ok(render(status, &page))
}

/// `GET /admin/settings`.
pub async fn settings(State(state): State<AppState>, signed: Signed<Policies>) -> Result<Response, ConsoleError> {
    settings_page(&state, &signed.viewer, None, None).await
}

/// `POST /admin/settings`: every field checked before anything is saved; only changed
/// values are stored, with one audit entry listing them.
pub async fn save_settings(
    State(state): State<AppState>,
    signed: Signed<Policies>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    let mut changes = Vec::new();
    let mut details = serde_json::Map::new();
    for def in &POLICIES {
        let Some(raw) = form.get(def.key) else { continue };
        let value = match policies::parse(def, raw) {
            Ok(v) => v,
            Err(why) => return settings_page(&state, &viewer, Some(why), None).await,
        };
        let current = state.console.policies.get(def.key);
        if value != current {
            changes.push((def.key.to_owned(), value.to_string()));
            details.insert(def.key.to_owned(), serde_json::json!({ "from": current, "to": value }));
        }
    }
    if changes.is_empty() {
        return settings_page(&state, &viewer, None, Some("Nothing changed.".into())).await;
    }
    let audit = viewer.audit_entry("settings.changed", "policies", serde_json::Value::Object(details));
    state.store.put_settings(&changes, audit.at, &viewer.actor(), state.console.audited(&audit)).await?;
    policies::reload(&state).await?;
    settings_page(&state, &viewer, None, Some(format!("Saved {} change(s).", changes.len()))).await
}

/// The audit page's query.
#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
}

const AUDIT_PAGE: u32 = 50;

/// `GET /admin/audit`.
pub async fn audit(
    State(state): State<AppState>,
    signed: Signed<Audit>,
    Query(query): Query<AuditQuery>,
) -> Result<Response, ConsoleError> {
    let actor: String = query.actor.trim().chars().take(256).collect();
    let action: String = query.action.trim().chars().take(64).collect();
    let filter = AuditFilter {
        before_seq: query.before,
        actor: (!actor.is_empty()).then(|| actor.clone()),
        action_prefix: (!action.is_empty()).then(|| action.clone()),
    };
    let entries = state.store.list_audit(&filter, AUDIT_PAGE).await?;
    let next_before = (entries.len() == AUDIT_PAGE as usize).then(|| entries.last().map(|e| e.seq)).flatten();
    let rows = entries
        .into_iter()
        .map(|e| AuditRow {
            seq: e.seq,
            at: time(Timestamp::from_millis(e.at)),
            actor: e.actor,
            action: e.action,
            target: e.target,
            details: e.details,
            short_hash: e.hash.chars().take(12).collect(),
            hash: e.hash,
        })
        .collect();
    let page = AuditPage {
        nav: Some(Nav::new(&signed.viewer, "/admin/audit")),
        flash: None,
        key_id: ferretwatch_store::AuditSigner::key_id(&state.console.keys).to_owned(),
        can_export: signed.viewer.can(Permission::ExportAudit),
        actor,
        action,
        entries: rows,
        next_before,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /admin/audit/export.jsonl`: the whole log as signed JSON lines (each entry carries
/// its hash and signature; `ferretwatch audit verify-export` checks a download).
pub async fn export(State(state): State<AppState>, signed: Signed<Export>) -> Result<Response, ConsoleError> {
    let mut body = String::new();
    let mut after = 0;
    loop {
        let page = state.store.audit_after(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            body.push_str(&serde_json::to_string(e).map_err(|e| ConsoleError::Internal(e.to_string()))?);
            body.push('\n');
        }
    }
    let audit = signed.viewer.audit_entry("audit.exported", "download", serde_json::json!({ "through_seq": after }));
    state.store.append_audit(state.console.audited(&audit)).await?;
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"ferretwatch-audit.jsonl\""));
    Ok(response)
}

/// `GET /admin/access`: sign-in attempts of the last 7 days.
pub async fn access(State(state): State<AppState>, signed: Signed<Audit>) -> Result<Response, ConsoleError> {
    let since = Timestamp::from_millis(Timestamp::now().as_millis() - 7 * 86_400_000);
    let events = state
        .store
        .list_access(since, 500)
        .await?
        .into_iter()
        .map(|e| AccessRow {
            at: time(e.at),
            email: e.email,
            net: e.client_net,
            method: e.method,
            outcome: e.outcome.code(),
            user_agent: e.user_agent.unwrap_or_default(),
        })
        .collect();
    Ok(render(StatusCode::OK, &AccessPage { nav: Some(Nav::new(&signed.viewer, "/admin/audit")), flash: None, events }))
}

/// `GET /admin/account`: your account, sessions, elevation.
pub async fn account(State(state): State<AppState>, signed: Signed<Anyone>) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    let sessions = state
        .store
        .list_account_sessions(viewer.account.id)
        .await?
        .into_iter()
        .filter(|s| s.stage == ferretwatch_store::SessionStage::Full)
        .map(|s| {
            let this = s.id_hash == viewer.session.id_hash;
            (time(s.created_at), time(s.last_seen_at), s.client_net.unwrap_or_default(), this)
        })
        .collect();
    let page = AccountPage {
        nav: Some(Nav::new(&viewer, "/admin/account")),
        flash: None,
        csrf: viewer.csrf.clone(),
        email: viewer.account.email.clone(),
        role: viewer.account.role.code().to_owned(),
        recovery_left: state.store.recovery_codes_left(viewer.account.id).await?,
        oidc: viewer
            .account
            .oidc
            .as_ref()
            .map_or_else(|| "not linked".to_owned(), |(iss, _)| format!("linked ({iss})")),
        oidc_available: state.console.oidc.is_some(),
        elevation: viewer.elevation.as_ref().map(|e| (e.role.code().to_owned(), time(e.until), e.reason.clone())),
        eligible: viewer.account.eligible_role.map(|r| r.code().to_owned()),
        max_minutes: state.settings.console.max_elevation_minutes.max(1),
        sessions,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The elevation form.
#[derive(Deserialize)]
pub struct ElevateForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    minutes: String,
}

/// `POST /admin/account/elevate`: just-in-time elevation to the eligible role.
pub async fn elevate(
    State(state): State<AppState>,
    signed: Signed<Anyone>,
    Form(form): Form<ElevateForm>,
) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    let role = viewer
        .account
        .eligible_role
        .ok_or_else(|| ConsoleError::BadRequest("Your account is not eligible for elevation.".into()))?;
    let reason: String = form.reason.trim().chars().filter(|c| !c.is_control()).take(500).collect();
    if reason.chars().count() < 8 {
        return Err(ConsoleError::BadRequest(
            "Give a reason of at least 8 characters: it goes into the audit log.".into(),
        ));
    }
    let max = state.settings.console.max_elevation_minutes.max(1);
    let minutes: u32 = form
        .minutes
        .trim()
        .parse()
        .ok()
        .filter(|m| (1..=max).contains(m))
        .ok_or_else(|| ConsoleError::BadRequest(format!("Minutes must be a whole number from 1 to {max}.")))?;
    let until = Timestamp::from_millis(Timestamp::now().as_millis() + i64::from(minutes) * 60_000);
    let details = serde_json::json!({ "from": viewer.account.role.code(), "to": role.code(), "minutes": minutes, "reason": reason, "until": until.as_millis() });
    let audit = viewer.audit_entry("session.elevated", &viewer.account.email, details);
    state.store.elevate_session(&viewer.session.id_hash, role, until, &reason, state.console.audited(&audit)).await?;
    Ok(Redirect::to(super::login::home(role)).into_response())
}

/// `POST /admin/account/elevation/end`.
pub async fn end_elevation(State(state): State<AppState>, signed: Signed<Anyone>) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    if let Some(e) = &viewer.elevation {
        state.store.end_elevation(&viewer.session.id_hash).await?;
        let audit = viewer.audit_entry(
            "session.elevation_ended",
            &viewer.account.email,
            serde_json::json!({ "role": e.role.code() }),
        );
        state.store.append_audit(state.console.audited(&audit)).await?;
    }
    Ok(Redirect::to("/admin/account").into_response())
}
