//! OpenID Connect sign-in (`console::oidc`) against a real provider: panva's
//! `oidc-provider` from npm, run by `tests/oidc-provider/provider.mjs` on a loopback
//! port. The test plays the browser by hand: it follows the provider's redirects, keeps
//! its cookies (by name and path, from `Set-Cookie`), fills the development login and
//! consent forms, and stops at the redirect to the console's callback URL, whose `code`
//! and `state` go to `OidcClient::complete`.
//!
//! Needs `node` and the provider's `node_modules`:
//! `source scripts/lib/oidc.sh && oidc_provider_install` (the test script runs it).
//! Without them the tests fail, saying so: a test that cannot run never passes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ferretwatch_server::console::oidc::{OidcClient, OidcConfig, OidcError, OidcIdentity, PendingLogin};
use secrecy::SecretString;
use url::Url;

const CLIENT_ID: &str = "ferretwatch-console";
const CLIENT_SECRET: &str = "test-client-secret-value";
/// Nothing listens there: the browser stops at the redirect and never follows it.
const REDIRECT_URL: &str = "http://127.0.0.1:9/console/oidc/callback";
/// How long the provider may take to print its `listening` line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// `tests/oidc-provider`, when node and the provider's packages are there; a panic with
/// the install command otherwise.
fn provider_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-provider");
    let node = Command::new("node").arg("--version").output().is_ok_and(|out| out.status.success());
    let packages = dir.join("node_modules/oidc-provider/package.json").is_file();
    if node && packages {
        return Some(dir);
    }
    let missing = if node { "tests/oidc-provider/node_modules (oidc-provider)" } else { "node" };
    panic!(
        "the OpenID Connect tests need {missing}: from the repository root run \
         `source scripts/lib/oidc.sh && oidc_provider_install`"
    );
}

/// The provider process: killed (and its standard input closed) on drop.
struct Provider {
    child: Child,
    _stdin: Option<ChildStdin>,
    issuer: String,
    port: u16,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    /// Starts the provider on `port` (0: any free one) and waits for its `listening` line.
    fn start(dir: &Path, port: u16) -> Provider {
        let child = Command::new("node")
            .arg("provider.mjs")
            .args(["--port", &port.to_string()])
            .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--redirect-uri", REDIRECT_URL])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node could not be started");
        let mut provider = Provider { child, _stdin: None, issuer: String::new(), port: 0 };
        provider._stdin = provider.child.stdin.take();
        let stdout = provider.child.stdout.take().expect("piped stdout");
        let stderr = provider.child.stderr.take().expect("piped stderr");
        // Its stderr goes to the test's output (shown when a test fails).
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("provider: {line}");
            }
        });
        let (ready, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = ready.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => panic!("the provider printed no `listening` line within {START_TIMEOUT:?}"),
        };
        let Some(issuer) = line.trim().strip_prefix("listening ") else {
            panic!("the provider did not start (its first line was {line:?}; its stderr is above)");
        };
        provider.issuer = issuer.to_owned();
        provider.port = Url::parse(issuer).expect("issuer URL").port().expect("issuer port");
        provider
    }
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        // The key rotation test restarts the provider on the same port.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

fn config(issuer: &str) -> OidcConfig {
    OidcConfig {
        issuer: Url::parse(issuer).unwrap(),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        redirect_url: Url::parse(REDIRECT_URL).unwrap(),
    }
}

async fn discover(provider: &Provider) -> OidcClient {
    OidcClient::discover(config(&provider.issuer), http()).await.expect("discovery")
}

/// What the provider redirected the browser to the callback with.
#[derive(Debug)]
struct Callback {
    code: String,
    state: String,
}

/// A cookie the browser keeps.
struct Cookie {
    name: String,
    value: String,
    path: String,
}

/// Just enough of a browser for the provider's development interactions.
struct Browser {
    http: reqwest::Client,
    cookies: Vec<Cookie>,
}

impl Browser {
    fn new() -> Browser {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Browser { http, cookies: Vec::new() }
    }

    fn cookie_header(&self, url: &Url) -> String {
        let path = url.path();
        self.cookies
            .iter()
            .filter(|c| path == c.path || path.starts_with(&format!("{}/", c.path.trim_end_matches('/'))))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps (or, when emptied or expired, forgets) the cookies a response sets.
    fn keep_cookies(&mut self, url: &Url, headers: &reqwest::header::HeaderMap) {
        for header in headers.get_all(reqwest::header::SET_COOKIE) {
            let text = header.to_str().expect("Set-Cookie is ASCII");
            let mut parts = text.split(';').map(str::trim);
            let (name, value) = parts.next().and_then(|pair| pair.split_once('=')).expect("Set-Cookie name=value");
            let mut path = url.path().rsplit_once('/').map_or("/", |(dir, _)| dir).to_owned();
            let mut expired = value.is_empty();
            for attribute in parts {
                let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
                if key.eq_ignore_ascii_case("path") {
                    path = val.to_owned();
                } else if (key.eq_ignore_ascii_case("expires") && val.contains("1970"))
                    || (key.eq_ignore_ascii_case("max-age") && val.parse::<i64>().is_ok_and(|s| s <= 0))
                {
                    expired = true;
                }
            }
            self.cookies.retain(|c| !(c.name == name && c.path == path));
            if !expired {
                self.cookies.push(Cookie { name: name.to_owned(), value: value.to_owned(), path });
            }
        }
    }

    /// Signs in at the provider as `login` from the authorization URL, through the login
    /// and consent forms, up to the redirect to the callback.
    async fn sign_in(&mut self, authorize: Url, login: &str) -> Callback {
        let callback = Url::parse(REDIRECT_URL).unwrap();
        let mut url = authorize;
        let mut form: Option<String> = None;
        for _ in 0..20 {
            let request = match form.take() {
                Some(body) => self
                    .http
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body),
                None => self.http.get(url.clone()),
            };
            let response = request.header(reqwest::header::COOKIE, self.cookie_header(&url)).send().await.unwrap();
            self.keep_cookies(&url, response.headers());
            let status = response.status();
            if status.is_redirection() {
                let location = response.headers()[reqwest::header::LOCATION].to_str().unwrap();
                let target = url.join(location).unwrap();
                if target.origin() == callback.origin() && target.path() == callback.path() {
                    let query: std::collections::HashMap<String, String> = target.query_pairs().into_owned().collect();
                    if let Some(error) = query.get("error") {
                        panic!("the provider redirected with error {error}: {:?}", query.get("error_description"));
                    }
                    return Callback { code: query["code"].clone(), state: query["state"].clone() };
                }
                url = target;
                continue;
            }
            let body = response.text().await.unwrap();
            assert_eq!(status, reqwest::StatusCode::OK, "{url}: {body}");
            let action = html_attribute(&body, "<form", "action").expect("a form");
            let prompt = html_attribute(&body, r#"name="prompt""#, "value").expect("a prompt field");
            let mut fields = url::form_urlencoded::Serializer::new(String::new());
            fields.append_pair("prompt", &prompt);
            match prompt.as_str() {
                "login" => {
                    fields.append_pair("login", login).append_pair("password", "any password");
                }
                "consent" => {}
                other => panic!("unexpected interaction {other}"),
            }
            form = Some(fields.finish());
            url = url.join(&action).unwrap();
        }
        panic!("no redirect to the callback after 20 steps");
    }
}

/// The value of `attribute` in the first tag after `marker`, HTML entities for `&` undone.
fn html_attribute(html: &str, marker: &str, attribute: &str) -> Option<String> {
    let rest = &html[html.find(marker)?..];
    let tag = &rest[..rest.find('>')?];
    let start = tag.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    let value = &tag[start..start + tag[start..].find('"')?];
    Some(value.replace("&amp;", "&").replace("&#x2F;", "/"))
}

/// `begin`, then the browser through the provider to the callback.
async fn authorize(client: &OidcClient, login: &str) -> (PendingLogin, Callback) {
    let (url, pending) = client.begin();
    let callback = Browser::new().sign_in(url, login).await;
    (pending, callback)
}

fn alice(issuer: &str) -> OidcIdentity {
    OidcIdentity {
        issuer: issuer.to_owned(),
        subject: "alice".into(),
        email: Some("alice@example.test".into()),
        email_verified: true,
    }
}

#[tokio::test]
async fn signs_in_and_a_replayed_code_is_refused() {
    let Some(dir) = provider_dir() else { return };
    let provider = Provider::start(&dir, 0);
    let client = discover(&provider).await;
    assert_eq!(client.issuer(), provider.issuer);

    let (pending, callback) = authorize(&client, "alice").await;
    assert_eq!(callback.state, pending.state);
    let identity = client.complete(&pending, &callback.state, &callback.code).await.expect("sign-in");
    assert_eq!(identity, alice(&provider.issuer));

    // The same code again: the provider refuses it.
    match client.complete(&pending, &callback.state, &callback.code).await {
        Err(OidcError::TokenRefused { status: 400, error }) => assert_eq!(error, "invalid_grant"),
        other => panic!("a replayed code must be refused, got {other:?}"),
    }

    // Another account id is another subject.
    let (pending, callback) = authorize(&client, "bob").await;
    let bob = client.complete(&pending, &callback.state, &callback.code).await.unwrap();
    assert_eq!((bob.subject.as_str(), bob.email.as_deref()), ("bob", Some("bob@example.test")));
}

#[tokio::test]
async fn a_wrong_state_is_refused_without_spending_the_code() {
    let Some(dir) = provider_dir() else { return };
    let provider = Provider::start(&dir, 0);
    let client = discover(&provider).await;
    let (pending, callback) = authorize(&client, "alice").await;

    let (_, other) = client.begin();
    for wrong in [other.state.as_str(), "", &callback.state[1..]] {
        let result = client.complete(&pending, wrong, &callback.code).await;
        assert!(matches!(result, Err(OidcError::StateMismatch)), "{result:?}");
    }
    // The state is checked before the token request: the code is still good.
    let identity = client.complete(&pending, &callback.state, &callback.code).await.unwrap();
    assert_eq!(identity, alice(&provider.issuer));
}

#[tokio::test]
async fn a_wrong_nonce_or_pkce_verifier_is_refused() {
    let Some(dir) = provider_dir() else { return };
    let provider = Provider::start(&dir, 0);
    let client = discover(&provider).await;

    // The ID token carries the nonce of the request, not this one.
    let (pending, callback) = authorize(&client, "alice").await;
    let (_, other) = client.begin();
    let wrong_nonce = PendingLogin { nonce: other.nonce, ..pending.clone() };
    match client.complete(&wrong_nonce, &callback.state, &callback.code).await {
        Err(OidcError::InvalidIdToken(reason)) => assert!(reason.contains("nonce"), "{reason}"),
        other => panic!("a wrong nonce must be refused, got {other:?}"),
    }

    // The provider checks the PKCE verifier against the challenge `begin` sent.
    let (pending, callback) = authorize(&client, "alice").await;
    let wrong_verifier = PendingLogin { pkce_verifier: other.pkce_verifier, ..pending.clone() };
    match client.complete(&wrong_verifier, &callback.state, &callback.code).await {
        Err(OidcError::TokenRefused { error, .. }) => assert_eq!(error, "invalid_grant"),
        other => panic!("a wrong PKCE verifier must be refused, got {other:?}"),
    }
}

/// The token request by hand, to get at the raw ID token.
async fn id_token_by_hand(issuer: &str, pending: &PendingLogin, callback: &Callback) -> String {
    let http = http();
    let discovery = http.get(format!("{issuer}/.well-known/openid-configuration")).send().await.unwrap();
    let discovery: serde_json::Value = serde_json::from_slice(&discovery.bytes().await.unwrap()).unwrap();
    let token_endpoint = discovery["token_endpoint"].as_str().unwrap();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", &callback.code)
        .append_pair("redirect_uri", REDIRECT_URL)
        .append_pair("code_verifier", &pending.pkce_verifier);
    let response = http
        .post(token_endpoint)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "token request: {}", response.status());
    let answer: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    answer["id_token"].as_str().expect("an id_token").to_owned()
}

#[tokio::test]
async fn a_tampered_id_token_is_refused() {
    let Some(dir) = provider_dir() else { return };
    let provider = Provider::start(&dir, 0);
    let client = discover(&provider).await;
    let (pending, callback) = authorize(&client, "alice").await;
    let token = id_token_by_hand(&provider.issuer, &pending, &callback).await;

    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let mut claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

    let refused = |result: Result<OidcIdentity, OidcError>| match result {
        Err(OidcError::InvalidIdToken(reason)) => reason,
        other => panic!("expected the ID token to be refused, got {other:?}"),
    };

    // Another subject under the provider's signature.
    claims["sub"] = "mallory".into();
    let forged = URL_SAFE_NO_PAD.encode(claims.to_string());
    let reason = refused(client.verify_id_token(&format!("{}.{forged}.{}", parts[0], parts[2]), &pending.nonce).await);
    assert_eq!(reason, "bad signature");
    // A changed signature.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[10] ^= 1;
    let changed = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(signature));
    assert_eq!(refused(client.verify_id_token(&changed, &pending.nonce).await), "bad signature");
    // The same claims, unsigned.
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), parts[1]);
    assert!(refused(client.verify_id_token(&none, &pending.nonce).await).contains("not allowed"));
    // The genuine token with another nonce.
    let (_, other) = client.begin();
    assert!(refused(client.verify_id_token(&token, &other.nonce).await).contains("nonce"));
    // And the genuine token as it came.
    assert_eq!(client.verify_id_token(&token, &pending.nonce).await.unwrap(), alice(&provider.issuer));
}

#[tokio::test]
async fn a_new_signing_key_is_fetched_when_its_kid_is_unknown() {
    let Some(dir) = provider_dir() else { return };
    let first = Provider::start(&dir, 0);
    let client = discover(&first).await;
    let (issuer, port) = (first.issuer.clone(), first.port);
    let jwks = |issuer: String| async move {
        let body = http().get(format!("{issuer}/jwks")).send().await.unwrap().bytes().await.unwrap();
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["keys"][0]["kid"].as_str().unwrap().to_owned()
    };
    let old_kid = jwks(issuer.clone()).await;
    drop(first);

    // The same issuer again, with a key made anew: the client only knows the old one.
    let second = Provider::start(&dir, port);
    assert_eq!(second.issuer, issuer);
    assert_ne!(jwks(issuer.clone()).await, old_kid);
    let (pending, callback) = authorize(&client, "alice").await;
    let identity = client.complete(&pending, &callback.state, &callback.code).await.unwrap();
    assert_eq!(identity, alice(&issuer));
}

#[tokio::test]
async fn discovery_refuses_another_issuer() {
    let Some(dir) = provider_dir() else { return };
    let provider = Provider::start(&dir, 0);
    // Same server, but not the issuer it advertises (http://127.0.0.1:PORT).
    let localhost = format!("http://localhost:{}", provider.port);
    match OidcClient::discover(config(&localhost), http()).await {
        Err(OidcError::IssuerMismatch { advertised, .. }) => assert_eq!(advertised, provider.issuer),
        other => panic!("expected an issuer mismatch, got {other:?}"),
    }
    // Plain http is for loopback only.
    match OidcClient::discover(config("http://id.example.test"), http()).await {
        Err(OidcError::BadUrl { what: "issuer", .. }) => {}
        other => panic!("expected plain http off loopback to be refused, got {other:?}"),
    }
}
