//! Signing in and out, and enrolment by invitation.
//!
//! Sign-in is two steps: the password (or single sign-on) opens a `password`-stage session
//! that lives five minutes and can do nothing but submit a TOTP or recovery code; the code
//! replaces it with a new `full` session. Every attempt is throttled per client network
//! and per account name, counted towards the account's lock-out, and written to the
//! access log. A wrong password and an unknown address get the same answer after the same
//! work (an argon2id check against a dummy hash).

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ferretwatch_store::{
    AccessEvent, AccessOutcome, Account, AccountId, ClientNet, Email, NewAccount, NewAuditEntry, NewSession,
    SessionStage, TokenRole,
};
use ferretwatch_types::{Sha256, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use super::error::ConsoleError;
use super::permissions::{self, Permission};
use super::session::{self, Viewer, PRE_COOKIE, SESSION_COOKIE};
use super::views::{render, time, EnrolPage, EnrolledPage, LoginPage, TotpPage};
use crate::extract::ClientIp;
use crate::state::AppState;

/// How long the second step may take.
const PENDING_TTL: Duration = Duration::from_secs(300);
/// Passwords: at least this many characters.
pub const MIN_PASSWORD: usize = 12;
/// And at most this many (argon2 takes any length; a megabyte of password is an attack).
pub const MAX_PASSWORD: usize = 1024;
/// Recovery codes per account.
pub const RECOVERY_CODES: usize = 10;
/// The TOTP issuer shown in authenticator apps.
const ISSUER: &str = "FerretWatch";

/// An argon2id PHC string (the crate's defaults: 19 MiB, 2 passes, 1 lane).
pub fn hash_password(password: &SecretString) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default().hash_password(password.expose_secret().as_bytes(), &salt)?.to_string())
}

/// Whether `password` matches the PHC string (constant time inside argon2).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

async fn verify_blocking(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await.unwrap_or(false)
}

fn totp_for(seed: Vec<u8>, email: &str) -> TOTP {
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, seed, Some(ISSUER.to_owned()), email.to_owned())
}

/// The time step whose code `code` is, within one step of now, if any (constant-time
/// comparison of each candidate).
pub fn matching_step(seed: &[u8], email: &str, code: &str, now: Timestamp) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp_for(seed.to_vec(), email);
    let now = now.as_secs();
    let mut found = None;
    for step in [now / 30 - 1, now / 30, now / 30 + 1] {
        let expected = totp.generate(step * 30);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step as i64);
        }
    }
    found
}

/// The keyed hash a recovery code is stored as (keyed by the console secret, so a copy of
/// the database cannot be searched for codes).
pub fn recovery_hash(state: &AppState, email: &str, code: &str) -> Sha256 {
    let normalised: String = code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    Sha256::from_bytes(state.console.keys.mac("recovery-code", format!("{email}\n{normalised}").as_bytes()))
}

fn new_recovery_code() -> Result<String, ConsoleError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    getrandom::getrandom(&mut bytes).map_err(|e| ConsoleError::Internal(format!("no randomness: {e}")))?;
    let chars: String = bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

/// Where an account lands after signing in: the first section its role may open.
pub fn home(role: TokenRole) -> &'static str {
    if permissions::allows(role, Permission::ViewDashboard) {
        "/admin"
    } else if permissions::allows(role, Permission::ViewAudit) {
        "/admin/audit"
    } else {
        "/admin/account"
    }
}

/// The pre-sign-in cookie's value: the request's, or a new one to set.
fn pre_cookie(headers: &HeaderMap) -> Result<(String, bool), ConsoleError> {
    match session::cookie(headers, PRE_COOKIE).filter(|v| session::id_hash(v).is_some()) {
        Some(v) => Ok((v, false)),
        None => Ok((session::new_secret()?, true)),
    }
}

pub(crate) fn with_cookies(mut response: Response, cookies: &[axum::http::HeaderValue]) -> Response {
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    response
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(256).collect())
}

/// Writes one row of the access log; a failure is logged, never shown (the attempt's
/// outcome stands).
pub async fn log_access(
    state: &AppState,
    headers: &HeaderMap,
    email: &str,
    account: Option<AccountId>,
    net: &ClientNet,
    method: &str,
    outcome: AccessOutcome,
) {
    let event = AccessEvent {
        at: Timestamp::now(),
        email: email.chars().take(254).collect::<String>().to_lowercase(),
        account_id: account,
        client_net: net.as_str().to_owned(),
        method: method.to_owned(),
        outcome,
        user_agent: user_agent(headers),
    };
    if let Err(e) = state.store.append_access(&event).await {
        tracing::error!(error = %crate::error::chain(&e), "could not write the admin access log");
    }
    metrics::counter!("ferretwatch_console_signins_total", "method" => method.to_owned(), "outcome" => outcome.code())
        .increment(1);
}

/// Query of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// Set after signing out.
    #[serde(default)]
    signed_out: Option<String>,
    /// Set after a session expired.
    #[serde(default)]
    expired: Option<String>,
}

/// `GET /admin/login`.
pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ConsoleError> {
    if let Some(viewer) = session::current(&state, &headers).await? {
        return Ok(Redirect::to(home(viewer.role)).into_response());
    }
    let flash = if query.signed_out.is_some() {
        Some("You have signed out.".to_owned())
    } else {
        query.expired.is_some().then(|| "Your session has ended. Sign in again.".to_owned())
    };
    login_form(&state, &headers, StatusCode::OK, String::new(), None, flash)
}

fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    email: String,
    error: Option<String>,
    flash: Option<String>,
) -> Result<Response, ConsoleError> {
    let (pre, new) = pre_cookie(headers)?;
    let csrf = session::pre_csrf_token(state, &session::id_hash(&pre).expect("ours"));
    let oidc_label = state.console.oidc.as_ref().map(|o| o.label.clone());
    let page = render(status, &LoginPage { nav: None, flash, csrf, email, error, oidc_label });
    let cookies = if new { vec![session::set_cookie(PRE_COOKIE, &pre, None)] } else { vec![] };
    Ok(with_cookies(page, &cookies))
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

const WRONG: &str = "The email or password is wrong.";

fn locked_message(until: Timestamp, now: Timestamp) -> String {
    let minutes = ((until.as_millis() - now.as_millis()).max(0) + 59_999) / 60_000;
    format!("Too many failed attempts: this account is locked for {minutes} more minute(s).")
}

/// `POST /admin/login`: the first factor.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    let net = ClientNet::from_ip(ip);
    let typed = form.email.trim().chars().take(254).collect::<String>();
    if let Err(wait) = state.console.by_network.check(net.as_str()) {
        log_access(&state, &headers, &typed, None, &net, "password", AccessOutcome::Throttled).await;
        return Err(ConsoleError::TooMany(wait));
    }
    if let Err(wait) = state.console.by_account.check(&typed.to_lowercase()) {
        log_access(&state, &headers, &typed, None, &net, "password", AccessOutcome::Throttled).await;
        return Err(ConsoleError::TooMany(wait));
    }
    let found = match Email::parse(&typed) {
        Ok(email) => state.store.find_account_by_email(&email).await?,
        Err(_) => None,
    };
    let password = form.password.chars().take(MAX_PASSWORD).collect::<String>();
    let now = Timestamp::now();
    let fail =
        |message: String| login_form(&state, &headers, StatusCode::UNAUTHORIZED, typed.clone(), Some(message), None);
    let Some((account, secrets)) = found else {
        verify_blocking(password, state.console.dummy_hash.clone()).await;
        log_access(&state, &headers, &typed, None, &net, "password", AccessOutcome::UnknownAccount).await;
        return fail(WRONG.into());
    };
    if !account.is_active() {
        verify_blocking(password, state.console.dummy_hash.clone()).await;
        log_access(&state, &headers, &typed, Some(account.id), &net, "password", AccessOutcome::Disabled).await;
        return fail(WRONG.into());
    }
    if let Some(until) = account.locked_until.filter(|u| *u > now) {
        log_access(&state, &headers, &typed, Some(account.id), &net, "password", AccessOutcome::Locked).await;
        return fail(locked_message(until, now));
    }
    let Some(phc) = secrets.password_hash else {
        verify_blocking(password, state.console.dummy_hash.clone()).await;
        log_access(&state, &headers, &typed, Some(account.id), &net, "password", AccessOutcome::BadPassword).await;
        return fail(WRONG.into());
    };
    if !verify_blocking(password, phc).await {
        let after = state.console.policies.lockout_after();
        let policy = move |n: i64| super::throttle::lockout_ms(n, after);
        let failures = state.store.record_login_failure(account.id, now, &policy).await?;
        log_access(&state, &headers, &typed, Some(account.id), &net, "password", AccessOutcome::BadPassword).await;
        let lock = super::throttle::lockout_ms(failures, after);
        let message =
            if lock > 0 { locked_message(Timestamp::from_millis(now.as_millis() + lock), now) } else { WRONG.into() };
        return fail(message);
    }
    let cookie = start_second_step(&state, &account, &net).await?;
    Ok(with_cookies(Redirect::to("/admin/login/totp").into_response(), &[cookie]))
}

/// Opens the `password`-stage session after a first factor (password or single sign-on);
/// returns its cookie.
pub async fn start_second_step(
    state: &AppState,
    account: &Account,
    net: &ClientNet,
) -> Result<axum::http::HeaderValue, ConsoleError> {
    let id = session::new_secret()?;
    let now = Timestamp::now();
    state
        .store
        .create_session(&NewSession {
            id_hash: session::id_hash(&id).expect("ours"),
            account_id: account.id,
            stage: SessionStage::Password,
            created_at: now,
            expires_at: Timestamp::from_millis(now.as_millis() + PENDING_TTL.as_millis() as i64),
            client_net: Some(net.as_str().to_owned()),
        })
        .await?;
    Ok(session::set_cookie(SESSION_COOKIE, &id, None))
}

/// The pending (second-step) session of the request, if live.
async fn pending(state: &AppState, headers: &HeaderMap) -> Result<Option<(Sha256, Account)>, ConsoleError> {
    let Some(hash) = session::cookie(headers, SESSION_COOKIE).as_deref().and_then(session::id_hash) else {
        return Ok(None);
    };
    let Some(s) = state.store.find_session(&hash).await? else { return Ok(None) };
    if s.stage != SessionStage::Password || s.expires_at <= Timestamp::now() {
        return Ok(None);
    }
    let account = state.store.get_account(s.account_id).await?;
    Ok(account.is_active().then_some((hash, account)))
}

/// `GET /admin/login/totp`.
pub async fn totp_page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ConsoleError> {
    let Some((hash, account)) = pending(&state, &headers).await? else {
        return Ok(Redirect::to("/admin/login").into_response());
    };
    let csrf = session::csrf_token(&state, &hash);
    Ok(render(StatusCode::OK, &TotpPage { nav: None, flash: None, csrf, email: account.email, error: None }))
}

/// The second-factor form.
#[derive(Deserialize)]
pub struct TotpForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    recovery: String,
}

/// `POST /admin/login/totp`: the second factor; on success a new, full session.
pub async fn totp(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<TotpForm>,
) -> Result<Response, ConsoleError> {
    let net = ClientNet::from_ip(ip);
    let Some((pending_hash, account)) = pending(&state, &headers).await? else {
        return Ok(Redirect::to("/admin/login").into_response());
    };
    let method = if form.recovery.trim().is_empty() { "totp" } else { "recovery" };
    if let Err(wait) = state.console.by_account.check(&account.email) {
        log_access(&state, &headers, &account.email, Some(account.id), &net, method, AccessOutcome::Throttled).await;
        return Err(ConsoleError::TooMany(wait));
    }
    let now = Timestamp::now();
    if account.locked_until.is_some_and(|u| u > now) {
        state.store.delete_session(&pending_hash).await?;
        log_access(&state, &headers, &account.email, Some(account.id), &net, method, AccessOutcome::Locked).await;
        let message = locked_message(account.locked_until.unwrap_or(now), now);
        return login_form(&state, &headers, StatusCode::UNAUTHORIZED, account.email, Some(message), None);
    }
    let secrets = state.store.account_secrets(account.id).await?;
    let accepted = if method == "recovery" {
        let hash = recovery_hash(&state, &account.email, &form.recovery);
        state.store.use_recovery_code(account.id, &hash, now).await?
    } else {
        let seed = secrets.totp_secret.as_deref().and_then(|s| state.console.keys.open_totp(s));
        match seed.and_then(|seed| matching_step(&seed, &account.email, &form.code, now)) {
            Some(step) => state.store.accept_totp_step(account.id, step).await?,
            None => false,
        }
    };
    if !accepted {
        let after = state.console.policies.lockout_after();
        let policy = move |n: i64| super::throttle::lockout_ms(n, after);
        state.store.record_login_failure(account.id, now, &policy).await?;
        log_access(&state, &headers, &account.email, Some(account.id), &net, method, AccessOutcome::BadSecondFactor)
            .await;
        let csrf = session::csrf_token(&state, &pending_hash);
        let error = Some("That code is wrong or was already used.".to_owned());
        let page = TotpPage { nav: None, flash: None, csrf, email: account.email, error };
        return Ok(render(StatusCode::UNAUTHORIZED, &page));
    }
    // A new id for the signed-in session: the pending one is spent.
    state.store.delete_session(&pending_hash).await?;
    let id = session::new_secret()?;
    let absolute = i64::from(state.settings.console.absolute_timeout_hours.max(1)) * 3_600_000;
    state
        .store
        .create_session(&NewSession {
            id_hash: session::id_hash(&id).expect("ours"),
            account_id: account.id,
            stage: SessionStage::Full,
            created_at: now,
            expires_at: Timestamp::from_millis(now.as_millis() + absolute),
            client_net: Some(net.as_str().to_owned()),
        })
        .await?;
    state.store.record_login_success(account.id, now).await?;
    log_access(&state, &headers, &account.email, Some(account.id), &net, method, AccessOutcome::Success).await;
    let response = Redirect::to(home(account.role)).into_response();
    Ok(with_cookies(response, &[session::set_cookie(SESSION_COOKIE, &id, None)]))
}

/// `POST /admin/logout`: ends this session.
pub async fn logout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    if let Some(hash) = session::cookie(&headers, SESSION_COOKIE).as_deref().and_then(session::id_hash) {
        if let Some(s) = state.store.find_session(&hash).await? {
            state.store.delete_session(&hash).await?;
            if let Ok(account) = state.store.get_account(s.account_id).await {
                let net = ClientNet::from_ip(ip);
                log_access(&state, &headers, &account.email, Some(account.id), &net, "logout", AccessOutcome::Logout)
                    .await;
            }
        }
    }
    let response = Redirect::to("/admin/login?signed_out=1").into_response();
    Ok(with_cookies(response, &[session::clear_cookie(SESSION_COOKIE)]))
}

/// `POST /admin/logout/everywhere`: ends every session of the account, audited.
pub async fn logout_everywhere(
    State(state): State<AppState>,
    signed: session::Signed<session::Anyone>,
) -> Result<Response, ConsoleError> {
    let viewer: Viewer = signed.viewer;
    let ended = state.store.delete_account_sessions(viewer.account.id).await?;
    let entry = viewer.audit_entry(
        "session.logout_everywhere",
        &viewer.account.email,
        serde_json::json!({ "sessions": ended }),
    );
    state.store.append_audit(state.console.audited(&entry)).await?;
    let response = Redirect::to("/admin/login?signed_out=1").into_response();
    Ok(with_cookies(response, &[session::clear_cookie(SESSION_COOKIE)]))
}

/// Query of the enrolment page.
#[derive(Deserialize)]
pub struct EnrolQuery {
    #[serde(default)]
    code: String,
}

fn bad_invitation() -> ConsoleError {
    ConsoleError::BadRequest(
        "This invitation link is not valid, was already used, or has expired. Ask an administrator for a new one."
            .into(),
    )
}

/// `GET /admin/enrol?code=…`: the enrolment page, with the TOTP seed to add.
pub async fn enrol_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<EnrolQuery>,
) -> Result<Response, ConsoleError> {
    enrol_form(&state, &headers, &query.code, String::new(), None, StatusCode::OK).await
}

async fn enrol_form(
    state: &AppState,
    headers: &HeaderMap,
    code: &str,
    email: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let hash = super::codes::invitation_hash(code).ok_or_else(bad_invitation)?;
    let invitation = state.store.find_invitation(&hash).await?.ok_or_else(bad_invitation)?;
    if !invitation.is_open(Timestamp::now()) {
        return Err(bad_invitation());
    }
    let invitation = match invitation.totp_secret {
        Some(_) => invitation,
        None => {
            let mut seed = [0u8; 20];
            getrandom::getrandom(&mut seed).map_err(|e| ConsoleError::Internal(format!("no randomness: {e}")))?;
            let sealed = state.console.keys.seal_totp(&seed).map_err(|e| ConsoleError::Internal(e.to_string()))?;
            state.store.offer_invitation_totp(&hash, &sealed).await?
        }
    };
    let seed =
        invitation.totp_secret.as_deref().and_then(|s| state.console.keys.open_totp(s)).ok_or_else(|| {
            ConsoleError::Internal("the invitation's TOTP seed does not open with this secret".into())
        })?;
    let email = if email.is_empty() { invitation.email.clone().unwrap_or_default() } else { email };
    let label = if email.is_empty() { "console".to_owned() } else { email.clone() };
    let totp = totp_for(seed, &label);
    let (pre, new) = pre_cookie(headers)?;
    let page = EnrolPage {
        nav: None,
        flash: None,
        csrf: session::pre_csrf_token(state, &session::id_hash(&pre).expect("ours")),
        code: code.trim().to_owned(),
        role: invitation.role.code().to_owned(),
        expires: time(invitation.expires_at),
        secret: totp.get_secret_base32(),
        otpauth: totp.get_url(),
        email,
        error,
    };
    let cookies = if new { vec![session::set_cookie(PRE_COOKIE, &pre, None)] } else { vec![] };
    Ok(with_cookies(render(status, &page), &cookies))
}

/// The enrolment form.
#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
}

/// `POST /admin/enrol`: creates the account, shows the recovery codes once.
pub async fn enrol(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<EnrolForm>,
) -> Result<Response, ConsoleError> {
    let net = ClientNet::from_ip(ip);
    if let Err(wait) = state.console.by_network.check(net.as_str()) {
        return Err(ConsoleError::TooMany(wait));
    }
    let hash = super::codes::invitation_hash(&form.code).ok_or_else(bad_invitation)?;
    let invitation = state.store.find_invitation(&hash).await?.ok_or_else(bad_invitation)?;
    let now = Timestamp::now();
    if !invitation.is_open(now) {
        return Err(bad_invitation());
    }
    let retry = |error: &str| {
        let error = Some(error.to_owned());
        let (state, headers, code, email) = (state.clone(), headers.clone(), form.code.clone(), form.email.clone());
        async move { enrol_form(&state, &headers, &code, email, error, StatusCode::UNPROCESSABLE_ENTITY).await }
    };
    let Ok(email) = Email::parse(&form.email) else { return retry("Enter a valid email address.").await };
    if invitation.email.as_deref().is_some_and(|bound| bound != email.as_str()) {
        return retry("This invitation is for another email address.").await;
    }
    let length = form.password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&length) {
        return retry("The password must have at least 12 characters.").await;
    }
    if form.password.to_lowercase().contains(email.as_str().split('@').next().unwrap_or_default()) {
        return retry("The password must not contain your email's name.").await;
    }
    let seed = invitation.totp_secret.as_deref().and_then(|s| state.console.keys.open_totp(s)).ok_or_else(|| {
        ConsoleError::BadRequest("Open the invitation link again to get your authenticator key.".into())
    })?;
    let Some(step) = matching_step(&seed, email.as_str(), &form.totp, now) else {
        return retry("That code does not match: check the key in your app and the device's clock.").await;
    };
    let password = SecretString::from(form.password.clone());
    let phc = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?
        .map_err(|e| ConsoleError::Internal(format!("argon2: {e}")))?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        codes.push(new_recovery_code()?);
    }
    let sealed = invitation.totp_secret.clone().unwrap_or_default();
    let account = NewAccount {
        email: email.clone(),
        password_hash: phc,
        totp_secret: sealed,
        totp_last_step: step,
        recovery_codes: codes.iter().map(|c| recovery_hash(&state, email.as_str(), c)).collect(),
        created_at: now,
    };
    let entry = NewAuditEntry {
        at: now,
        actor: email.as_str().to_owned(),
        action: "account.enrolled".into(),
        target: email.as_str().to_owned(),
        details: serde_json::json!({ "role": invitation.role.code(), "invited_by": invitation.created_by, "network": net.as_str() }),
    };
    match state.store.redeem_invitation(&hash, &account, state.console.audited(&entry)).await {
        Ok(_) => Ok(render(StatusCode::OK, &EnrolledPage { nav: None, flash: None, codes })),
        Err(e) if e.kind() == ferretwatch_store::ErrorKind::Conflict => {
            retry("An account with this email already exists.").await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let phc = hash_password(&SecretString::from("correct horse battery")).unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterY", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only() {
        let seed = b"12345678901234567890".to_vec();
        let now = Timestamp::from_millis(1_800_000_000_000);
        let step = now.as_secs() / 30;
        let code = totp_for(seed.clone(), "a@x").generate(step * 30);
        let step = step as i64;
        assert_eq!(matching_step(&seed, "a@x", &code, now), Some(step));
        let later = Timestamp::from_millis(now.as_millis() + 30_000);
        assert_eq!(matching_step(&seed, "a@x", &code, later), Some(step));
        let much_later = Timestamp::from_millis(now.as_millis() + 90_000);
        assert_eq!(matching_step(&seed, "a@x", &code, much_later), None);
        assert_eq!(matching_step(&seed, "a@x", "12345", now), None);
        assert_eq!(matching_step(&seed, "a@x", "abcdef", now), None);
    }

    #[test]
    fn rfc_6238_sha1_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); 6 digits: 287082.
        let t = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, b"12345678901234567890".to_vec(), None, String::new());
        assert_eq!(t.generate(59), "287082");
    }

    #[test]
    fn recovery_codes_are_two_groups_of_five_from_an_unambiguous_alphabet() {
        let code = new_recovery_code().unwrap();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        assert!(!code.contains(['0', '1', 'o', 'l', 'i']));
    }
}
