//! The service's configuration, as `ferretwatch serve` would read it: the TOML file, then
//! `FERRETWATCH_…` variables (the scanner's own, or a running server's from
//! `/proc/PID/environ`), relative paths against the server's working directory.
//!
//! The file is read loosely, key by key, not through the server's settings type: a
//! section this version does not know (`[tls]` with `cert_file`, `key_file`,
//! `min_version`) is still checked, and one it lacks is simply absent.
//!
//! Checked:
//! - every private key and secret file the settings name or the service keeps by default
//!   (`console.audit_key`, `server.online_key`, `tls.key_file`, `DATA_DIR/console/secret`,
//!   `DATA_DIR/install-secret`, `DATA_DIR/tombstone-key`, `DATA_DIR/dev-keys/*.key`) has no group or other
//!   permission; so does the configuration file when it holds a secret; SQLite databases
//!   readable by others are a warning;
//! - secret settings given in the environment instead of a file;
//! - TLS: served by the service (`tls.cert_file`) or by a proxy in front
//!   (`trust_forwarded_for`), else a warning; `tls.min_version` below 1.2 is an error;
//!   the configured certificate's days left.

use std::path::{Path, PathBuf};

use ferretwatch_types::{Timestamp, DAY};

use crate::rules;
use crate::{der, line_of, Finding, Location, Report, ScanError, Status};

/// Settings whose value is a secret.
pub const SECRET_SETTINGS: [&str; 6] = [
    "install.secret",
    "console.secret",
    "captcha.secret",
    "server.s3_secret_access_key",
    "console.oidc_client_secret",
    "incidents.webhook_token",
];

/// Settings whose value is a URL that may carry a password.
pub const URL_SETTINGS: [&str; 3] = ["db", "incidents.db", "limits.redis"];

/// The environment variable of a setting: `console.secret` is `FERRETWATCH_CONSOLE_SECRET`.
pub fn env_name(setting: &str) -> String {
    format!("FERRETWATCH_{}", setting.replace('.', "_").to_ascii_uppercase())
}

/// What the configuration check reads.
#[derive(Debug, Clone)]
pub struct ConfigInput {
    /// The TOML file, if any.
    pub file: Option<PathBuf>,
    /// The environment the settings come from.
    pub env: Vec<(String, String)>,
    /// Whose environment that is (`the environment`, `process 1234`).
    pub env_origin: String,
    /// What relative paths are relative to (the server's working directory).
    pub base_dir: PathBuf,
    /// Warn when a certificate has fewer days left than this.
    pub cert_days_warning: u64,
    /// The time to count days from.
    pub now: Timestamp,
}

/// Where a setting's value came from.
#[derive(Debug, Clone)]
enum Source {
    File(Option<u32>),
    Env(String),
    Default,
}

/// The settings in force, read loosely.
struct Settings<'a> {
    input: &'a ConfigInput,
    table: toml::Table,
    text: String,
}

impl Settings<'_> {
    /// A setting's value as text and where it came from; the environment wins.
    fn get(&self, setting: &str) -> Option<(String, Source)> {
        let var = env_name(setting);
        if let Some((_, value)) = self.input.env.iter().find(|(k, _)| *k == var) {
            return Some((value.clone(), Source::Env(var)));
        }
        let mut parts = setting.split('.').peekable();
        let mut table = &self.table;
        while let Some(part) = parts.next() {
            let value = table.get(part)?;
            if parts.peek().is_none() {
                let text = match value {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                return Some((text, Source::File(self.line(setting))));
            }
            table = value.as_table()?;
        }
        None
    }

    /// The line of `section.key = …` in the file.
    fn line(&self, setting: &str) -> Option<u32> {
        let (section, key) = setting.rsplit_once('.').map_or(("", setting), |(s, k)| (s, k));
        let mut current = String::new();
        line_of(&self.text, |line| {
            let line = line.trim();
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = header.trim().to_owned();
                return false;
            }
            current == section && line.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('='))
        })
    }

    /// A setting's value in the file alone (whatever the environment says).
    fn in_file(&self, setting: &str) -> Option<String> {
        let mut value = self.table.get(setting.split('.').next()?)?;
        for part in setting.split('.').skip(1) {
            value = value.as_table()?.get(part)?;
        }
        Some(value.as_str().map_or_else(|| value.to_string(), str::to_owned))
    }

    fn flag(&self, setting: &str) -> bool {
        self.get(setting).is_some_and(|(v, _)| matches!(v.trim(), "true" | "1" | "yes"))
    }

    /// A path setting resolved against the server's working directory.
    fn path(&self, value: &str) -> PathBuf {
        self.input.base_dir.join(value)
    }

    fn data_dir(&self) -> PathBuf {
        self.path(&self.get("data_dir").map_or_else(|| "data".to_owned(), |(v, _)| v))
    }

    /// Where a finding about `setting` (from `source`) points.
    fn location(&self, setting: &str, source: &Source, path: Option<&Path>) -> Location {
        match (source, &self.input.file, path) {
            (Source::File(line), Some(file), _) => Location::file(file, *line).named(setting),
            (Source::Env(var), _, _) => Location::logical(var.clone()),
            (_, _, Some(path)) => Location::file(path, None).named(setting),
            _ => Location::logical(setting),
        }
    }
}

/// Runs the configuration checks.
pub fn check(input: &ConfigInput) -> Result<Report, ScanError> {
    let (table, text) = match &input.file {
        Some(path) => {
            let bad = |message: String| ScanError::Config { path: path.display().to_string(), message };
            let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
            (text.parse::<toml::Table>().map_err(|e| bad(e.to_string()))?, text)
        }
        None => (toml::Table::new(), String::new()),
    };
    let settings = Settings { input, table, text };
    let mut report = Report::default();
    key_files(&settings, &mut report);
    databases(&settings, &mut report);
    config_file(&settings, &mut report);
    environment(&settings, &mut report);
    tls(&settings, &mut report);
    Ok(report)
}

/// A file that must be the owner's alone.
struct KeyFile {
    what: String,
    path: PathBuf,
    source: Source,
}

fn key_files(settings: &Settings, report: &mut Report) {
    let data = settings.data_dir();
    let mut files = Vec::new();
    let mut named = |setting: &str, default: Option<PathBuf>| match (settings.get(setting), default) {
        (Some((value, source)), _) => files.push(KeyFile { what: setting.into(), path: settings.path(&value), source }),
        (None, Some(path)) => files.push(KeyFile { what: setting.into(), path, source: Source::Default }),
        (None, None) => {}
    };
    named("console.audit_key", Some(data.join("console/audit.key")));
    named("lifecycle.tombstone_key_file", Some(data.join("tombstone-key")));
    named("server.online_key", None);
    named("tls.key_file", None);
    if settings.get("console.secret").is_none() {
        files.push(KeyFile {
            what: "console secret".into(),
            path: data.join("console/secret"),
            source: Source::Default,
        });
    }
    if settings.get("install.secret").is_none() {
        files.push(KeyFile {
            what: "install secret".into(),
            path: data.join("install-secret"),
            source: Source::Default,
        });
    }
    if let Ok(entries) = std::fs::read_dir(data.join("dev-keys")) {
        let mut keys: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "key")).collect();
        keys.sort();
        files.extend(keys.into_iter().map(|path| KeyFile {
            what: "development key".into(),
            path,
            source: Source::Default,
        }));
    }

    let rule = rules::key_file_permissions();
    for file in files {
        let shown = file.path.display().to_string();
        let subject = format!("{} {shown}", file.what);
        let location = settings.location(&file.what, &file.source, Some(&file.path));
        let identity = format!("{}|{}", rule.id, file.what);
        match mode(&file.path) {
            Some(mode) if mode & 0o077 != 0 => report.push(
                &rule,
                Finding::new(
                    Status::Error,
                    &rule,
                    subject,
                    format!("mode {mode:04o}: {}; chmod 600 {shown}", who_can(mode)),
                )
                .identified_by(format!("{identity}|{shown}"))
                .at(location),
            ),
            Some(mode) => report.push(
                &rule,
                Finding::new(Status::Ok, &rule, subject, format!("mode {mode:04o}: the owner's alone")).at(location),
            ),
            None if matches!(file.source, Source::Default) => report.notice(Finding::notice(
                Status::Ok,
                subject,
                "absent (not created yet, or the secret is configured elsewhere)",
            )),
            None => {
                let missing = rules::key_file_missing();
                report.push(
                    &missing,
                    Finding::new(Status::Warning, &missing, subject, "named in the settings but missing")
                        .identified_by(format!("{}|{}", missing.id, file.what))
                        .at(location),
                );
            }
        }
    }
}

/// SQLite databases (the service's and the incidents') should not be readable by others:
/// they hold the console's accounts (password hashes, encrypted TOTP seeds), sessions and
/// every report.
fn databases(settings: &Settings, report: &mut Report) {
    let data = settings.data_dir();
    let rule = rules::data_file_permissions();
    for (setting, default) in [("db", "ferretwatch.db"), ("incidents.db", "incidents.db")] {
        let (path, source) = match settings.get(setting) {
            Some((url, source)) => match url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
                Some(path) => (settings.path(path.split('?').next().unwrap_or_default()), source),
                None => continue,
            },
            None => (data.join(default), Source::Default),
        };
        let Some(mode) = mode(&path) else { continue };
        let subject = format!("database {}", path.display());
        let location = settings.location(setting, &source, Some(&path));
        let finding = if mode & 0o077 != 0 {
            Finding::new(
                Status::Warning,
                &rule,
                subject,
                format!("mode {mode:04o}: {}; chmod 600 it (and its -wal and -shm files)", who_can(mode)),
            )
            .identified_by(format!("{}|{setting}", rule.id))
        } else {
            Finding::new(Status::Ok, &rule, subject, format!("mode {mode:04o}: the owner's alone"))
        };
        report.push(&rule, finding.at(location));
    }
}

/// The configuration file, when it holds a secret, must be the owner's alone.
fn config_file(settings: &Settings, report: &mut Report) {
    let Some(path) = &settings.input.file else { return };
    let inline: Vec<&str> = SECRET_SETTINGS
        .iter()
        .filter(|s| settings.in_file(s).is_some_and(|v| !v.is_empty()))
        .chain(URL_SETTINGS.iter().filter(|s| settings.in_file(s).is_some_and(|v| url_has_password(&v))))
        .copied()
        .collect();
    let rule = rules::config_file_permissions();
    let subject = format!("configuration file {}", path.display());
    match (mode(path), inline.is_empty()) {
        (Some(mode), false) if mode & 0o077 != 0 => report.push(
            &rule,
            Finding::new(
                Status::Error,
                &rule,
                subject,
                format!(
                    "mode {mode:04o}: {}, and it holds {}; chmod 600 {}",
                    who_can(mode),
                    inline.join(", "),
                    path.display()
                ),
            )
            .at(Location::file(path, None)),
        ),
        (Some(mode), false) => report.push(
            &rule,
            Finding::new(Status::Ok, &rule, subject, format!("mode {mode:04o}, and it holds {}", inline.join(", "))),
        ),
        (_, true) => report.notice(Finding::notice(Status::Ok, subject, "holds no secret")),
        (None, false) => {}
    }
}

/// Secret settings given in the environment.
fn environment(settings: &Settings, report: &mut Report) {
    let rule = rules::secret_in_environment();
    let origin = &settings.input.env_origin;
    let mut found = 0;
    for setting in SECRET_SETTINGS.iter().chain(URL_SETTINGS.iter()) {
        let Some((value, Source::Env(var))) = settings.get(setting) else { continue };
        let is_url = URL_SETTINGS.contains(setting);
        if value.is_empty() || (is_url && !url_has_password(&value)) {
            continue;
        }
        found += 1;
        let held = if is_url { "a URL with a password" } else { "the secret" };
        let message = format!(
            "{var} in {origin} holds {held} of {setting}: child processes inherit it and /proc/PID/environ shows it; \
             put it in the configuration file (mode 600){}",
            if is_url { "" } else { " or let the service keep it in its data directory" }
        );
        report.push(
            &rule,
            Finding::new(Status::Warning, &rule, var.clone(), message)
                .identified_by(format!("{}|{var}", rule.id))
                .at(Location::logical(var)),
        );
    }
    if found == 0 {
        report.notice(Finding::notice(Status::Ok, format!("secrets in {origin}"), "none of the secret settings"));
    }
}

fn tls(settings: &Settings, report: &mut Report) {
    let file_location = |setting: &str, source: &Source| settings.location(setting, source, None);
    match settings.get("tls.cert_file") {
        Some((cert, source)) => {
            let path = settings.path(&cert);
            report.notice(Finding::notice(Status::Ok, "TLS", format!("served by the service (tls.cert_file {cert})")));
            certificate_file(&path, file_location("tls.cert_file", &source), settings.input, report);
        }
        None if settings.flag("trust_forwarded_for") => report.notice(Finding::notice(
            Status::Ok,
            "TLS",
            "terminated by the proxy in front (trust_forwarded_for = true)",
        )),
        None => {
            let rule = rules::tls_not_enabled();
            let mut finding = Finding::new(
                Status::Warning,
                &rule,
                "TLS",
                "no [tls] cert_file and trust_forwarded_for is false: the service speaks plain HTTP with no TLS \
                 proxy declared in front; serve TLS, or put it behind one and set trust_forwarded_for",
            );
            if let Some(file) = &settings.input.file {
                finding = finding.at(Location::file(file, None));
            }
            report.push(&rule, finding);
        }
    }
    if let Some((version, source)) = settings.get("tls.min_version") {
        let rule = rules::tls_min_version();
        let location = file_location("tls.min_version", &source);
        match tls_minor(&version) {
            Some(minor) if minor >= 2 => report.push(
                &rule,
                Finding::new(Status::Ok, &rule, "tls.min_version", format!("{version}: 1.2 or later")).at(location),
            ),
            Some(_) => report.push(
                &rule,
                Finding::new(
                    Status::Error,
                    &rule,
                    "tls.min_version",
                    format!("{version} allows TLS below 1.2 (deprecated by RFC 8996); set it to 1.2 or 1.3"),
                )
                .at(location),
            ),
            None => report.push(
                &rule,
                Finding::new(Status::Error, &rule, "tls.min_version", format!("{version:?} is not a TLS version"))
                    .at(location),
            ),
        }
    }
}

/// The minor version of `1.2`, `TLSv1.2`, `tls1_2`, `TLS 1.3`.
fn tls_minor(text: &str) -> Option<u32> {
    let digits: String =
        text.trim().to_ascii_lowercase().trim_start_matches("tls").trim_start_matches(['v', ' ']).replace('_', ".");
    let (major, minor) = digits.split_once('.')?;
    (major == "1").then(|| minor.parse().ok()).flatten()
}

/// The certificate a file holds: days left.
fn certificate_file(path: &Path, location: Location, input: &ConfigInput, report: &mut Report) {
    let rule = rules::certificate_expiry();
    let subject = format!("certificate {}", path.display());
    let end = std::fs::read_to_string(path)
        .ok()
        .and_then(|pem| der::pem_certificates(&pem).into_iter().next())
        .and_then(|der| der::not_after(&der));
    match end {
        Some(end) => report.push(&rule, expiry(&rule, subject, end, input.now, input.cert_days_warning).at(location)),
        None => report.push(
            &rule,
            Finding::new(Status::Error, &rule, subject, "unreadable, or not a PEM certificate").at(location),
        ),
    }
}

/// A certificate's days left: an error once it has expired, a warning under `warn_days`.
pub fn expiry(rule: &crate::Rule, subject: String, end: Timestamp, now: Timestamp, warn_days: u64) -> Finding {
    if end <= now {
        return Finding::new(Status::Error, rule, subject, format!("expired on {end}; renew it"));
    }
    let days = end.secs_since(now) / DAY;
    let status = if days < warn_days { Status::Warning } else { Status::Ok };
    let advice =
        if status == Status::Warning { format!(": renew it (warning at {warn_days} days)") } else { String::new() };
    Finding::new(status, rule, subject, format!("ends {end}, in {days} days{advice}"))
}

/// Whether `url` carries a password (`postgres://user:pass@host`).
fn url_has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.split_once(':').is_some_and(|(_, p)| !p.is_empty()))
}

/// Who besides the owner may do what, in words.
fn who_can(mode: u32) -> String {
    let mut who = Vec::new();
    for (shift, name) in [(3, "its group"), (0, "others")] {
        let bits = (mode >> shift) & 0o7;
        let mut can = Vec::new();
        if bits & 4 != 0 {
            can.push("read");
        }
        if bits & 2 != 0 {
            can.push("write");
        }
        if bits & 1 != 0 {
            can.push("execute");
        }
        if !can.is_empty() {
            who.push(format!("{name} may {}", can.join(" and ")));
        }
    }
    who.join(", ")
}

/// A file's permission bits.
#[cfg(unix)]
fn mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| m.permissions().mode() & 0o7777)
}

/// A file's permission bits (not checked off Unix: every file counts as the owner's).
#[cfg(not(unix))]
fn mode(path: &Path) -> Option<u32> {
    std::fs::metadata(path).ok().filter(|m| m.is_file()).map(|_| 0o600)
}

/// The environment and working directory of a running process (Linux `/proc`).
pub fn process_environment(pid: u32) -> Result<(Vec<(String, String)>, PathBuf), String> {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let raw = std::fs::read(proc.join("environ")).map_err(|e| format!("cannot read /proc/{pid}/environ: {e}"))?;
    let cwd = std::fs::read_link(proc.join("cwd")).map_err(|e| format!("cannot read /proc/{pid}/cwd: {e}"))?;
    let env = raw
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let text = String::from_utf8_lossy(entry);
            text.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect();
    Ok((env, cwd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_versions_are_read_in_their_usual_spellings() {
        for (text, minor) in [("1.2", 2), ("TLSv1.1", 1), ("tls1_0", 0), ("TLS 1.3", 3), ("1.3", 3)] {
            assert_eq!(tls_minor(text), Some(minor), "{text}");
        }
        assert_eq!(tls_minor("SSLv3"), None);
        assert_eq!(tls_minor("2.0"), None);
    }

    #[test]
    fn passwords_in_urls_are_found_and_usernames_alone_are_not() {
        assert!(url_has_password("postgres://fw:s3cret@db.internal:5432/fw"));
        assert!(url_has_password("redis://:s3cret@127.0.0.1:6379/0"));
        assert!(!url_has_password("postgres://postgres@127.0.0.1:5432/test"));
        assert!(!url_has_password("sqlite://data/ferretwatch.db"));
        assert!(!url_has_password("postgres://h/db?password=x@y"), "the query is not the authority");
    }

    #[test]
    fn modes_are_explained() {
        assert_eq!(who_can(0o644), "its group may read, others may read");
        assert_eq!(who_can(0o660), "its group may read and write");
        assert_eq!(who_can(0o600), "");
        assert_eq!(env_name("server.s3_secret_access_key"), "FERRETWATCH_SERVER_S3_SECRET_ACCESS_KEY");
    }
}
