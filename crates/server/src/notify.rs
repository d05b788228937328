//! Incident notifications: a Slack-compatible webhook (`incidents.notify_url`, a JSON
//! `{"text": …}` POST) and e-mail over SMTP (`incidents.smtp_url`, to
//! `incidents.email_to` from `incidents.email_from`). Both are told when an incident opens
//! and each time it escalates.
//!
//! A notification that fails is logged and counted
//! (`ferretwatch_incident_notifications_total{channel, result}`), never fatal: the
//! incident is recorded before anyone is told, and Alertmanager's own receivers run beside
//! these. The SMTP settings are checked when the service starts, so a typo in an address
//! stops the start-up instead of silencing the first page at 3 a.m.
//!
//! SMTP URLs are lettre's: `smtp://HOST:25` (plain, for a relay on the same host or
//! network), `smtp://USER:PASSWORD@HOST:587?tls=required` (STARTTLS, the connection
//! refused without it) and `smtps://USER:PASSWORD@HOST:465` (TLS from the first byte).
//! The URL may hold a password: it is a secret setting, never logged.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::settings::IncidentSettings;

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where incident notifications go.
pub struct Notifier {
    webhook: Option<(String, reqwest::Client)>,
    email: Option<Email>,
}

struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("webhook", &self.webhook.is_some())
            .field("email_to", &self.email.as_ref().map(|e| e.to.len()))
            .finish()
    }
}

/// Settings that cannot notify anyone.
#[derive(Debug, thiserror::Error)]
#[error("incidents: {0}")]
pub struct NotifyError(String);

fn mailbox(setting: &str, text: &str) -> Result<Mailbox, NotifyError> {
    text.trim().parse::<Mailbox>().map_err(|e| NotifyError(format!("{setting} {:?}: {e}", text.trim())))
}

impl Notifier {
    /// The notifier the settings describe (nothing set: one that tells no one).
    pub fn new(settings: &IncidentSettings) -> Result<Self, NotifyError> {
        // Building an HTTP client or a TLS transport without a TLS provider installed panics.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let webhook = match &settings.notify_url {
            Some(url) => {
                let client = reqwest::Client::builder()
                    .timeout(TIMEOUT)
                    .build()
                    .map_err(|e| NotifyError(format!("no HTTP client for notify_url: {e}")))?;
                Some((url.clone(), client))
            }
            None => None,
        };
        let email = match (&settings.smtp_url, &settings.email_to, &settings.email_from) {
            (None, None, _) => None,
            (Some(url), Some(to), Some(from)) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    // The error may quote the URL, password and all: say only what kind.
                    .map_err(|_| {
                        NotifyError("smtp_url: not an SMTP URL (smtp://HOST:PORT[?tls=required], smtps://…)".into())
                    })?
                    .timeout(Some(TIMEOUT))
                    .build();
                let to = to
                    .split(',')
                    .filter(|a| !a.trim().is_empty())
                    .map(|a| mailbox("email_to", a))
                    .collect::<Result<Vec<_>, _>>()?;
                if to.is_empty() {
                    return Err(NotifyError("email_to names no address".into()));
                }
                Some(Email { transport, from: mailbox("email_from", from)?, to })
            }
            _ => return Err(NotifyError("smtp_url, email_to and email_from go together".into())),
        };
        Ok(Notifier { webhook, email })
    }

    /// Tells every channel (failures logged and counted, never returned).
    pub async fn send(&self, subject: &str, text: &str) {
        if let Some((url, client)) = &self.webhook {
            let body = serde_json::json!({ "text": text }).to_string();
            let sent = client.post(url).header("content-type", "application/json").body(body).send().await;
            let result = match sent.and_then(|r| r.error_for_status()) {
                Ok(_) => "ok",
                Err(e) => {
                    tracing::warn!(error = %e.without_url(), "an incident notification was not delivered to the webhook");
                    "error"
                }
            };
            metrics::counter!("ferretwatch_incident_notifications_total", "channel" => "webhook", "result" => result)
                .increment(1);
        }
        if let Some(email) = &self.email {
            let result = match email.send(subject, text).await {
                Ok(()) => "ok",
                Err(e) => {
                    tracing::warn!(error = %e, "an incident notification was not delivered by e-mail");
                    "error"
                }
            };
            metrics::counter!("ferretwatch_incident_notifications_total", "channel" => "email", "result" => result)
                .increment(1);
        }
    }
}

impl Email {
    async fn send(&self, subject: &str, text: &str) -> Result<(), String> {
        let mut message = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            message = message.to(to.clone());
        }
        let message = message.header(ContentType::TEXT_PLAIN).body(text.to_owned()).map_err(|e| e.to_string())?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: Option<&str>, to: Option<&str>, from: Option<&str>) -> IncidentSettings {
        IncidentSettings {
            smtp_url: url.map(|u| u.to_owned().into()),
            email_to: to.map(str::to_owned),
            email_from: from.map(str::to_owned),
            ..IncidentSettings::default()
        }
    }

    #[test]
    fn smtp_settings_are_all_or_nothing_and_addresses_must_parse() {
        let from = Some("FerretWatch <fw@example.org>");
        assert!(Notifier::new(&settings(None, None, None)).unwrap().email.is_none());
        let ok = Notifier::new(&settings(Some("smtp://127.0.0.1:2525"), Some("a@example.org, b@example.org"), from));
        assert_eq!(ok.unwrap().email.unwrap().to.len(), 2);
        let err = |s: IncidentSettings| Notifier::new(&s).unwrap_err().to_string();
        assert!(err(settings(Some("smtp://127.0.0.1"), None, from)).contains("go together"));
        assert!(err(settings(None, Some("a@example.org"), from)).contains("go together"));
        assert!(err(settings(Some("smtp://127.0.0.1"), Some("not an address"), from)).contains("email_to"));
        assert!(err(settings(Some("smtp://127.0.0.1"), Some(" , "), from)).contains("names no address"));
        assert!(err(settings(Some("smtp://127.0.0.1"), Some("a@example.org"), Some("x"))).contains("email_from"));
    }

    #[test]
    fn a_bad_smtp_url_is_refused_without_repeating_its_password() {
        let s = settings(Some("ftp://user:hunter2@mail.example.org"), Some("a@example.org"), Some("fw@example.org"));
        let why = Notifier::new(&s).unwrap_err().to_string();
        assert!(why.contains("smtp_url") && !why.contains("hunter2"), "{why}");
    }
}
