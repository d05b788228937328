//! Console sessions: cookies, the signed-in extractor, and CSRF tokens.
//!
//! - Session ids are 256 random bits, drawn by the server only (never taken from a
//!   request), stored as SHA-256, and replaced at every change of privilege: the first
//!   factor gets a short-lived `password`-stage session, the second factor a new `full`
//!   one, so a fixed or stolen pre-login id is worth nothing.
//! - Cookies are `__Host-` prefixed, `HttpOnly`, `Secure`, `SameSite=Strict`, `Path=/`.
//! - A session ends after `idle_timeout_minutes` without a request or
//!   `absolute_timeout_hours` after sign-in, whichever comes first.
//! - CSRF tokens are HMACs of the session id's hash under the console secret: nothing to
//!   store, different per session, and useless to anyone without the cookie.

use std::marker::PhantomData;
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use ferretwatch_store::{Account, Elevation, NewAuditEntry, Session, SessionStage, TokenRole};
use ferretwatch_types::{Sha256, Timestamp};

use super::error::ConsoleError;
use super::permissions::{self, Permission};
use crate::state::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "__Host-fw_session";
/// The pre-sign-in cookie that binds the sign-in and enrolment forms' CSRF tokens.
pub const PRE_COOKIE: &str = "__Host-fw_pre";
/// The cookie that names a pending OpenID Connect sign-in.
pub const OIDC_COOKIE: &str = "__Host-fw_oidc";

/// A cookie's value from the request, if present once or more (the first wins).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| cookie::Cookie::parse(pair.trim().to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value with every protective attribute; `max_age` `None` for a browser
/// session cookie.
pub fn set_cookie(name: &str, value: &str, max_age: Option<Duration>) -> HeaderValue {
    cookie_with(name, value, cookie::SameSite::Strict, max_age)
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(name: &str) -> HeaderValue {
    cookie_with(name, "", cookie::SameSite::Strict, Some(Duration::ZERO))
}

/// `HttpOnly`, `Secure`, `Path=/`, the given `SameSite` (strict everywhere but the pending
/// single sign-on, which a cross-site redirect must carry).
pub fn cookie_with(name: &str, value: &str, same_site: cookie::SameSite, max_age: Option<Duration>) -> HeaderValue {
    let mut c = cookie::Cookie::new(name.to_owned(), value.to_owned());
    c.set_http_only(true);
    c.set_secure(true);
    c.set_same_site(same_site);
    c.set_path("/");
    if let Some(age) = max_age {
        c.set_max_age(cookie::time::Duration::seconds(age.as_secs() as i64));
    }
    HeaderValue::from_str(&c.to_string()).expect("cookie values are hex")
}

/// 256 random bits, hex.
pub fn new_secret() -> Result<String, ConsoleError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| ConsoleError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// The stored form of a cookie's secret; `None` for anything that cannot be one of ours.
pub fn id_hash(value: &str) -> Option<Sha256> {
    (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Sha256::of(value.as_bytes()))
}

/// The CSRF token of a session.
pub fn csrf_token(state: &AppState, session_hash: &Sha256) -> String {
    hex::encode(state.console.keys.mac("csrf", session_hash.as_bytes()))
}

/// The CSRF token of a pre-sign-in cookie.
pub fn pre_csrf_token(state: &AppState, pre_hash: &Sha256) -> String {
    hex::encode(state.console.keys.mac("pre-csrf", pre_hash.as_bytes()))
}

/// Who is signed in, in what role, through which session.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The account.
    pub account: Account,
    /// The session.
    pub session: Session,
    /// The role in force: the elevation's while it lasts, else the account's.
    pub role: TokenRole,
    /// The elevation in force, if any.
    pub elevation: Option<Elevation>,
    /// This session's CSRF token, for every form.
    pub csrf: String,
}

impl Viewer {
    /// Whether the role in force may do `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        permissions::allows(self.role, permission)
    }

    /// The actor name in audit entries.
    pub fn actor(&self) -> String {
        self.account.email.clone()
    }

    /// An audit entry for something this viewer does now.
    pub fn audit_entry(&self, action: &str, target: &str, details: serde_json::Value) -> NewAuditEntry {
        NewAuditEntry {
            at: Timestamp::now(),
            actor: self.actor(),
            action: action.to_owned(),
            target: target.to_owned(),
            details,
        }
    }
}

/// What a route needs beyond being signed in.
pub trait Need: Send + Sync + 'static {
    /// The permission, or `None` for any signed-in account.
    const PERMISSION: Option<Permission>;
}

macro_rules! needs {
    ($($(#[$doc:meta])* $name:ident => $permission:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;
        impl Need for $name {
            const PERMISSION: Option<Permission> = $permission;
        }
    )*};
}

needs! {
    /// Any signed-in account (its own account page, sign-out, elevation).
    Anyone => None;
    /// The dashboard.
    Dashboard => Some(Permission::ViewDashboard);
    /// The audit and access logs.
    Audit => Some(Permission::ViewAudit);
    /// Audit exports.
    Export => Some(Permission::ExportAudit);
    /// Accounts.
    Accounts => Some(Permission::ManageAccounts);
    /// Policies and settings.
    Policies => Some(Permission::ManageSettings);
    /// The triage inbox and decisions.
    Triage => Some(Permission::TriageReports);
    /// The Rules and Bulletins modules.
    Rules => Some(Permission::ViewRules);
    /// Proposing rules and bulletins.
    Propose => Some(Permission::ProposeRules);
    /// Signing, rejecting and rolling back.
    Publish => Some(Permission::PublishRules);
}

/// A signed-in viewer whose role in force has `P`'s permission.
#[derive(Debug)]
pub struct Signed<P> {
    /// The viewer.
    pub viewer: Viewer,
    _need: PhantomData<P>,
}

impl<S, P> FromRequestParts<S> for Signed<P>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    P: Need,
{
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let Some(viewer) = current(&state, &parts.headers).await? else {
            // Half-way through signing in: back to the code step. A session cookie that no
            // longer works: say that the session ended.
            let Some(hash) = cookie(&parts.headers, SESSION_COOKIE).as_deref().and_then(id_hash) else {
                return Err(ConsoleError::SignedOut);
            };
            let pending = state.store.find_session(&hash).await?;
            let now = Timestamp::now();
            return Err(match pending {
                Some(s) if s.stage == SessionStage::Password && s.expires_at > now => ConsoleError::SecondStep,
                _ => ConsoleError::Expired,
            });
        };
        if let Some(permission) = P::PERMISSION {
            if !viewer.can(permission) {
                return Err(ConsoleError::Forbidden { role: viewer.role, permission, viewer: Box::new(viewer) });
            }
        }
        Ok(Signed { viewer, _need: PhantomData })
    }
}

/// The signed-in viewer, if the request carries a live, fully signed-in session. Expired
/// sessions are deleted on sight.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<Viewer>, ConsoleError> {
    let Some(hash) = cookie(headers, SESSION_COOKIE).as_deref().and_then(id_hash) else { return Ok(None) };
    let Some(session) = state.store.find_session(&hash).await? else { return Ok(None) };
    let now = Timestamp::now();
    if session.stage != SessionStage::Full {
        return Ok(None);
    }
    if is_expired(state, &session, now) {
        state.store.delete_session(&hash).await?;
        return Ok(None);
    }
    let account = match state.store.get_account(session.account_id).await {
        Ok(a) if a.is_active() => a,
        Ok(_) | Err(_) => {
            state.store.delete_session(&hash).await?;
            return Ok(None);
        }
    };
    // A quarter of the idle timeout, at most a minute: an active session is always
    // recorded as active well before it could count as idle.
    let granularity = (idle_ms(state) / 4).min(60_000);
    if let Err(e) = state.store.touch_session(&hash, now, granularity).await {
        tracing::warn!(error = %crate::error::chain(&e), "could not record session activity");
    }
    let elevation = session.elevation.clone().filter(|e| e.until > now);
    let role = elevation.as_ref().map_or(account.role, |e| e.role);
    let csrf = csrf_token(state, &hash);
    Ok(Some(Viewer { account, session, role, elevation, csrf }))
}

/// Past its absolute end or idle for too long.
pub fn is_expired(state: &AppState, session: &Session, now: Timestamp) -> bool {
    now >= session.expires_at || now.as_millis() - session.last_seen_at.as_millis() > idle_ms(state)
}

fn idle_ms(state: &AppState) -> i64 {
    i64::from(state.console.policies.idle_timeout_minutes().max(1)) * 60_000
}
