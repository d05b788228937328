//! The rules findings break: one per advisory (its id, title and page), and a fixed set
//! for the configuration and the running service, each with a page that explains it.

use serde::Serialize;

use crate::Status;

/// A rule, as SARIF's `reportingDescriptor` describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// A stable id: an advisory's (`RUSTSEC-2021-0003`, `GHSA-…`), or one of ours
    /// (`key-file-permissions`).
    pub id: String,
    /// A name in camel case (SARIF's `name`).
    pub name: String,
    /// One sentence.
    pub short: String,
    /// Where to read more: the advisory, or a reference page.
    pub help_uri: Option<String>,
    /// The level of a finding under this rule.
    pub level: Status,
    /// A CVSS base score, when the advisory has one (SARIF `security-severity`).
    pub cvss_score: Option<f64>,
    /// Tags: `security`, the advisory's categories, `unmaintained`…
    pub tags: Vec<String>,
}

/// One of our fixed rules.
struct Fixed {
    id: &'static str,
    name: &'static str,
    short: &'static str,
    help: &'static str,
    level: Status,
}

impl Fixed {
    fn rule(&self) -> Rule {
        Rule {
            id: self.id.into(),
            name: self.name.into(),
            short: self.short.into(),
            help_uri: Some(self.help.into()),
            level: self.level,
            cvss_score: None,
            tags: vec!["security".into()],
        }
    }
}

const SECRETS: &str = "https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html";
const TLS: &str = "https://cheatsheetseries.owasp.org/cheatsheets/Transport_Layer_Security_Cheat_Sheet.html";
const MDN: &str = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/";

macro_rules! fixed_rules {
    ($($fn:ident => $id:literal, $name:literal, $level:ident, $help:expr, $short:literal;)*) => {
        $(
            #[doc = $short]
            pub fn $fn() -> Rule {
                Fixed { id: $id, name: $name, short: $short, help: $help, level: Status::$level }.rule()
            }
        )*
        /// Every fixed rule.
        pub fn all_fixed() -> Vec<Rule> {
            vec![$($fn()),*]
        }
    };
}

fixed_rules! {
    key_file_permissions => "key-file-permissions", "KeyFilePermissions", Error, SECRETS,
        "A private key or secret file is readable or writable by its group or by others.";
    config_file_permissions => "config-file-permissions", "ConfigFilePermissions", Error, SECRETS,
        "A configuration file that holds secrets is readable or writable by its group or by others.";
    data_file_permissions => "data-file-permissions", "DataFilePermissions", Warning, SECRETS,
        "A SQLite database (console accounts' password hashes, sessions, reports) is readable by its group or by others.";
    key_file_missing => "key-file-missing", "KeyFileMissing", Warning, SECRETS,
        "A key file the settings name does not exist.";
    secret_in_environment => "secret-in-environment", "SecretInEnvironment", Warning, SECRETS,
        "A secret setting is given in the environment, which child processes inherit and /proc shows, instead of a file.";
    tls_not_enabled => "tls-not-enabled", "TlsNotEnabled", Warning, TLS,
        "The service speaks plain HTTP, and no TLS proxy is declared in front of it.";
    tls_min_version => "tls-min-version", "TlsMinVersion", Error, TLS,
        "TLS versions below 1.2 are allowed.";
    certificate_expiry => "certificate-expiry", "CertificateExpiry", Warning, TLS,
        "The TLS certificate expires soon, or has expired.";
    service_unreachable => "service-unreachable", "ServiceUnreachable", Error,
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Status",
        "The running service could not be reached for the checks that need it.";
    header_nosniff => "header-nosniff", "HeaderNoSniff", Warning,
        concat!("https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/", "X-Content-Type-Options"),
        "A response lacks X-Content-Type-Options: nosniff.";
    header_frame_ancestors => "header-frame-ancestors", "HeaderFrameAncestors", Error,
        concat!("https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/", "Content-Security-Policy/frame-ancestors"),
        "A console page may be framed: its Content-Security-Policy lacks frame-ancestors 'none'.";
    header_referrer_policy => "header-referrer-policy", "HeaderReferrerPolicy", Warning,
        concat!("https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/", "Referrer-Policy"),
        "A response lacks a Referrer-Policy that keeps URLs from leaking to other sites.";
    header_hsts => "header-hsts", "HeaderHsts", Warning,
        concat!("https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/", "Strict-Transport-Security"),
        "An https response lacks Strict-Transport-Security with a max-age of at least 180 days.";
    header_server_version => "header-server-version", "HeaderServerVersion", Warning,
        concat!("https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/", "Server"),
        "The Server header names a version, which tells an attacker which vulnerabilities to try.";
}

/// MDN's header reference (for documentation and tests).
pub const HEADER_REFERENCE: &str = MDN;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_rules_have_unique_ids_and_https_help() {
        let rules = all_fixed();
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), rules.len());
        for rule in &rules {
            assert!(rule.help_uri.as_deref().unwrap().starts_with("https://"), "{}", rule.id);
            assert!(rule.short.ends_with('.'), "{}", rule.id);
            assert!(matches!(rule.level, Status::Warning | Status::Error), "{}", rule.id);
        }
        assert!(header_nosniff().help_uri.unwrap().starts_with(HEADER_REFERENCE));
    }
}
