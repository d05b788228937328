//! Single sign-on through OpenID Connect: the first factor only.
//!
//! An identity signs in only to an account that was invited and then linked to it by its
//! own signed-in owner (Your account → Link single sign-on); accounts are matched by the
//! provider's issuer and subject, never by email. After the provider, the account's own
//! TOTP is still required.
//!
//! The provider's redirect back is a cross-site navigation, which carries no
//! `SameSite=Strict` cookie: the pending sign-in is named by its own `SameSite=Lax`
//! cookie (random, HttpOnly, ten minutes, used once), and the callback answers with a
//! page that moves on to the code step from our own origin, so the strict session cookie
//! it sets is sent there.

use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ferretwatch_store::{AccessOutcome, AccountId, ClientNet, NewAuditEntry};
use ferretwatch_types::Timestamp;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use super::error::ConsoleError;
use super::login::{log_access, start_second_step, with_cookies};
use super::oidc::{OidcClient, OidcConfig, PendingLogin};
use super::session::{self, OIDC_COOKIE};
use super::views::render;
use super::ConsoleSetupError;
use crate::extract::ClientIp;
use crate::state::AppState;

/// How long a pending sign-in lives.
const PENDING_TTL: Duration = Duration::from_secs(600);

/// The configured provider, discovered on first use (a provider that is down at start
/// must not stop the service).
#[derive(Debug)]
pub struct Sso {
    config: OidcConfig,
    client: OnceCell<OidcClient>,
    http: reqwest::Client,
    /// The sign-in button's label.
    pub label: String,
}

impl Sso {
    /// From the settings; the callback is `{console_url}/admin/login/oidc/callback`.
    pub fn new(
        issuer: &str,
        client_id: &str,
        secret: SecretString,
        console_url: &str,
        label: &str,
    ) -> Result<Self, ConsoleSetupError> {
        let bad = |what: &str, e: url::ParseError| ConsoleSetupError::Oidc(format!("{what}: {e}"));
        let config = OidcConfig {
            issuer: url::Url::parse(issuer).map_err(|e| bad("oidc_issuer", e))?,
            client_id: client_id.to_owned(),
            client_secret: secret,
            redirect_url: url::Url::parse(&format!("{console_url}/admin/login/oidc/callback"))
                .map_err(|e| bad("public_url", e))?,
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConsoleSetupError::Oidc(e.to_string()))?;
        Ok(Sso { config, client: OnceCell::new(), http, label: label.to_owned() })
    }

    async fn client(&self) -> Result<&OidcClient, ConsoleError> {
        self.client.get_or_try_init(|| OidcClient::discover(self.config.clone(), self.http.clone())).await.map_err(
            |e| {
                tracing::warn!(error = %e, "single sign-on: the provider could not be discovered");
                ConsoleError::BadRequest(
                    "Single sign-on is unavailable: the identity provider did not answer. Sign in with your password."
                        .into(),
                )
            },
        )
    }
}

/// What is kept between the redirect and the callback.
#[derive(Serialize, Deserialize)]
struct Pending {
    login: PendingLogin,
    /// Set when a signed-in account is linking its identity.
    link: Option<i64>,
}

/// Query of the start route.
#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    link: Option<String>,
}

fn lax_cookie(value: &str, max_age: Duration) -> HeaderValue {
    session::cookie_with(OIDC_COOKIE, value, cookie::SameSite::Lax, Some(max_age))
}

/// `GET /admin/login/oidc[?link=1]`: off to the provider.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StartQuery>,
) -> Result<Response, ConsoleError> {
    let sso = state.console.oidc.as_ref().ok_or(ConsoleError::NotFound)?;
    let link = match query.link {
        Some(_) => Some(session::current(&state, &headers).await?.ok_or(ConsoleError::SignedOut)?.account.id.0),
        None => None,
    };
    let client = sso.client().await?;
    let (url, login) = client.begin();
    let id = session::new_secret()?;
    let payload = serde_json::to_string(&Pending { login, link }).map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let expires = Timestamp::from_millis(Timestamp::now().as_millis() + PENDING_TTL.as_millis() as i64);
    state.store.put_oidc_pending(&session::id_hash(&id).expect("ours"), &payload, expires).await?;
    Ok(with_cookies(Redirect::to(url.as_str()).into_response(), &[lax_cookie(&id, PENDING_TTL)]))
}

/// The callback's query.
#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/continue.html")]
struct ContinuePage {
    title: &'static str,
    next: &'static str,
}

/// `GET /admin/login/oidc/callback`: back from the provider.
pub async fn callback(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, ConsoleError> {
    let sso = state.console.oidc.as_ref().ok_or(ConsoleError::NotFound)?;
    let net = ClientNet::from_ip(ip);
    if let Err(wait) = state.console.by_network.check(net.as_str()) {
        return Err(ConsoleError::TooMany(wait));
    }
    let expired =
        || ConsoleError::BadRequest("This single sign-on attempt has expired or was already used. Start again.".into());
    let id = session::cookie(&headers, OIDC_COOKIE).ok_or_else(expired)?;
    let hash = session::id_hash(&id).ok_or_else(expired)?;
    let payload = state.store.take_oidc_pending(&hash, Timestamp::now()).await?.ok_or_else(expired)?;
    let pending: Pending = serde_json::from_str(&payload).map_err(|_| expired())?;
    let clear = lax_cookie("", Duration::ZERO);
    if let Some(error) = query.error {
        let error: String = error.chars().filter(char::is_ascii_alphanumeric).take(64).collect();
        return Err(ConsoleError::BadRequest(format!("The identity provider refused the sign-in ({error}).")));
    }
    let client = sso.client().await?;
    let identity = match client.complete(&pending.login, &query.state, &query.code).await {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(error = %e, "single sign-on: the provider's answer was refused");
            log_access(&state, &headers, "(oidc)", None, &net, "oidc", AccessOutcome::BadPassword).await;
            return Err(ConsoleError::BadRequest(
                "The identity provider's answer could not be verified. Start again.".into(),
            ));
        }
    };
    if let Some(account_id) = pending.link {
        let account = state.store.get_account(AccountId(account_id)).await?;
        let entry = NewAuditEntry {
            at: Timestamp::now(),
            actor: account.email.clone(),
            action: "account.oidc_linked".into(),
            target: account.email.clone(),
            details: serde_json::json!({ "issuer": identity.issuer, "subject": identity.subject }),
        };
        let identity_ref = Some((identity.issuer.as_str(), identity.subject.as_str()));
        state.store.link_oidc(account.id, identity_ref, state.console.audited(&entry)).await?;
        let page = render(StatusCode::OK, &ContinuePage { title: "Single sign-on linked", next: "/admin/account" });
        return Ok(with_cookies(page, &[clear]));
    }
    let who = identity.email.clone().unwrap_or_else(|| format!("{}#{}", identity.issuer, identity.subject));
    let Some((account, _)) = state.store.find_account_by_oidc(&identity.issuer, &identity.subject).await? else {
        log_access(&state, &headers, &who, None, &net, "oidc", AccessOutcome::UnknownAccount).await;
        return Err(ConsoleError::BadRequest(
            "This identity is not linked to a console account. Sign in with your password and link it from Your account."
                .into(),
        ));
    };
    let now = Timestamp::now();
    if !account.is_active() {
        log_access(&state, &headers, &account.email, Some(account.id), &net, "oidc", AccessOutcome::Disabled).await;
        return Err(ConsoleError::BadRequest("This account is disabled.".into()));
    }
    if account.locked_until.is_some_and(|u| u > now) {
        log_access(&state, &headers, &account.email, Some(account.id), &net, "oidc", AccessOutcome::Locked).await;
        return Err(ConsoleError::BadRequest(
            "This account is locked after repeated failures; try again later.".into(),
        ));
    }
    let cookie = start_second_step(&state, &account, &net).await?;
    let mut page =
        render(StatusCode::OK, &ContinuePage { title: "Signed in with single sign-on", next: "/admin/login/totp" });
    page.headers_mut().append(header::SET_COOKIE, clear);
    Ok(with_cookies(page, &[cookie]))
}
