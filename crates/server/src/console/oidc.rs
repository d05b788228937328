//! OpenID Connect sign-in for the admin console: the authorization code flow with PKCE
//! (decision 0021).
//!
//! 1. [`OidcClient::discover`] reads the provider's metadata from
//!    `{issuer}/.well-known/openid-configuration`, checks that the `issuer` it advertises
//!    is exactly the configured one, and fetches its JWKS.
//! 2. [`OidcClient::begin`] makes the URL to send the browser to, with fresh `state`,
//!    `nonce` and PKCE verifier (32 random bytes each, base64url), and the
//!    [`PendingLogin`] the console keeps **server-side** until the callback.
//! 3. [`OidcClient::complete`] takes the callback's `state` and `code`: compares the state
//!    in constant time, exchanges the code at the token endpoint (client secret in HTTP
//!    Basic, or in the form where the provider supports only that, and the PKCE
//!    verifier), and verifies the ID token.
//!
//! The ID token is accepted only when signed with an asymmetric algorithm (EdDSA, ES256,
//! RS256 or PS256; never `none` or HS*) by a key of the provider's JWKS (picked by `kid`;
//! the JWKS is fetched once more when the `kid` is unknown, so key rotation works), and
//! when `iss` is the discovered issuer, `aud` names our client id (with `azp`, when
//! present, equal to it, and required when there are several audiences), `exp`, `iat`
//! and `nbf` are within [`LEEWAY_SECS`] of the clock (and `iat` at most
//! [`MAX_ID_TOKEN_AGE_SECS`] old) and `nonce` equals the pending login's (constant time).
//!
//! What comes out is an [`OidcIdentity`]: the console matches it to an account by issuer
//! and subject (never by e-mail alone), and still asks for that account's TOTP.
//!
//! Production issuers must be `https`. Plain `http` is accepted only when the host is a
//! loopback address (`127.0.0.0/8`, `::1`, `localhost`), for tests and local
//! development. The [`reqwest::Client`] is the caller's: give it timeouts (as
//! `captcha.rs` does) and install the rustls crypto provider before building it.
//!
//! Neither errors nor logs carry the client secret, codes, tokens, the state, the nonce
//! or the PKCE verifier.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

/// Clock skew tolerated on `exp`, `iat` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;
/// How old an ID token's `iat` may be when it is verified, in seconds. The token comes
/// straight from the token endpoint, so it was made moments ago.
pub const MAX_ID_TOKEN_AGE_SECS: u64 = 600;
/// The scopes asked for.
pub const SCOPES: &str = "openid email";

/// The signature algorithms an ID token may use: asymmetric only.
const ALLOWED_ALGORITHMS: [Algorithm; 4] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256, Algorithm::PS256];
/// Most bytes read from the discovery document or the JWKS.
const MAX_METADATA_BYTES: usize = 512 * 1024;
/// Most bytes read from a token response.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// What the console is configured with for one provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The provider's issuer identifier, e.g. `https://accounts.example.com`. Must be
    /// `https` except on a loopback host.
    pub issuer: Url,
    /// The client id the provider registered for the console.
    pub client_id: String,
    /// The client secret the provider gave (never logged; redacted by `Debug`).
    pub client_secret: SecretString,
    /// The console's callback URL, exactly as registered with the provider.
    pub redirect_url: Url,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret.
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    Post,
}

/// A key of the provider's JWKS that can verify ID token signatures.
#[derive(Clone)]
struct VerificationKey {
    kid: Option<String>,
    /// The `alg` the JWK is restricted to, when it says.
    alg: Option<Algorithm>,
    /// The curve, for EC and OKP keys.
    curve: Option<EllipticCurve>,
    key: DecodingKey,
}

impl VerificationKey {
    /// Whether this key may verify a signature made with `alg`.
    fn fits(&self, alg: Algorithm) -> bool {
        if self.alg.is_some_and(|own| own != alg) {
            return false;
        }
        match alg {
            Algorithm::EdDSA => self.curve == Some(EllipticCurve::Ed25519),
            Algorithm::ES256 => self.curve == Some(EllipticCurve::P256),
            Algorithm::RS256 | Algorithm::PS256 => self.curve.is_none(),
            _ => false,
        }
    }
}

/// A provider discovered and ready: its endpoints, its signing keys, our client settings.
///
/// `Debug` shows the issuer, the client id, the endpoints and the key ids, never the
/// client secret.
pub struct OidcClient {
    config: OidcConfig,
    http: reqwest::Client,
    /// The issuer exactly as the provider advertises it (what `iss` must equal).
    issuer: String,
    authorization_endpoint: Url,
    token_endpoint: Url,
    jwks_uri: Url,
    client_auth: ClientAuth,
    keys: RwLock<Arc<Vec<VerificationKey>>>,
}

impl fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.cached_keys();
        let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_deref().unwrap_or("-")).collect();
        f.debug_struct("OidcClient")
            .field("issuer", &self.issuer)
            .field("client_id", &self.config.client_id)
            .field("redirect_url", &self.config.redirect_url.as_str())
            .field("authorization_endpoint", &self.authorization_endpoint.as_str())
            .field("token_endpoint", &self.token_endpoint.as_str())
            .field("jwks_uri", &self.jwks_uri.as_str())
            .field("client_auth", &self.client_auth)
            .field("key_ids", &kids)
            .finish_non_exhaustive()
    }
}

/// What the console keeps server-side (never in a cookie the browser can read back
/// unencrypted) between sending the browser to the provider and the callback. Single
/// use: drop it once [`OidcClient::complete`] has been called with it.
///
/// `Debug` redacts all three values.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The `state` sent to the provider, to compare with the callback's.
    pub state: String,
    /// The `nonce` sent to the provider, to compare with the ID token's.
    pub nonce: String,
    /// The PKCE code verifier whose S256 challenge was sent.
    pub pkce_verifier: String,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("state", &"[redacted]")
            .field("nonce", &"[redacted]")
            .field("pkce_verifier", &"[redacted]")
            .finish()
    }
}

/// Who the provider says signed in. Match it to an account by `issuer` and `subject`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcIdentity {
    /// The issuer, exactly as the provider advertises it.
    pub issuer: String,
    /// The `sub` claim: the provider's stable identifier for the user.
    pub subject: String,
    /// The `email` claim, when the provider sent one.
    pub email: Option<String>,
    /// The `email_verified` claim (`false` when absent).
    pub email_verified: bool,
}

/// Why discovery or a sign-in failed. No message carries a secret, a code or a token.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// A URL (issuer, endpoint) is not acceptable.
    #[error("{what} {url:?}: {reason}")]
    BadUrl {
        /// Which URL.
        what: &'static str,
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The provider could not be reached.
    #[error("{endpoint}: request failed: {reason}")]
    Transport {
        /// Which endpoint (`discovery`, `jwks`, `token`).
        endpoint: &'static str,
        /// What went wrong (timeout, connection).
        reason: String,
    },
    /// The provider answered with an unexpected HTTP status.
    #[error("{endpoint}: the provider answered HTTP {status}")]
    Status {
        /// Which endpoint.
        endpoint: &'static str,
        /// The status.
        status: u16,
    },
    /// The provider's answer is not what the protocol says.
    #[error("{endpoint}: unusable answer: {reason}")]
    BadResponse {
        /// Which endpoint.
        endpoint: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The discovery document names another issuer than the one configured.
    #[error("discovery: the provider says its issuer is {advertised:?}, configured is {configured:?}")]
    IssuerMismatch {
        /// The configured issuer.
        configured: String,
        /// The issuer in the discovery document.
        advertised: String,
    },
    /// The provider cannot do what the console needs.
    #[error("discovery: the provider does not support {0}")]
    Unsupported(&'static str),
    /// The callback's `state` is not the pending login's.
    #[error("the callback's state does not match the pending login")]
    StateMismatch,
    /// The callback brought no code.
    #[error("the callback carries no authorization code")]
    MissingCode,
    /// The token endpoint refused the code (`invalid_grant` for a used, expired or
    /// foreign code, or a wrong PKCE verifier).
    #[error("token: the provider refused the code: HTTP {status}, error {error:?}")]
    TokenRefused {
        /// The HTTP status.
        status: u16,
        /// The OAuth error code (`invalid_grant`, …), when readable.
        error: String,
    },
    /// The ID token failed verification.
    #[error("ID token rejected: {0}")]
    InvalidIdToken(String),
}

impl OidcError {
    fn id_token(reason: impl Into<String>) -> Self {
        OidcError::InvalidIdToken(reason.into())
    }
}

/// The parts of the discovery document that are used.
#[derive(Deserialize)]
struct ProviderMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    response_types_supported: Option<Vec<String>>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// A successful token response (only the ID token is used; the access token is ignored).
#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

/// An OAuth error response.
#[derive(Deserialize)]
struct TokenErrorResponse {
    error: Option<String>,
}

/// `aud`: one string or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The ID token claims that are checked or used.
#[derive(Deserialize)]
struct IdTokenClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    azp: Option<String>,
    exp: Option<u64>,
    iat: Option<u64>,
    nbf: Option<u64>,
    nonce: Option<String>,
    email: Option<String>,
    /// A boolean, or the strings `"true"`/`"false"` some providers send.
    email_verified: Option<serde_json::Value>,
}

impl OidcClient {
    /// Reads the provider's discovery document and JWKS.
    ///
    /// Checks that the advertised `issuer` is exactly `config.issuer` (a trailing `/`
    /// that [`Url`] adds to a bare origin is not counted), that every endpoint is `https`
    /// (or `http` on loopback), that the provider supports the code flow, S256 PKCE, an
    /// allowed ID token algorithm and `client_secret_basic` or `client_secret_post`, and
    /// that its JWKS has at least one usable signing key.
    pub async fn discover(config: OidcConfig, http: reqwest::Client) -> Result<Self, OidcError> {
        check_url("issuer", &config.issuer)?;
        if config.issuer.query().is_some() || config.issuer.fragment().is_some() {
            return Err(OidcError::BadUrl {
                what: "issuer",
                url: config.issuer.to_string(),
                reason: "an issuer has no query or fragment",
            });
        }
        let discovery_url = discovery_url(&config.issuer)?;
        let body = get_bytes(&http, &discovery_url, "discovery", MAX_METADATA_BYTES).await?;
        let metadata: ProviderMetadata = serde_json::from_slice(&body).map_err(|e| OidcError::BadResponse {
            endpoint: "discovery",
            reason: format!("not the expected JSON: {e}"),
        })?;
        if !issuer_matches(&config.issuer, &metadata.issuer) {
            return Err(OidcError::IssuerMismatch {
                configured: config.issuer.to_string(),
                advertised: metadata.issuer,
            });
        }
        let endpoint = |what: &'static str, value: &str| -> Result<Url, OidcError> {
            let url = Url::parse(value).map_err(|_| OidcError::BadUrl {
                what,
                url: value.to_owned(),
                reason: "not an absolute URL",
            })?;
            check_url(what, &url)?;
            Ok(url)
        };
        let authorization_endpoint = endpoint("authorization_endpoint", &metadata.authorization_endpoint)?;
        let token_endpoint = endpoint("token_endpoint", &metadata.token_endpoint)?;
        let jwks_uri = endpoint("jwks_uri", &metadata.jwks_uri)?;

        if metadata.response_types_supported.as_ref().is_some_and(|types| !types.iter().any(|t| t == "code")) {
            return Err(OidcError::Unsupported("response_type code"));
        }
        if metadata
            .code_challenge_methods_supported
            .as_ref()
            .is_some_and(|methods| !methods.iter().any(|m| m == "S256"))
        {
            return Err(OidcError::Unsupported("PKCE with S256"));
        }
        let allowed = |name: &String| ALLOWED_ALGORITHMS.iter().any(|alg| format!("{alg:?}") == *name);
        if metadata.id_token_signing_alg_values_supported.as_ref().is_some_and(|algs| !algs.iter().any(allowed)) {
            return Err(OidcError::Unsupported("an asymmetric ID token algorithm (EdDSA, ES256, RS256, PS256)"));
        }
        let client_auth = match &metadata.token_endpoint_auth_methods_supported {
            // The default when the provider does not say (OpenID Connect Discovery 1.0 §3).
            None => ClientAuth::Basic,
            Some(methods) if methods.iter().any(|m| m == "client_secret_basic") => ClientAuth::Basic,
            Some(methods) if methods.iter().any(|m| m == "client_secret_post") => ClientAuth::Post,
            Some(_) => return Err(OidcError::Unsupported("client_secret_basic or client_secret_post")),
        };

        let keys = fetch_keys(&http, &jwks_uri).await?;
        tracing::info!(issuer = %metadata.issuer, keys = keys.len(), "OpenID Connect provider discovered");
        Ok(OidcClient {
            config,
            http,
            issuer: metadata.issuer,
            authorization_endpoint,
            token_endpoint,
            jwks_uri,
            client_auth,
            keys: RwLock::new(Arc::new(keys)),
        })
    }

    /// The issuer exactly as the provider advertises it (what [`OidcIdentity::issuer`]
    /// will hold).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Starts a sign-in: the provider URL to redirect the browser to, and what to keep
    /// server-side until the callback.
    ///
    /// # Panics
    /// When the operating system's random number generator fails.
    pub fn begin(&self) -> (Url, PendingLogin) {
        let pending = PendingLogin { state: random_token(), nonce: random_token(), pkce_verifier: random_token() };
        let mut url = self.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", self.config.redirect_url.as_str())
            .append_pair("scope", SCOPES)
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &pkce_challenge(&pending.pkce_verifier))
            .append_pair("code_challenge_method", "S256");
        (url, pending)
    }

    /// Finishes a sign-in from the callback's `state` and `code`: checks the state,
    /// exchanges the code and verifies the ID token.
    pub async fn complete(
        &self,
        pending: &PendingLogin,
        returned_state: &str,
        code: &str,
    ) -> Result<OidcIdentity, OidcError> {
        if !bool::from(pending.state.as_bytes().ct_eq(returned_state.as_bytes())) {
            tracing::warn!(issuer = %self.issuer, "OpenID Connect callback with a state that is not the pending one");
            return Err(OidcError::StateMismatch);
        }
        if code.is_empty() {
            return Err(OidcError::MissingCode);
        }
        let id_token = self.exchange_code(code, &pending.pkce_verifier).await?;
        self.verify_id_token(&id_token, &pending.nonce).await
    }

    /// Verifies an ID token as [`complete`](Self::complete) does, fetching the JWKS
    /// again once when the token's `kid` is not in it. Public for the integration tests;
    /// the console calls [`complete`](Self::complete).
    #[doc(hidden)]
    pub async fn verify_id_token(&self, id_token: &str, expected_nonce: &str) -> Result<OidcIdentity, OidcError> {
        let header = token_header(id_token)?;
        let mut keys = self.cached_keys();
        let kid_unknown = |keys: &[VerificationKey], kid: &str| !keys.iter().any(|k| k.kid.as_deref() == Some(kid));
        if header.kid.as_deref().is_some_and(|kid| kid_unknown(&keys, kid)) {
            tracing::info!(issuer = %self.issuer, "ID token signed with a key id not in the cached JWKS; fetching it again");
            let fresh = Arc::new(fetch_keys(&self.http, &self.jwks_uri).await?);
            *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&fresh);
            keys = fresh;
        }
        verify_with_keys(&keys, &self.issuer, &self.config.client_id, id_token, expected_nonce, unix_now())
    }

    fn cached_keys(&self) -> Arc<Vec<VerificationKey>> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The token request; returns the ID token.
    async fn exchange_code(&self, code: &str, pkce_verifier: &str) -> Result<String, OidcError> {
        // The serializer is not `Send`: the body is built in a block, before any await.
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", self.config.redirect_url.as_str())
                .append_pair("code_verifier", pkce_verifier);
            if self.client_auth == ClientAuth::Post {
                form.append_pair("client_id", &self.config.client_id)
                    .append_pair("client_secret", self.config.client_secret.expose_secret());
            }
            form.finish()
        };
        let mut request = self
            .http
            .post(self.token_endpoint.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if self.client_auth == ClientAuth::Basic {
            // RFC 6749 §2.3.1: both form-urlencoded, then Basic.
            let id: String = url::form_urlencoded::byte_serialize(self.config.client_id.as_bytes()).collect();
            let secret: String =
                url::form_urlencoded::byte_serialize(self.config.client_secret.expose_secret().as_bytes()).collect();
            let credentials = STANDARD.encode(format!("{id}:{secret}"));
            request = request.header(reqwest::header::AUTHORIZATION, format!("Basic {credentials}"));
        }
        // Never log the request: it carries the code, the verifier and the secret.
        let response = request.body(body).send().await.map_err(|e| transport("token", &e))?;
        let status = response.status();
        let body = read_limited(response, "token", MAX_TOKEN_RESPONSE_BYTES).await?;
        if !status.is_success() {
            let error = serde_json::from_slice::<TokenErrorResponse>(&body)
                .ok()
                .and_then(|e| e.error)
                .map(|e| printable_error_code(&e))
                .unwrap_or_default();
            tracing::info!(issuer = %self.issuer, status = status.as_u16(), error = %error, "token endpoint refused the code");
            return Err(OidcError::TokenRefused { status: status.as_u16(), error });
        }
        let answer: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| OidcError::BadResponse { endpoint: "token", reason: "not the expected JSON".into() })?;
        answer.id_token.ok_or_else(|| OidcError::BadResponse { endpoint: "token", reason: "no id_token".into() })
    }
}

/// The S256 PKCE challenge of a verifier: base64url(SHA-256(verifier)), RFC 7636 §4.2.
fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// 32 random bytes, base64url without padding (43 characters).
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `https`, or `http` on a loopback host; no credentials in the URL.
fn check_url(what: &'static str, url: &Url) -> Result<(), OidcError> {
    let bad = |reason| Err(OidcError::BadUrl { what, url: url.to_string(), reason });
    if !url.username().is_empty() || url.password().is_some() {
        return bad("must not carry credentials");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => bad("must be https (plain http only on a loopback host)"),
        _ => bad("must be https"),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `{issuer}/.well-known/openid-configuration`, the issuer's trailing `/` removed first
/// (OpenID Connect Discovery 1.0 §4).
fn discovery_url(issuer: &Url) -> Result<Url, OidcError> {
    let base = issuer.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}/.well-known/openid-configuration")).map_err(|_| OidcError::BadUrl {
        what: "issuer",
        url: issuer.to_string(),
        reason: "no discovery URL can be made from it",
    })
}

/// Whether the advertised issuer is exactly the configured one. [`Url`] writes a bare
/// origin with a trailing `/` (`https://id.example/`), which providers usually do not
/// (`https://id.example`); only that `/` is forgiven.
fn issuer_matches(configured: &Url, advertised: &str) -> bool {
    let configured_str = configured.as_str();
    advertised == configured_str || (configured.path() == "/" && advertised == configured_str.trim_end_matches('/'))
}

fn transport(endpoint: &'static str, error: &reqwest::Error) -> OidcError {
    let reason = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        // reqwest names the URL, which is never secret here: `check_url` refuses
        // credentials in it, and no code or token travels in a query.
        error.to_string()
    };
    OidcError::Transport { endpoint, reason }
}

async fn get_bytes(
    http: &reqwest::Client,
    url: &Url,
    endpoint: &'static str,
    limit: usize,
) -> Result<Vec<u8>, OidcError> {
    let response = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| transport(endpoint, &e))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(OidcError::Status { endpoint, status: response.status().as_u16() });
    }
    read_limited(response, endpoint, limit).await
}

/// The response body, refused when longer than `limit`.
async fn read_limited(
    mut response: reqwest::Response,
    endpoint: &'static str,
    limit: usize,
) -> Result<Vec<u8>, OidcError> {
    let too_long = || OidcError::BadResponse { endpoint, reason: format!("longer than {limit} bytes") };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_long());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(endpoint, &e))? {
        if body.len() + chunk.len() > limit {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An OAuth error code as it may be shown: its characters are limited to printable
/// ASCII by RFC 6749 §5.2; anything else (or an overlong one) is cut.
fn printable_error_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')).take(64).collect()
}

async fn fetch_keys(http: &reqwest::Client, jwks_uri: &Url) -> Result<Vec<VerificationKey>, OidcError> {
    let body = get_bytes(http, jwks_uri, "jwks", MAX_METADATA_BYTES).await?;
    let keys = parse_jwks(&body)?;
    if keys.is_empty() {
        return Err(OidcError::BadResponse { endpoint: "jwks", reason: "no usable signing key".into() });
    }
    Ok(keys)
}

/// The signing keys of a JWKS document that can verify an allowed algorithm. Keys for
/// encryption, symmetric keys and keys of kinds this module does not know are skipped.
fn parse_jwks(body: &[u8]) -> Result<Vec<VerificationKey>, OidcError> {
    #[derive(Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let set: RawSet = serde_json::from_slice(body)
        .map_err(|_| OidcError::BadResponse { endpoint: "jwks", reason: "not a JWK set".into() })?;
    let mut keys = Vec::new();
    for raw in set.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw) else { continue };
        if matches!(&jwk.common.public_key_use, Some(use_) if *use_ != PublicKeyUse::Signature) {
            continue;
        }
        if jwk.common.key_operations.as_ref().is_some_and(|ops| !ops.contains(&KeyOperations::Verify)) {
            continue;
        }
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(alg) => match alg.to_string().parse::<Algorithm>() {
                Ok(alg) if ALLOWED_ALGORITHMS.contains(&alg) => Some(alg),
                _ => continue,
            },
        };
        let curve = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => None,
            AlgorithmParameters::EllipticCurve(params) => Some(params.curve.clone()),
            AlgorithmParameters::OctetKeyPair(params) => Some(params.curve.clone()),
            AlgorithmParameters::OctetKey(_) => continue,
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else { continue };
        keys.push(VerificationKey { kid: jwk.common.key_id.clone(), alg, curve, key });
    }
    Ok(keys)
}

/// The token's header, with an allowed algorithm.
fn token_header(id_token: &str) -> Result<jsonwebtoken::Header, OidcError> {
    // `alg: none` and unknown algorithms fail here: jsonwebtoken's `Algorithm` has no such variant.
    let header = jsonwebtoken::decode_header(id_token)
        .map_err(|_| OidcError::id_token("malformed header or an algorithm that is not allowed"))?;
    if !ALLOWED_ALGORITHMS.contains(&header.alg) {
        return Err(OidcError::id_token(format!("algorithm {:?} is not allowed", header.alg)));
    }
    Ok(header)
}

/// Verifies an ID token against a key set, at time `now` (seconds since the epoch).
fn verify_with_keys(
    keys: &[VerificationKey],
    issuer: &str,
    client_id: &str,
    id_token: &str,
    expected_nonce: &str,
    now: u64,
) -> Result<OidcIdentity, OidcError> {
    let header = token_header(id_token)?;
    let alg = header.alg;
    let key = match &header.kid {
        Some(kid) => keys
            .iter()
            .find(|k| k.kid.as_deref() == Some(kid.as_str()))
            .ok_or_else(|| OidcError::id_token("signed with a key id the provider's JWKS does not have"))?,
        None => {
            // Without a kid, only a key set with a single fitting key is unambiguous.
            let mut fitting = keys.iter().filter(|k| k.fits(alg));
            match (fitting.next(), fitting.next()) {
                (Some(key), None) => key,
                (None, _) => return Err(OidcError::id_token("no key of the provider's JWKS fits its algorithm")),
                (Some(_), Some(_)) => return Err(OidcError::id_token("no key id, and several keys could fit")),
            }
        }
    };
    if !key.fits(alg) {
        return Err(OidcError::id_token(format!("the key it names is not for {alg:?}")));
    }

    let mut validation = Validation::new(alg);
    validation.algorithms = vec![alg];
    // Times are checked below, against `now`.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation.required_spec_claims = HashSet::new();
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    let claims = jsonwebtoken::decode::<IdTokenClaims>(id_token, &key.key, &validation)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            OidcError::id_token(match e.kind() {
                ErrorKind::InvalidSignature => "bad signature",
                ErrorKind::InvalidIssuer => "wrong issuer",
                ErrorKind::InvalidAudience => "wrong audience",
                ErrorKind::InvalidAlgorithm => "algorithm does not match the key",
                ErrorKind::Json(_) | ErrorKind::Base64(_) | ErrorKind::Utf8(_) | ErrorKind::InvalidToken => "malformed",
                _ => "invalid",
            })
        })?
        .claims;

    // jsonwebtoken checked iss and aud when present; the checks here also require them.
    if claims.iss.as_deref() != Some(issuer) {
        return Err(OidcError::id_token("wrong issuer"));
    }
    let audiences: Vec<&str> = match &claims.aud {
        Some(Audience::One(one)) => vec![one.as_str()],
        Some(Audience::Many(many)) => many.iter().map(String::as_str).collect(),
        None => Vec::new(),
    };
    if !audiences.contains(&client_id) {
        return Err(OidcError::id_token("wrong audience"));
    }
    match claims.azp.as_deref() {
        Some(azp) if azp != client_id => return Err(OidcError::id_token("issued to another party (azp)")),
        None if audiences.len() > 1 => return Err(OidcError::id_token("several audiences and no azp")),
        _ => {}
    }
    let exp = claims.exp.ok_or_else(|| OidcError::id_token("no exp"))?;
    if exp.saturating_add(LEEWAY_SECS) <= now {
        return Err(OidcError::id_token("expired"));
    }
    let iat = claims.iat.ok_or_else(|| OidcError::id_token("no iat"))?;
    if iat > now.saturating_add(LEEWAY_SECS) {
        return Err(OidcError::id_token("issued in the future (iat)"));
    }
    if iat.saturating_add(MAX_ID_TOKEN_AGE_SECS + LEEWAY_SECS) < now {
        return Err(OidcError::id_token("issued too long ago (iat)"));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS)) {
        return Err(OidcError::id_token("not valid yet (nbf)"));
    }
    let nonce = claims.nonce.ok_or_else(|| OidcError::id_token("no nonce"))?;
    if !bool::from(nonce.as_bytes().ct_eq(expected_nonce.as_bytes())) {
        return Err(OidcError::id_token("nonce does not match the pending login"));
    }
    let subject = claims.sub.filter(|s| !s.is_empty()).ok_or_else(|| OidcError::id_token("no sub"))?;
    let email_verified = match claims.email_verified {
        Some(serde_json::Value::Bool(b)) => b,
        Some(serde_json::Value::String(s)) => s == "true",
        _ => false,
    };
    Ok(OidcIdentity { issuer: issuer.to_owned(), subject, email: claims.email, email_verified })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use serde_json::json;

    const ISSUER: &str = "https://id.example.test";
    const CLIENT: &str = "console";
    const NOW: u64 = 1_750_000_000;

    fn signing_key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn jwk(key: &SigningKey, kid: &str) -> serde_json::Value {
        let x = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
        json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"})
    }

    fn keys(set: serde_json::Value) -> Vec<VerificationKey> {
        parse_jwks(set.to_string().as_bytes()).unwrap()
    }

    fn sign(key: &SigningKey, header: &serde_json::Value, claims: &serde_json::Value) -> String {
        let message =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = key.sign(message.as_bytes());
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    fn claims() -> serde_json::Value {
        json!({
            "iss": ISSUER, "sub": "alice", "aud": CLIENT, "exp": NOW + 300, "iat": NOW - 5,
            "nonce": "the-nonce", "email": "alice@example.test", "email_verified": true,
        })
    }

    fn header() -> serde_json::Value {
        json!({"alg": "EdDSA", "typ": "JWT", "kid": "k1"})
    }

    fn verify(token: &str, set: &[VerificationKey]) -> Result<OidcIdentity, OidcError> {
        verify_with_keys(set, ISSUER, CLIENT, token, "the-nonce", NOW)
    }

    fn rejected(result: Result<OidcIdentity, OidcError>) -> String {
        match result {
            Err(OidcError::InvalidIdToken(reason)) => reason,
            other => panic!("expected an ID token rejection, got {other:?}"),
        }
    }

    fn with(mut base: serde_json::Value, changes: serde_json::Value) -> serde_json::Value {
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base
    }

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_tokens_are_43_base64url_characters_and_differ() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
    }

    #[test]
    fn a_good_token_gives_the_identity() {
        let key = signing_key(1);
        let set = keys(json!({"keys": [jwk(&key, "k1")]}));
        let identity = verify(&sign(&key, &header(), &claims()), &set).unwrap();
        assert_eq!(
            identity,
            OidcIdentity {
                issuer: ISSUER.into(),
                subject: "alice".into(),
                email: Some("alice@example.test".into()),
                email_verified: true
            }
        );
        // aud as an array with azp, email_verified as a string, no kid with a single key.
        let token = sign(
            &key,
            &json!({"alg": "EdDSA"}),
            &with(claims(), json!({"aud": [CLIENT, "other"], "azp": CLIENT, "email_verified": "true"})),
        );
        assert!(verify(&token, &set).unwrap().email_verified);
    }

    #[test]
    fn tampered_or_foreign_signatures_are_rejected() {
        let key = signing_key(1);
        let set = keys(json!({"keys": [jwk(&key, "k1")]}));
        let token = sign(&key, &header(), &claims());
        // Another subject spliced in under the original signature.
        let parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(with(claims(), json!({"sub": "mallory"})).to_string());
        assert_eq!(rejected(verify(&format!("{}.{forged}.{}", parts[0], parts[2]), &set)), "bad signature");
        // Signed by another key under the same kid.
        assert_eq!(rejected(verify(&sign(&signing_key(2), &header(), &claims()), &set)), "bad signature");
        // No signature, alg none.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        assert!(rejected(verify(&none, &set)).contains("not allowed"));
        // HS256, even with an `oct` key in the set: symmetric keys are never used.
        let hs = format!(
            "{}.{}.AAAA",
            URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "kid": "k1"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        let with_oct = keys(json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}, jwk(&key, "k1")]}));
        assert_eq!(with_oct.len(), 1);
        assert!(rejected(verify(&hs, &with_oct)).contains("not allowed"));
        // Not a JWT at all.
        assert!(rejected(verify("not-a-token", &set)).contains("malformed"));
    }

    #[test]
    fn key_selection_follows_the_kid() {
        let (one, two) = (signing_key(1), signing_key(2));
        let set = keys(json!({"keys": [jwk(&one, "k1"), jwk(&two, "k2")]}));
        let token = sign(&two, &json!({"alg": "EdDSA", "kid": "k2"}), &claims());
        assert_eq!(verify(&token, &set).unwrap().subject, "alice");
        let unknown = sign(&two, &json!({"alg": "EdDSA", "kid": "k3"}), &claims());
        assert!(rejected(verify(&unknown, &set)).contains("key id"));
        let no_kid = sign(&two, &json!({"alg": "EdDSA"}), &claims());
        assert!(rejected(verify(&no_kid, &set)).contains("several keys"));
        // A key restricted to another algorithm is not used for EdDSA.
        let mut restricted = jwk(&one, "k1");
        restricted["alg"] = json!("RS256");
        let set = keys(json!({"keys": [restricted]}));
        assert!(rejected(verify(&sign(&one, &header(), &claims()), &set)).contains("not for EdDSA"));
        // Encryption keys are skipped.
        let mut enc = jwk(&one, "k1");
        enc["use"] = json!("enc");
        assert!(keys(json!({"keys": [enc]})).is_empty());
    }

    #[test]
    fn claims_are_checked() {
        let key = signing_key(1);
        let set = keys(json!({"keys": [jwk(&key, "k1")]}));
        let check =
            |changes: serde_json::Value| rejected(verify(&sign(&key, &header(), &with(claims(), changes)), &set));
        assert_eq!(check(json!({"iss": "https://evil.example.test"})), "wrong issuer");
        assert_eq!(check(json!({"iss": null})), "wrong issuer");
        assert_eq!(check(json!({"aud": "someone-else"})), "wrong audience");
        assert_eq!(check(json!({"aud": null})), "wrong audience");
        assert_eq!(check(json!({"azp": "someone-else"})), "issued to another party (azp)");
        assert_eq!(check(json!({"aud": [CLIENT, "other"]})), "several audiences and no azp");
        assert_eq!(check(json!({"exp": NOW - LEEWAY_SECS})), "expired");
        assert_eq!(check(json!({"exp": null})), "no exp");
        assert_eq!(check(json!({"iat": NOW + LEEWAY_SECS + 1})), "issued in the future (iat)");
        assert_eq!(check(json!({"iat": NOW - MAX_ID_TOKEN_AGE_SECS - LEEWAY_SECS - 1})), "issued too long ago (iat)");
        assert_eq!(check(json!({"nbf": NOW + LEEWAY_SECS + 1})), "not valid yet (nbf)");
        assert_eq!(check(json!({"nonce": "another-nonce"})), "nonce does not match the pending login");
        assert_eq!(check(json!({"nonce": null})), "no nonce");
        assert_eq!(check(json!({"sub": ""})), "no sub");
        // Within the leeway is fine.
        let token = sign(&key, &header(), &with(claims(), json!({"exp": NOW - LEEWAY_SECS + 1, "iat": NOW + 10})));
        assert!(verify(&token, &set).is_ok());
    }

    #[test]
    fn issuer_urls() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(issuer_matches(&url("http://127.0.0.1:4000"), "http://127.0.0.1:4000"));
        assert!(issuer_matches(&url("https://id.example/"), "https://id.example/"));
        assert!(issuer_matches(&url("https://id.example/tenant"), "https://id.example/tenant"));
        assert!(!issuer_matches(&url("https://id.example/tenant"), "https://id.example/tenant/"));
        assert!(!issuer_matches(&url("https://id.example/tenant/"), "https://id.example/tenant"));
        assert!(!issuer_matches(&url("https://id.example"), "https://ID.example"));
        assert!(!issuer_matches(&url("https://id.example"), "http://id.example"));
        assert_eq!(
            discovery_url(&url("https://id.example/tenant/")).unwrap().as_str(),
            "https://id.example/tenant/.well-known/openid-configuration"
        );
        assert!(check_url("issuer", &url("https://id.example")).is_ok());
        assert!(check_url("issuer", &url("http://127.0.0.1:4000")).is_ok());
        assert!(check_url("issuer", &url("http://[::1]:4000")).is_ok());
        assert!(check_url("issuer", &url("http://localhost:4000")).is_ok());
        assert!(check_url("issuer", &url("http://id.example")).is_err());
        assert!(check_url("issuer", &url("https://user:pw@id.example")).is_err());
    }

    fn client() -> OidcClient {
        let _ = rustls::crypto::ring::default_provider().install_default();
        OidcClient {
            config: OidcConfig {
                issuer: Url::parse(ISSUER).unwrap(),
                client_id: CLIENT.into(),
                client_secret: SecretString::from("very-secret-value"),
                redirect_url: Url::parse("https://console.example.test/console/oidc/callback").unwrap(),
            },
            http: reqwest::Client::builder().build().unwrap(),
            issuer: ISSUER.into(),
            authorization_endpoint: Url::parse("https://id.example.test/auth?tenant=a").unwrap(),
            token_endpoint: Url::parse("https://id.example.test/token").unwrap(),
            jwks_uri: Url::parse("https://id.example.test/jwks").unwrap(),
            client_auth: ClientAuth::Basic,
            keys: RwLock::new(Arc::new(keys(json!({"keys": [jwk(&signing_key(1), "k1")]})))),
        }
    }

    #[test]
    fn begin_makes_the_authorization_request() {
        let client = client();
        let (url, pending) = client.begin();
        let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/auth");
        assert_eq!(query["tenant"], "a");
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["client_id"], CLIENT);
        assert_eq!(query["redirect_uri"], "https://console.example.test/console/oidc/callback");
        assert_eq!(query["scope"], "openid email");
        assert_eq!(query["state"], pending.state);
        assert_eq!(query["nonce"], pending.nonce);
        assert_eq!(query["code_challenge"], pkce_challenge(&pending.pkce_verifier));
        assert_eq!(query["code_challenge_method"], "S256");
        assert!(!query.values().any(|v| *v == pending.pkce_verifier));
        let (_, again) = client.begin();
        assert_ne!(pending.state, again.state);
        assert_ne!(pending.nonce, again.nonce);
        assert_ne!(pending.pkce_verifier, again.pkce_verifier);
    }

    #[test]
    fn debug_output_has_no_secrets() {
        let client = client();
        let (_, pending) = client.begin();
        let shown = format!("{client:?} {:?} {pending:?}", client.config);
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(!shown.contains(&pending.state) && !shown.contains(&pending.nonce));
        assert!(!shown.contains(&pending.pkce_verifier));
        assert!(shown.contains("k1") && shown.contains(ISSUER));
    }

    #[tokio::test]
    async fn a_wrong_state_is_refused_before_any_request() {
        // The token endpoint is unreachable: a request would fail with Transport.
        let client = client();
        let (_, pending) = client.begin();
        let wrong = format!("{}x", pending.state);
        assert!(matches!(client.complete(&pending, &wrong, "code").await, Err(OidcError::StateMismatch)));
        assert!(matches!(client.complete(&pending, "", "code").await, Err(OidcError::StateMismatch)));
        assert!(matches!(client.complete(&pending, &pending.state, "").await, Err(OidcError::MissingCode)));
    }

    #[test]
    fn oauth_error_codes_are_cut_to_printable() {
        assert_eq!(printable_error_code("invalid_grant"), "invalid_grant");
        assert_eq!(printable_error_code("bad\n\"code\"<script>"), "badcodescript");
    }
}
