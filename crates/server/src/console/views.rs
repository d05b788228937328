//! The console's pages: askama templates under `templates/console/`, auto-escaped (every
//! value, including what reporters and attackers control, is HTML-escaped on output).

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferretwatch_types::Timestamp;

use super::permissions::Permission;
use super::session::Viewer;

/// One link of the navigation.
#[derive(Debug, Clone)]
pub struct NavLink {
    /// Where.
    pub href: &'static str,
    /// What it says.
    pub label: &'static str,
    /// Whether it is the current page.
    pub current: bool,
}

/// The signed-in header: who, the role in force, the sections the role may open.
#[derive(Debug, Clone)]
pub struct Nav {
    /// The account.
    pub email: String,
    /// The role in force.
    pub role: String,
    /// The end of an elevation in force.
    pub elevated_until: Option<String>,
    /// The session's CSRF token (for the sign-out form).
    pub csrf: String,
    /// The sections.
    pub links: Vec<NavLink>,
}

impl Nav {
    /// The header for `viewer` on the page at `current`.
    pub fn new(viewer: &Viewer, current: &str) -> Self {
        let sections: [(&'static str, &'static str, Option<Permission>); 8] = [
            ("/admin", "Dashboard", Some(Permission::ViewDashboard)),
            ("/admin/reports", "Reports", Some(Permission::TriageReports)),
            ("/admin/rules", "Rules", Some(Permission::ViewRules)),
            ("/admin/bulletins", "Bulletins", Some(Permission::ViewRules)),
            ("/admin/accounts", "Users & roles", Some(Permission::ManageAccounts)),
            ("/admin/settings", "Policies & settings", Some(Permission::ManageSettings)),
            ("/admin/audit", "Audit & exports", Some(Permission::ViewAudit)),
            ("/admin/account", "Your account", None),
        ];
        let links = sections
            .into_iter()
            .filter(|(_, _, need)| need.is_none_or(|p| viewer.can(p)))
            .map(|(href, label, _)| NavLink { href, label, current: href == current })
            .collect();
        Nav {
            email: viewer.account.email.clone(),
            role: viewer.role.code().to_owned(),
            elevated_until: viewer.elevation.as_ref().map(|e| time(e.until)),
            csrf: viewer.csrf.clone(),
            links,
        }
    }
}

/// A time as the console shows it: `2026-12-04 21:55 UTC`.
pub fn time(at: Timestamp) -> String {
    let (y, mo, d, h, mi, _) = at.to_civil();
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// A duration in words: `3 h 5 min`, `12 min`, `40 s`.
pub fn age(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Renders a template as an HTML response with `status`.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, html).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a console template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage {
    /// The header, when signed in.
    pub nav: Option<Nav>,
    /// No flash.
    pub flash: Option<String>,
    /// The heading.
    pub title: String,
    /// What happened, in plain words.
    pub message: String,
    /// The role the viewer could elevate to, when that would allow it.
    pub elevate_to: Option<String>,
    /// Where to go back to.
    pub back: String,
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "console/login.html")]
pub struct LoginPage {
    /// None.
    pub nav: Option<Nav>,
    /// A notice (for example after signing out).
    pub flash: Option<String>,
    /// The pre-sign-in CSRF token.
    pub csrf: String,
    /// The address typed before, on a failure.
    pub email: String,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// The single sign-on button's label, when configured.
    pub oidc_label: Option<String>,
}

/// The second-factor page.
#[derive(Template)]
#[template(path = "console/totp.html")]
pub struct TotpPage {
    /// None.
    pub nav: Option<Nav>,
    /// None.
    pub flash: Option<String>,
    /// The pending session's CSRF token.
    pub csrf: String,
    /// The account.
    pub email: String,
    /// Why the last code failed.
    pub error: Option<String>,
}

/// The enrolment page of an invitation.
#[derive(Template)]
#[template(path = "console/enrol.html")]
pub struct EnrolPage {
    /// None.
    pub nav: Option<Nav>,
    /// None.
    pub flash: Option<String>,
    /// The pre-sign-in CSRF token.
    pub csrf: String,
    /// The invitation code (posted back).
    pub code: String,
    /// The role it grants.
    pub role: String,
    /// When it expires.
    pub expires: String,
    /// The TOTP seed, base32.
    pub secret: String,
    /// The `otpauth://` link.
    pub otpauth: String,
    /// The address (bound by the invitation, or typed before).
    pub email: String,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// The recovery codes, shown once.
#[derive(Template)]
#[template(path = "console/enrolled.html")]
pub struct EnrolledPage {
    /// None.
    pub nav: Option<Nav>,
    /// None.
    pub flash: Option<String>,
    /// The codes.
    pub codes: Vec<String>,
}

/// The dashboard.
#[derive(Template)]
#[template(path = "console/dashboard.html")]
pub struct DashboardPage {
    /// The header.
    pub nav: Option<Nav>,
    /// A notice.
    pub flash: Option<String>,
    /// `ok` or `degraded`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// Whether it answers.
    pub database_ok: bool,
    /// Pool figures.
    pub pool_size: u32,
    /// Idle connections.
    pub pool_idle: u32,
    /// The maximum.
    pub pool_max: u32,
    /// The pack version served.
    pub pack_version: Option<String>,
    /// Its age, from the version's time.
    pub pack_age: Option<String>,
    /// Whether limits are shared through Redis.
    pub limits_shared: bool,
    /// The server's version.
    pub version: &'static str,
    /// (window, reports, false positives).
    pub volume: Vec<(&'static str, i64, i64)>,
    /// 429s since start.
    pub rate_limited: u64,
    /// Connections refused since start.
    pub connections_refused: u64,
}

/// One account's row.
#[derive(Debug, Clone)]
pub struct AccountRow {
    /// Its id.
    pub id: i64,
    /// Email.
    pub email: String,
    /// Role code.
    pub role: &'static str,
    /// Eligible role code or `none`.
    pub eligible: &'static str,
    /// `enrolled` or `missing`.
    pub totp: &'static str,
    /// `linked` or `no`.
    pub oidc: &'static str,
    /// Last sign-in.
    pub last_login: String,
    /// `active`, `disabled` or `locked`.
    pub status: &'static str,
    /// Not disabled.
    pub active: bool,
}

/// Users & roles.
#[derive(Template)]
#[template(path = "console/accounts.html")]
pub struct AccountsPage {
    /// The header.
    pub nav: Option<Nav>,
    /// A notice.
    pub flash: Option<String>,
    /// The CSRF token.
    pub csrf: String,
    /// The accounts.
    pub accounts: Vec<AccountRow>,
    /// Every role code.
    pub roles: Vec<&'static str>,
    /// A just-created invitation's link, shown once.
    pub invitation_url: Option<String>,
}

/// One setting's field.
#[derive(Debug, Clone)]
pub struct SettingField {
    /// Its key (also the field's name).
    pub key: &'static str,
    /// Its label.
    pub label: &'static str,
    /// The value in force.
    pub value: u32,
    /// Bounds.
    pub min: u32,
    /// Bounds.
    pub max: u32,
    /// Where the value comes from (`set by … at …` or `configuration file`).
    pub source: String,
}

/// Policies & settings.
#[derive(Template)]
#[template(path = "console/settings.html")]
pub struct SettingsPage {
    /// The header.
    pub nav: Option<Nav>,
    /// A notice.
    pub flash: Option<String>,
    /// The CSRF token.
    pub csrf: String,
    /// The fields.
    pub settings: Vec<SettingField>,
    /// Why the last save failed.
    pub error: Option<String>,
}

/// One audit row.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// Sequence number.
    pub seq: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// Details JSON.
    pub details: String,
    /// Full hash.
    pub hash: String,
    /// Its first 12 digits.
    pub short_hash: String,
}

/// Audit & exports.
#[derive(Template)]
#[template(path = "console/audit.html")]
pub struct AuditPage {
    /// The header.
    pub nav: Option<Nav>,
    /// A notice.
    pub flash: Option<String>,
    /// The audit key's id.
    pub key_id: String,
    /// Whether the viewer may export.
    pub can_export: bool,
    /// The actor filter.
    pub actor: String,
    /// The action filter.
    pub action: String,
    /// The entries.
    pub entries: Vec<AuditRow>,
    /// The `before` of the next page.
    pub next_before: Option<i64>,
}

/// One access-log row.
#[derive(Debug, Clone)]
pub struct AccessRow {
    /// When.
    pub at: String,
    /// Email given.
    pub email: String,
    /// Network.
    pub net: String,
    /// Method.
    pub method: String,
    /// Outcome code.
    pub outcome: &'static str,
    /// User agent.
    pub user_agent: String,
}

/// The access log.
#[derive(Template)]
#[template(path = "console/access.html")]
pub struct AccessPage {
    /// The header.
    pub nav: Option<Nav>,
    /// A notice.
    pub flash: Option<String>,
    /// The rows.
    pub events: Vec<AccessRow>,
}

/// Your account.
#[derive(Template)]
#[template(path = "console/account.html")]
pub struct AccountPage {
    /// The header.
    pub nav: Option<Nav>,
    /// A notice.
    pub flash: Option<String>,
    /// The CSRF token.
    pub csrf: String,
    /// Email.
    pub email: String,
    /// Standing role.
    pub role: String,
    /// Recovery codes left.
    pub recovery_left: i64,
    /// `linked (issuer)` or `not linked`.
    pub oidc: String,
    /// Whether single sign-on is configured.
    pub oidc_available: bool,
    /// The elevation in force: (role, until, reason).
    pub elevation: Option<(String, String, String)>,
    /// The role the account may elevate to.
    pub eligible: Option<String>,
    /// The longest elevation.
    pub max_minutes: u32,
    /// (signed in, last active, network, this one).
    pub sessions: Vec<(String, String, String, bool)>,
}

/// One URL of the inbox.
#[derive(Debug, Clone)]
pub struct InboxRow {
    /// The URL hash, hex.
    pub hash: String,
    /// The URL.
    pub url: String,
    /// State code.
    pub state: &'static str,
    /// Reports.
    pub reports: i64,
    /// False positives.
    pub false_positives: i64,
    /// Highest score.
    pub max_score: u8,
    /// `reason × n, …`.
    pub reasons: String,
    /// First seen.
    pub first_seen: String,
    /// Last seen.
    pub last_seen: String,
    /// Coordinated-reporting findings about this URL, or empty.
    pub flags: String,
}

/// The triage inbox.
#[derive(Template)]
#[template(path = "console/reports.html")]
pub struct ReportsPage {
    /// The header.
    pub nav: Option<Nav>,
    /// A notice.
    pub flash: Option<String>,
    /// The CSRF token.
    pub csrf: String,
    /// A refused filter or decision.
    pub error: Option<String>,
    /// Every state code.
    pub states: Vec<&'static str>,
    /// Every reason code.
    pub reasons: Vec<&'static str>,
    /// The filters as given.
    pub state: String,
    /// The reason filter.
    pub reason: String,
    /// The kind filter.
    pub kind: String,
    /// The score filter.
    pub min_score: String,
    /// The time filter.
    pub hours: String,
    /// The text filter.
    pub q: String,
    /// The order.
    pub sort: String,
    /// The rows.
    pub groups: Vec<InboxRow>,
    /// Every coordinated-reporting finding of the window, in words.
    pub coordinated: Vec<String>,
    /// The next page's offset.
    pub next_offset: Option<u32>,
    /// This page's link without the offset.
    pub next_link: String,
}

/// One report on the detail page.
#[derive(Debug, Clone)]
pub struct ReportItem {
    /// Id.
    pub id: i64,
    /// `report` or `false_positive`.
    pub kind: &'static str,
    /// Received.
    pub received: String,
    /// Reason code.
    pub reason: &'static str,
    /// The free text of `other`.
    pub reason_text: Option<String>,
    /// Score.
    pub score: u8,
    /// Pack version.
    pub pack_version: String,
    /// Extension version.
    pub extension_version: String,
    /// Network.
    pub client_net: String,
    /// The install token's id, shortened.
    pub install: String,
    /// Screenshot hash or `none`.
    pub screenshot: String,
    /// (key, evidence).
    pub findings: Vec<(String, String)>,
}

/// One URL's detail.
#[derive(Template)]
#[template(path = "console/report.html")]
pub struct ReportPage {
    /// The header.
    pub nav: Option<Nav>,
    /// A notice.
    pub flash: Option<String>,
    /// The CSRF token.
    pub csrf: String,
    /// The URL.
    pub url: String,
    /// The hash, hex.
    pub hash: String,
    /// State.
    pub state: &'static str,
    /// Who set it.
    pub changed_by: Option<String>,
    /// Reports.
    pub reports: i64,
    /// False positives.
    pub false_positives: i64,
    /// Highest score.
    pub max_score: u8,
    /// First seen.
    pub first_seen: String,
    /// Last seen.
    pub last_seen: String,
    /// The states a decision may move it to.
    pub next_states: Vec<&'static str>,
    /// The reports.
    pub items: Vec<ReportItem>,
    /// (when, who, from, to, note).
    pub history: Vec<(String, String, &'static str, &'static str, String)>,
    /// Whether the viewer may turn it into a proposal now (it is verified or benign).
    pub propose: bool,
}

/// One proposal in a list.
#[derive(Debug, Clone)]
pub struct ProposalRow {
    /// Its id.
    pub id: i64,
    /// What it changes.
    pub kind: &'static str,
    /// What it is about.
    pub subject: String,
    /// Where it is.
    pub state: &'static str,
    /// The version it deploys as (pack changes).
    pub version: String,
    /// `passed`, `failed` or `not run`.
    pub test: &'static str,
    /// Who proposed it.
    pub proposed_by: String,
    /// When.
    pub proposed_at: String,
}

/// The Rules or Bulletins module.
#[derive(Template)]
#[template(path = "console/proposals.html")]
pub struct ProposalsPage {
    /// The header.
    pub nav: Option<Nav>,
    /// A notice.
    pub flash: Option<String>,
    /// The CSRF token.
    pub csrf: String,
    /// Bulletins (true) or rules.
    pub bulletins: bool,
    /// The pack version the origin serves.
    pub served: String,
    /// The proposals, newest first.
    pub rows: Vec<ProposalRow>,
    /// Whether the viewer may propose.
    pub can_propose: bool,
    /// Whether the viewer may publish (and roll back).
    pub can_publish: bool,
    /// Versions the origin served, newest first (for a rollback).
    pub versions: Vec<String>,
}

/// One proposal.
#[derive(Template)]
#[template(path = "console/proposal.html")]
pub struct ProposalPage {
    /// The header.
    pub nav: Option<Nav>,
    /// A notice.
    pub flash: Option<String>,
    /// The CSRF token.
    pub csrf: String,
    /// The summary.
    pub row: ProposalRow,
    /// Why.
    pub note: String,
    /// The details (JSON).
    pub details: String,
    /// The reported URL it came from.
    pub url_hash: Option<String>,
    /// The version it was built on.
    pub base_version: String,
    /// What `pack validate` and `pack test` said.
    pub test_summary: String,
    /// The approving publisher.
    pub approved_by: Option<String>,
    /// When and by whom it was finished.
    pub finished: Option<String>,
    /// What happened.
    pub outcome: Option<String>,
    /// (when, who, key id).
    pub signatures: Vec<(String, String, String)>,
    /// The pack version the origin serves now.
    pub served: String,
    /// Whether the viewer may sign now.
    pub can_sign: bool,
    /// Whether the viewer may reject it.
    pub can_reject: bool,
    /// Whether the viewer already signed it.
    pub signed_already: bool,
}
