//! A real OpenID Connect provider for tests: panva's `oidc-provider` from npm, run by
//! `tests/oidc-provider/provider.mjs` on a loopback port, and just enough of a browser to
//! walk its development login and consent forms up to the redirect to the client's
//! callback.
//!
//! Needs `node` and the provider's `node_modules`:
//! `source scripts/lib/oidc.sh && oidc_provider_install` (the test script runs it).
//! Without them the tests fail, saying so: a test that cannot run never passes.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ferretwatch_server::console::oidc::{OidcClient, OidcConfig};
use secrecy::SecretString;
use url::Url;

pub const CLIENT_ID: &str = "ferretwatch-console";
pub const CLIENT_SECRET: &str = "test-client-secret-value";
/// Nothing listens there: the browser stops at the redirect and never follows it.
pub const REDIRECT_URL: &str = "http://127.0.0.1:9/console/oidc/callback";
/// How long the provider may take to print its `listening` line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// `tests/oidc-provider`, when node and the provider's packages are there; a panic with
/// the install command otherwise.
pub fn provider_dir() -> Option<PathBuf> {
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
pub struct Provider {
    child: Child,
    _stdin: Option<ChildStdin>,
    pub issuer: String,
    pub port: u16,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    /// Starts the provider on `port` (0: any free one) and waits for its `listening` line.
    pub fn start(dir: &Path, port: u16) -> Provider {
        Self::start_for(dir, port, REDIRECT_URL)
    }

    /// Starts the provider with a client whose redirect URI is `redirect`.
    pub fn start_for(dir: &Path, port: u16, redirect: &str) -> Provider {
        let child = Command::new("node")
            .arg("provider.mjs")
            .args(["--port", &port.to_string()])
            .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--redirect-uri", redirect])
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

pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        // The key rotation test restarts the provider on the same port.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

pub fn config(issuer: &str) -> OidcConfig {
    OidcConfig {
        issuer: Url::parse(issuer).unwrap(),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        redirect_url: Url::parse(REDIRECT_URL).unwrap(),
    }
}

pub async fn discover(provider: &Provider) -> OidcClient {
    OidcClient::discover(config(&provider.issuer), http()).await.expect("discovery")
}

/// What the provider redirected the browser to the callback with.
#[derive(Debug)]
pub struct Callback {
    pub code: String,
    pub state: String,
}

/// A cookie the browser keeps.
struct Cookie {
    name: String,
    value: String,
    path: String,
}

/// Just enough of a browser for the provider's development interactions.
pub struct Browser {
    http: reqwest::Client,
    cookies: Vec<Cookie>,
}

impl Browser {
    pub fn new() -> Browser {
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
    pub async fn sign_in(&mut self, authorize: Url, login: &str) -> Callback {
        self.sign_in_to(authorize, login, REDIRECT_URL).await
    }

    /// Like [`Browser::sign_in`], stopping at the redirect to `redirect`.
    pub async fn sign_in_to(&mut self, authorize: Url, login: &str, redirect: &str) -> Callback {
        let callback = Url::parse(redirect).unwrap();
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
pub fn html_attribute(html: &str, marker: &str, attribute: &str) -> Option<String> {
    let rest = &html[html.find(marker)?..];
    let tag = &rest[..rest.find('>')?];
    let start = tag.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    let value = &tag[start..start + tag[start..].find('"')?];
    Some(value.replace("&amp;", "&").replace("&#x2F;", "/"))
}
