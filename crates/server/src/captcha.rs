//! CAPTCHA verification behind a trait, with an implementation for the siteverify
//! protocol hCaptcha and Cloudflare Turnstile share: `POST` a form with `secret`,
//! `response` and optionally `remoteip`; the answer is JSON `{"success": bool,
//! "error-codes": [..]}`.
//!
//! Failure policy (decision 0011): **fail closed**. Only clients that already look
//! abusive are challenged, so when the provider times out or answers 5xx the challenged
//! request is refused with 503 and `Retry-After` (the extension queues reports and
//! retries); failing open would let a flood through whenever it can make the provider slow.

use std::net::IpAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The outcome of one verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The provider accepted the response token.
    Passed,
    /// The provider refused it, with its error codes (`invalid-input-response`, …).
    Failed(Vec<String>),
    /// The provider could not be asked (timeout, network error, 5xx, unreadable answer).
    Unavailable(String),
}

/// Verifies a CAPTCHA response token.
pub trait CaptchaVerifier: Send + Sync + std::fmt::Debug {
    /// Asks the provider about `token`, solved by a client at `ip`.
    fn verify<'a>(
        &'a self,
        token: &'a str,
        ip: Option<IpAddr>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Verdict> + Send + 'a>>;
}

/// A siteverify endpoint (hCaptcha, Turnstile).
pub struct SiteVerify {
    url: String,
    secret: SecretString,
    client: reqwest::Client,
}

impl std::fmt::Debug for SiteVerify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteVerify").field("url", &self.url).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Answer {
    success: bool,
    #[serde(default, rename = "error-codes")]
    error_codes: Vec<String>,
}

/// Why the CAPTCHA verifier could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CaptchaSetupError {
    /// The verification URL is unusable.
    #[error("captcha.verify_url {url:?}: {reason}")]
    Url {
        /// The URL as configured.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("captcha client: {0}")]
    Client(reqwest::Error),
}

impl SiteVerify {
    /// A verifier for `url` with the site `secret`; each call times out after `timeout`.
    pub fn new(url: &str, secret: SecretString, timeout: Duration) -> Result<Self, CaptchaSetupError> {
        let bad_url = |reason: String| CaptchaSetupError::Url { url: url.to_owned(), reason };
        let parsed = url::Url::parse(url).map_err(|e| bad_url(e.to_string()))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(bad_url("must be https (or http for a local server)".into()));
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(CaptchaSetupError::Client)?;
        Ok(SiteVerify { url: url.to_owned(), secret, client })
    }

    async fn ask(&self, token: &str, ip: Option<IpAddr>) -> Verdict {
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("secret", self.secret.expose_secret()).append_pair("response", token);
            if let Some(ip) = ip {
                form.append_pair("remoteip", &ip.to_string());
            }
            form.finish()
        };
        let sent = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            // Never log the request itself: its body holds the secret.
            Err(e) if e.is_timeout() => return Verdict::Unavailable("timed out".into()),
            Err(_) => return Verdict::Unavailable("could not reach the verifier".into()),
        };
        let status = response.status();
        if !status.is_success() {
            return Verdict::Unavailable(format!("the verifier answered {}", status.as_u16()));
        }
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(_) => return Verdict::Unavailable("the verifier's answer was cut off".into()),
        };
        match serde_json::from_slice::<Answer>(&body) {
            Ok(Answer { success: true, .. }) => Verdict::Passed,
            Ok(Answer { success: false, error_codes }) => Verdict::Failed(error_codes),
            Err(_) => Verdict::Unavailable("the verifier's answer is not the documented JSON".into()),
        }
    }
}

impl CaptchaVerifier for SiteVerify {
    fn verify<'a>(
        &'a self,
        token: &'a str,
        ip: Option<IpAddr>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Verdict> + Send + 'a>> {
        Box::pin(self.ask(token, ip))
    }
}
