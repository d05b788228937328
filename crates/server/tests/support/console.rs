//! A browser, by hand, for the console: a cookie jar (name → value, from `Set-Cookie`),
//! form posts with the page's CSRF token, no redirects followed; and accounts made
//! directly in the store, with a TOTP seed sealed by the server's own key.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::OnceLock;

use ferretwatch_server::console::login::hash_password;
use ferretwatch_store::{Account, Email, NewAccount, NewAuditEntry, NewInvitation, TokenRole};
use ferretwatch_types::{Sha256, Timestamp};
use reqwest::header;
use secrecy::SecretString;
use totp_rs::{Algorithm, TOTP};

use super::TestApp;

/// The password of every test account.
pub const PASSWORD: &str = "correct horse battery staple";

/// The argon2id hash of [`PASSWORD`], made once per test binary.
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&SecretString::from(PASSWORD)).unwrap())
}

/// An account made in the store and its TOTP seed.
pub struct TestAccount {
    pub account: Account,
    pub seed: Vec<u8>,
}

impl TestAccount {
    /// The code of the time step `offset` steps from now.
    pub fn code(&self, offset: i64) -> String {
        let step = Timestamp::now().as_secs() as i64 / 30 + offset;
        TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, self.seed.clone(), None, String::new())
            .generate((step * 30) as u64)
    }
}

/// Makes an account with `role` (and `eligible`), through an invitation redeemed in the
/// store, as the enrolment page would.
pub async fn make_account(app: &TestApp, email: &str, role: TokenRole, eligible: Option<TokenRole>) -> TestAccount {
    let state = &app.state;
    let now = Timestamp::now();
    let code = Sha256::of(format!("invitation for {email}").as_bytes());
    let entry = NewAuditEntry {
        at: now,
        actor: "test".into(),
        action: "account.invited".into(),
        target: email.into(),
        details: serde_json::json!({ "role": role.code() }),
    };
    let invitation = NewInvitation {
        code_hash: code,
        role,
        email: None,
        created_by: "test".into(),
        created_at: now,
        expires_at: Timestamp::from_millis(now.as_millis() + 3_600_000),
    };
    state.store.create_invitation(&invitation, state.console.audited(&entry)).await.unwrap();
    let seed: Vec<u8> = Sha256::of(email.as_bytes()).as_bytes()[..20].to_vec();
    let new = NewAccount {
        email: Email::parse(email).unwrap(),
        password_hash: password_hash().to_owned(),
        totp_secret: state.console.keys.seal_totp(&seed).unwrap(),
        totp_last_step: 0,
        recovery_codes: vec![],
        created_at: now,
    };
    let entry = NewAuditEntry { action: "account.enrolled".into(), ..entry };
    let mut account = state.store.redeem_invitation(&code, &new, state.console.audited(&entry)).await.unwrap();
    if eligible.is_some() {
        let entry = NewAuditEntry {
            action: "account.role_changed".into(),
            at: now,
            actor: "test".into(),
            target: email.into(),
            details: serde_json::json!({}),
        };
        account =
            state.store.set_account_role(account.id, role, eligible, state.console.audited(&entry)).await.unwrap();
    }
    TestAccount { account, seed }
}

/// A response, read.
pub struct Page {
    pub status: u16,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The first form's CSRF token on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start =
            self.body.find(marker).unwrap_or_else(|| panic!("no CSRF field on the page: {}", self.body)) + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }
}

/// A browser: its cookies and the app.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: HashMap<String, String>,
    pub user_agent: String,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser { app, cookies: HashMap::new(), user_agent: "FerretWatch test browser".into() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let expired = text.contains("Max-Age=0");
            if expired || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        Page { status, headers, body }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let response = self
            .app
            .client
            .get(self.app.url(path))
            .header(header::COOKIE, self.cookie_header())
            .header(header::USER_AGENT, &self.user_agent)
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    /// Posts a form as a browser would from the console's own page (with `Origin`).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_from(path, fields, Some(&format!("http://{}", self.app.addr))).await
    }

    pub async fn post_from(&mut self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request = self
            .app
            .client
            .post(self.app.url(path))
            .header(header::COOKIE, self.cookie_header())
            .header(header::USER_AGENT, &self.user_agent)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        let response = request.send().await.unwrap();
        self.read(response).await
    }

    /// Signs in with the password and the code `offset` steps from now; returns the page
    /// the code step answered.
    pub async fn sign_in(&mut self, who: &TestAccount, offset: i64) -> Page {
        let login = self.get("/admin/login").await;
        assert_eq!(login.status, 200);
        let csrf = login.csrf();
        let first =
            self.post("/admin/login", &[("csrf", &csrf), ("email", &who.account.email), ("password", PASSWORD)]).await;
        assert_eq!((first.status, first.location()), (303, Some("/admin/login/totp")), "{}", first.body);
        let totp = self.get("/admin/login/totp").await;
        assert_eq!(totp.status, 200, "{}", totp.body);
        let csrf = totp.csrf();
        self.post("/admin/login/totp", &[("csrf", &csrf), ("code", &who.code(offset))]).await
    }

    /// The session cookie, if any.
    pub fn session(&self) -> Option<String> {
        self.cookies.get("__Host-fw_session").cloned()
    }

    /// The CSRF token of the current session, from the account page.
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/admin/account").await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.csrf()
    }
}
