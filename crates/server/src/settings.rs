//! Settings: built-in defaults, then a TOML file, then `FERRETWATCH_…` environment
//! variables, each layer overriding the one before. Unknown keys are refused with the key
//! named, whichever layer they come from (`docs/formats/report-api.md`, "Configuration").
//!
//! Environment variables map onto keys by upper-casing and joining with `_`:
//! `FERRETWATCH_LISTEN` is `listen`, `FERRETWATCH_LIMITS_IP_PER_MINUTE` is
//! `limits.ip_per_minute`. Any variable that starts with a section's prefix
//! (`FERRETWATCH_LIMITS_`, `FERRETWATCH_INSTALL_`, `FERRETWATCH_CAPTCHA_`,
//! `FERRETWATCH_POOL_`, `FERRETWATCH_SERVER_`, `FERRETWATCH_CONSOLE_`, `FERRETWATCH_INCIDENTS_`,
//! `FERRETWATCH_TLS_`, `FERRETWATCH_BACKUP_`) and names no key is refused. Other `FERRETWATCH_*` variables belong
//! to other commands (`FERRETWATCH_SIGNING_KEY`, …) and are ignored here, and so are
//! [`SCRIPT_VARIABLES`], which the runbook scripts read under a section's prefix.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The configuration file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key is unknown or of the wrong type.
    #[error("{origin}: {message}")]
    Invalid {
        /// The file, or `environment`.
        origin: String,
        /// What is wrong, naming the key.
        message: String,
    },
}

/// Everything `ferretwatch serve` can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The API and origin listener.
    pub listen: SocketAddr,
    /// The metrics listener (Prometheus text format), kept apart so metrics are never
    /// exposed by accident.
    pub metrics_listen: SocketAddr,
    /// Where the defaults keep their files (database, origin, keys, install secret).
    pub data_dir: PathBuf,
    /// The database: `sqlite://PATH` or `postgres://…`. Default `sqlite://DATA_DIR/ferretwatch.db`.
    pub db: Option<String>,
    /// The pack origin: `file:///DIR`, a directory, or `s3://BUCKET[/PREFIX]`. Default
    /// `DATA_DIR/origin`.
    pub origin: Option<String>,
    /// On first start with a local origin that serves no pack: create development keys and
    /// deploy a signed default pack (logged loudly). Turn off in production.
    pub dev_bootstrap: bool,
    /// Take the client address from the last `X-Forwarded-For` entry (only behind a proxy
    /// that sets it; otherwise anyone could pick their own rate-limit bucket).
    pub trust_forwarded_for: bool,
    /// Log filter, `tracing` target syntax (`info`, `warn,ferretwatch_server=debug`).
    pub log: String,
    /// Seconds in-flight requests get to finish after a shutdown signal.
    pub shutdown_grace_seconds: u64,
    /// Report API limits.
    pub limits: Limits,
    /// Install tokens.
    pub install: InstallSettings,
    /// The CAPTCHA challenge for suspected abuse.
    pub captcha: CaptchaSettings,
    /// Database pool.
    pub pool: PoolSettings,
    /// Origin serving.
    pub server: ServerSettings,
    /// The admin console.
    pub console: ConsoleSettings,
    /// Incidents: the alert webhook, escalation and notifications (`docs/incidents.md`).
    pub incidents: IncidentSettings,
    /// TLS on the API listener (`docs/deployment.md`, "TLS"). Off without `cert_file`.
    pub tls: TlsSettings,
    /// The data lifecycle: retention and tombstones (`docs/data-lifecycle.md`).
    pub lifecycle: LifecycleSettings,
    /// Backups (`docs/backups.md`): where `ferretwatch backup` keeps them and for how long.
    pub backup: BackupSettings,
}

/// The data lifecycle (`docs/data-lifecycle.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleSettings {
    /// The tombstone key: a file holding 32 bytes as 64 hex digits, readable by its owner
    /// only. Default `DATA_DIR/tombstone-key`, generated (mode 0600) when absent.
    pub tombstone_key_file: Option<PathBuf>,
    /// Reports older than this many days are aggregated and deleted by `db retention`.
    pub retention_days: u32,
    /// Reports per retention batch (one transaction each).
    pub retention_batch: u32,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        LifecycleSettings { tombstone_key_file: None, retention_days: 90, retention_batch: 10_000 }
    }
}

/// Backups (`docs/backups.md`). The service itself never reads these: `ferretwatch
/// backup …` and its timer do.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupSettings {
    /// Where backups go: `file:///DIR`, a directory, or `s3://BUCKET[/PREFIX]`.
    pub destination: Option<String>,
    /// A recipient file (`ferretwatch backup keygen`): encrypt every backup to it.
    pub encrypt_to: Option<PathBuf>,
    /// The identity file that decrypts backups (`backup verify`, `restore`), on the
    /// machine that checks or restores them.
    pub identity: Option<PathBuf>,
    /// `backup prune`: keep backups younger than this many days.
    pub keep_days: Option<u64>,
    /// `backup prune`: keep at least the newest this many.
    pub keep_count: Option<u64>,
}

/// TLS on the API listener (`docs/deployment.md`, "TLS"); the metrics listener stays
/// plain HTTP.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// The certificate chain, PEM: the server's certificate first, then the intermediates.
    /// Without it the listener speaks plain HTTP.
    pub cert_file: Option<PathBuf>,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1); required with `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Seconds between looks at the two files for a change (a changed pair is loaded,
    /// checked and swapped in for new handshakes); 0: only on SIGHUP.
    pub reload_secs: u64,
    /// The lowest protocol version accepted: `"1.2"` or `"1.3"`.
    pub min_version: TlsVersion,
}

/// A TLS protocol version, as the settings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2 (and 1.3).
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3 only.
    #[serde(rename = "1.3")]
    Tls13,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings { cert_file: None, key_file: None, reload_secs: 60, min_version: TlsVersion::Tls12 }
    }
}

impl TlsSettings {
    /// The certificate and key files, when TLS is on; an error when only one is set.
    pub fn files(&self) -> Result<Option<(&Path, &Path)>, String> {
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            (Some(_), None) => {
                Err("tls.cert_file is set without tls.key_file: set both, or neither for plain HTTP".into())
            }
            (None, Some(_)) => {
                Err("tls.key_file is set without tls.cert_file: set both, or neither for plain HTTP".into())
            }
        }
    }

    /// Whether the API listener speaks TLS.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some()
    }
}

/// Incidents (`docs/incidents.md`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentSettings {
    /// Where incidents are kept: `sqlite://PATH` or `postgres://…`. Default
    /// `sqlite://DATA_DIR/incidents.db`: apart from the service's database, so that an
    /// outage of that database is itself recorded as an incident. Several instances that
    /// all take alerts share one (point them at the same database).
    pub db: Option<String>,
    /// The bearer token Alertmanager sends to `POST /api/alerts` (at least 32
    /// characters). The webhook answers 404 without one.
    #[serde(serialize_with = "redacted")]
    pub webhook_token: Option<SecretString>,
    /// A Slack-compatible webhook (`{"text": …}`) told when an incident opens or
    /// escalates.
    pub notify_url: Option<String>,
    /// An SMTP server to e-mail the same notifications through: `smtp://HOST:25`,
    /// `smtp://USER:PASSWORD@HOST:587?tls=required` (STARTTLS) or `smtps://…:465`. A
    /// secret (it may hold a password); with `email_to` and `email_from`.
    #[serde(serialize_with = "redacted")]
    pub smtp_url: Option<SecretString>,
    /// Who is e-mailed: addresses separated by commas.
    pub email_to: Option<String>,
    /// Who the e-mail is from (`FerretWatch <ferretwatch@example.org>`).
    pub email_from: Option<String>,
    /// Seconds between escalation checks.
    pub escalation_check_secs: u64,
    /// The response times of P1–P4 in seconds (runbook: 15 min, 1 h, 4 h, 24 h): an open
    /// incident not acknowledged within its time escalates, and again each time after.
    pub response_secs: [u64; 4],
}

impl std::fmt::Debug for IncidentSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncidentSettings")
            .field("db", &self.db.as_ref().map(|u| u.split('@').next_back().unwrap_or_default().to_owned()))
            .field("webhook_token", &self.webhook_token.as_ref().map(|_| "[REDACTED]"))
            .field("notify_url", &self.notify_url.as_ref().map(|_| "[set]"))
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "[REDACTED]"))
            .field("email_to", &self.email_to)
            .field("email_from", &self.email_from)
            .field("escalation_check_secs", &self.escalation_check_secs)
            .field("response_secs", &self.response_secs)
            .finish()
    }
}

impl Default for IncidentSettings {
    fn default() -> Self {
        IncidentSettings {
            db: None,
            webhook_token: None,
            notify_url: None,
            smtp_url: None,
            email_to: None,
            email_from: None,
            escalation_check_secs: 30,
            response_secs: ferretwatch_store::Priority::RESPONSE_SECS,
        }
    }
}

/// The admin console (`docs/console.md`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// The URL the console is reached at, for invitation links and the OpenID Connect
    /// redirect (default `http://LISTEN`).
    pub public_url: Option<String>,
    /// The console's master secret (hex, 32 bytes): it encrypts TOTP seeds and keys the
    /// CSRF tokens and recovery-code hashes. When absent, a random one is kept in
    /// `DATA_DIR/console/secret` (mode 0600).
    #[serde(serialize_with = "redacted")]
    pub secret: Option<SecretString>,
    /// The Ed25519 key file that signs the audit log (`ferretwatch keys generate`
    /// format). Default `DATA_DIR/console/audit.key`, created on first start.
    pub audit_key: Option<PathBuf>,
    /// Minutes without a request after which a session ends.
    pub idle_timeout_minutes: u32,
    /// Hours after sign-in after which a session ends, active or not.
    pub absolute_timeout_hours: u32,
    /// The longest just-in-time elevation, in minutes.
    pub max_elevation_minutes: u32,
    /// Hours an invitation stays open.
    pub invitation_hours: u32,
    /// Sign-in attempts per client network (/24, /48) per minute.
    pub login_per_network_per_minute: u32,
    /// Sign-in attempts per account per minute.
    pub login_per_account_per_minute: u32,
    /// Consecutive failures after which an account is locked (for a minute, doubling with
    /// each further failure up to an hour).
    pub lockout_after: u32,
    /// OpenID Connect: the issuer URL. No single sign-on when absent.
    pub oidc_issuer: Option<String>,
    /// OpenID Connect: the client id.
    pub oidc_client_id: Option<String>,
    /// OpenID Connect: the client secret (never printed).
    #[serde(serialize_with = "redacted")]
    pub oidc_client_secret: Option<SecretString>,
    /// OpenID Connect: the button's label.
    pub oidc_label: String,
    /// The labelled corpus `pack test` runs every rule proposal against (a directory laid
    /// out as `tests/corpus/`); without one, proposals show that no test ran.
    pub test_corpus: Option<PathBuf>,
    /// Where reproductions' artifacts go: `file:///DIR`, a directory, or
    /// `s3://BUCKET[/PREFIX]`. Default `DATA_DIR/artifacts`.
    pub artifacts: Option<String>,
    /// Let reproductions reach loopback addresses (tests and local development only).
    pub reproduce_allow_loopback: bool,
    /// The hard time cap of one reproduction, in seconds.
    pub reproduce_seconds: u32,
}

impl std::fmt::Debug for ConsoleSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSettings")
            .field("public_url", &self.public_url)
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("audit_key", &self.audit_key)
            .field("idle_timeout_minutes", &self.idle_timeout_minutes)
            .field("absolute_timeout_hours", &self.absolute_timeout_hours)
            .field("max_elevation_minutes", &self.max_elevation_minutes)
            .field("invitation_hours", &self.invitation_hours)
            .field("login_per_network_per_minute", &self.login_per_network_per_minute)
            .field("login_per_account_per_minute", &self.login_per_account_per_minute)
            .field("lockout_after", &self.lockout_after)
            .field("oidc_issuer", &self.oidc_issuer)
            .field("oidc_client_id", &self.oidc_client_id)
            .field("oidc_client_secret", &self.oidc_client_secret.as_ref().map(|_| "[REDACTED]"))
            .field("oidc_label", &self.oidc_label)
            .field("test_corpus", &self.test_corpus)
            .field("artifacts", &self.artifacts)
            .field("reproduce_allow_loopback", &self.reproduce_allow_loopback)
            .field("reproduce_seconds", &self.reproduce_seconds)
            .finish()
    }
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            public_url: None,
            secret: None,
            audit_key: None,
            idle_timeout_minutes: 30,
            absolute_timeout_hours: 12,
            max_elevation_minutes: 60,
            invitation_hours: 72,
            login_per_network_per_minute: 20,
            login_per_account_per_minute: 10,
            lockout_after: 5,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_label: "Single sign-on".into(),
            test_corpus: None,
            artifacts: None,
            reproduce_allow_loopback: false,
            reproduce_seconds: 10,
        }
    }
}

/// Token buckets and size limits of the report API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Requests per client IP per minute (report, false positive, install).
    pub ip_per_minute: u32,
    /// Requests per client IP per day.
    pub ip_per_day: u32,
    /// Reports per install token per minute.
    pub install_per_minute: u32,
    /// Reports per install token per day.
    pub install_per_day: u32,
    /// The largest request body accepted, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Milliseconds a client has to send a request's headers (from the connection's
    /// start or the end of the previous response) before the connection is closed.
    pub header_timeout_ms: u64,
    /// Milliseconds a client has to send a request's body (408 beyond).
    pub body_timeout_ms: u64,
    /// Open connections per client address (more are closed at once). Not applied with
    /// `trust_forwarded_for`, where every connection comes from the proxy.
    pub max_connections_per_ip: u32,
    /// Redis that keeps the limits and the CAPTCHA greylist for every instance:
    /// `redis://HOST:PORT[/DB]`. None: limits are kept in this process.
    pub redis: Option<String>,
    /// The prefix of every key the limits keep in Redis (separate environments sharing
    /// one Redis use different prefixes).
    pub redis_prefix: String,
    /// The longest wait for Redis on one decision, in milliseconds, before it is taken
    /// locally.
    pub redis_timeout_ms: u64,
}

/// Install tokens (`POST /v1/install`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InstallSettings {
    /// The HMAC key, at least 32 characters. When absent, a random one is generated on
    /// first start and kept in `DATA_DIR/install-secret` (mode 0600).
    #[serde(serialize_with = "redacted")]
    pub secret: Option<SecretString>,
    /// How long an issued token is valid, in days.
    pub validity_days: u32,
}

impl std::fmt::Debug for InstallSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallSettings")
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("validity_days", &self.validity_days)
            .finish()
    }
}

/// The CAPTCHA challenge (decision 0011): asked of clients that look abusive.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptchaSettings {
    /// The siteverify endpoint (`https://api.hcaptcha.com/siteverify`,
    /// `https://challenges.cloudflare.com/turnstile/v0/siteverify`). No CAPTCHA when absent.
    pub verify_url: Option<String>,
    /// The site secret sent to the endpoint.
    #[serde(serialize_with = "redacted")]
    pub secret: Option<SecretString>,
    /// Requests per IP per minute above which a CAPTCHA is required (below the hard
    /// per-minute limit).
    pub after_per_minute: u32,
    /// Seconds an IP that hit a rate limit must solve a CAPTCHA for every report.
    pub greylist_seconds: u64,
    /// Timeout of one verification call, in milliseconds.
    pub timeout_ms: u64,
}

impl std::fmt::Debug for CaptchaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaSettings")
            .field("verify_url", &self.verify_url)
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("after_per_minute", &self.after_per_minute)
            .field("greylist_seconds", &self.greylist_seconds)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// Database pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolSettings {
    /// Most connections; 0 for the backend's default (16 PostgreSQL, 4 SQLite).
    pub max_connections: u32,
    /// Milliseconds a request waits for a connection before failing with 503.
    pub acquire_timeout_ms: u64,
    /// PostgreSQL: writers taking turns at the group commit of reports (at least 1, at
    /// most half the pool).
    pub writers: u32,
}

/// Origin serving.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// `max-age` of the manifest and TUF metadata, in seconds.
    pub metadata_max_age: u32,
    /// Milliseconds a cached metadata object is served before the store is asked whether
    /// it changed.
    pub revalidate_ms: u64,
    /// Bytes of origin objects kept in memory at most.
    pub cache_bytes: usize,
    /// An `s3://` origin's endpoint (`http://127.0.0.1:9000` for a local S3-compatible
    /// server). Default: `FERRETWATCH_S3_ENDPOINT`, else `AWS_ENDPOINT_URL`, else AWS.
    pub s3_endpoint: Option<String>,
    /// An `s3://` origin's region. Default: `FERRETWATCH_S3_REGION`, else `AWS_REGION`,
    /// else `us-east-1`.
    pub s3_region: Option<String>,
    /// An `s3://` origin's access key id; with [`Self::s3_secret_access_key`] it replaces
    /// the standard `AWS_*` credentials.
    pub s3_access_key_id: Option<String>,
    /// Its secret (never printed).
    #[serde(serialize_with = "redacted")]
    pub s3_secret_access_key: Option<SecretString>,
    /// The online timestamp key (a private key file the root's `timestamp` role lists).
    /// With it, the service renews the origin's `timestamp.json` before it expires.
    pub online_key: Option<PathBuf>,
    /// Seconds each renewed timestamp is valid (a day; renewed when half is left).
    pub timestamp_ttl_secs: u64,
    /// The root of trust the renewed timestamp's snapshot must verify under (required with
    /// `online_key`).
    pub root: Option<PathBuf>,
}

impl ServerSettings {
    /// The S3 settings of an `s3://` origin: these settings over the environment's.
    pub fn s3_options(&self) -> ferretwatch_pack_publisher::origin::S3Options {
        let env = ferretwatch_pack_publisher::origin::S3Options::from_env();
        ferretwatch_pack_publisher::origin::S3Options {
            endpoint: self.s3_endpoint.clone().or(env.endpoint),
            region: self.s3_region.clone().or(env.region),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
        }
    }
}

impl std::fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSettings")
            .field("metadata_max_age", &self.metadata_max_age)
            .field("revalidate_ms", &self.revalidate_ms)
            .field("cache_bytes", &self.cache_bytes)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field("s3_secret_access_key", &self.s3_secret_access_key.as_ref().map(|_| "[REDACTED]"))
            .field("online_key", &self.online_key)
            .field("timestamp_ttl_secs", &self.timestamp_ttl_secs)
            .field("root", &self.root)
            .finish()
    }
}

fn redacted<S: serde::Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_some("[REDACTED]"),
        None => s.serialize_none(),
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            data_dir: PathBuf::from("data"),
            db: None,
            origin: None,
            dev_bootstrap: true,
            trust_forwarded_for: false,
            log: "info".into(),
            shutdown_grace_seconds: 30,
            limits: Limits::default(),
            install: InstallSettings::default(),
            captcha: CaptchaSettings::default(),
            pool: PoolSettings::default(),
            server: ServerSettings::default(),
            console: ConsoleSettings::default(),
            incidents: IncidentSettings::default(),
            tls: TlsSettings::default(),
            lifecycle: LifecycleSettings::default(),
            backup: BackupSettings::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ip_per_minute: 5,
            ip_per_day: 300,
            install_per_minute: 3,
            install_per_day: 100,
            max_body_bytes: 10_240,
            header_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
            max_connections_per_ip: 32,
            redis: None,
            redis_prefix: "ferretwatch:limits:".into(),
            redis_timeout_ms: 100,
        }
    }
}

impl Default for InstallSettings {
    fn default() -> Self {
        InstallSettings { secret: None, validity_days: 365 }
    }
}

impl Default for CaptchaSettings {
    fn default() -> Self {
        CaptchaSettings {
            verify_url: None,
            secret: None,
            after_per_minute: 3,
            greylist_seconds: 600,
            timeout_ms: 3_000,
        }
    }
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings { max_connections: 0, acquire_timeout_ms: 5_000, writers: 1 }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            metadata_max_age: 60,
            revalidate_ms: 1_000,
            cache_bytes: 64 << 20,
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            online_key: None,
            timestamp_ttl_secs: 24 * 3600,
            root: None,
        }
    }
}

/// Sections whose environment prefix is reserved: an unknown key under one is an error.
const SECTIONS: [&str; 10] =
    ["limits", "install", "captcha", "pool", "server", "console", "incidents", "tls", "lifecycle", "backup"];

/// Variables under a section's prefix that are no setting: the runbook scripts read them
/// (`cert-expiry-check.sh`, `cert-renewal-check.sh`), and an environment file shared with
/// the service may hold them.
pub const SCRIPT_VARIABLES: [&str; 2] = ["FERRETWATCH_TLS_CA", "FERRETWATCH_TLS_ENDPOINTS"];

/// The environment prefix.
pub const ENV_PREFIX: &str = "FERRETWATCH_";

impl Settings {
    /// Defaults, then `file` (if given), then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_from(file, std::env::vars())
    }

    /// Defaults, then `file`, then the given environment (for tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut table = toml::Table::new();
        if let Some(path) = file {
            let text =
                std::fs::read_to_string(path).map_err(|source| SettingsError::Read { path: path.into(), source })?;
            table = toml::from_str(&text)
                .map_err(|e| SettingsError::Invalid { origin: path.display().to_string(), message: e.to_string() })?;
            // Type and key errors name the file.
            Settings::deserialize(toml::Value::Table(table.clone()))
                .map_err(|e| SettingsError::Invalid { origin: path.display().to_string(), message: e.to_string() })?;
        }
        let env_table = env_overrides(env)?;
        merge(&mut table, env_table);
        let settings = Settings::deserialize(toml::Value::Table(table))
            .map_err(|e| SettingsError::Invalid { origin: "environment".into(), message: e.to_string() })?;
        settings.tls.files().map_err(|message| SettingsError::Invalid { origin: "settings".into(), message })?;
        Ok(settings)
    }

    /// The database URL in force.
    pub fn db_url(&self) -> String {
        self.db.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("ferretwatch.db").display()))
    }

    /// The incidents' database in force (`incidents.db`, default
    /// `sqlite://DATA_DIR/incidents.db`).
    pub fn incidents_db_url(&self) -> String {
        self.incidents
            .db
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("incidents.db").display()))
    }

    /// The console's public URL in force (default `https://LISTEN` with TLS, else
    /// `http://LISTEN`).
    pub fn console_url(&self) -> String {
        let scheme = if self.tls.enabled() { "https" } else { "http" };
        let url = self.console.public_url.clone().unwrap_or_else(|| format!("{scheme}://{}", self.listen));
        url.trim_end_matches('/').to_owned()
    }

    /// The tombstone key's file in force (`lifecycle.tombstone_key_file`, default
    /// `DATA_DIR/tombstone-key`).
    pub fn tombstone_key_path(&self) -> PathBuf {
        self.lifecycle.tombstone_key_file.clone().unwrap_or_else(|| self.data_dir.join(crate::lifecycle::KEY_FILE))
    }

    /// The origin in force.
    pub fn origin_url(&self) -> String {
        self.origin.clone().unwrap_or_else(|| self.data_dir.join("origin").display().to_string())
    }
}

/// The keys every layer may set, with their types, from a fully populated example.
fn known_keys() -> BTreeMap<String, (Vec<String>, toml::Value)> {
    let mut example = Settings { db: Some(String::new()), origin: Some(String::new()), ..Settings::default() };
    example.install.secret = Some(SecretString::from(""));
    example.limits.redis = Some(String::new());
    example.captcha.verify_url = Some(String::new());
    example.captcha.secret = Some(SecretString::from(""));
    example.server.s3_endpoint = Some(String::new());
    example.server.s3_region = Some(String::new());
    example.server.s3_access_key_id = Some(String::new());
    example.server.s3_secret_access_key = Some(SecretString::from(""));
    example.server.online_key = Some(PathBuf::new());
    example.server.root = Some(PathBuf::new());
    example.console.public_url = Some(String::new());
    example.console.secret = Some(SecretString::from(""));
    example.console.audit_key = Some(PathBuf::new());
    example.console.oidc_issuer = Some(String::new());
    example.console.oidc_client_id = Some(String::new());
    example.console.oidc_client_secret = Some(SecretString::from(""));
    example.console.artifacts = Some(String::new());
    example.console.test_corpus = Some(PathBuf::new());
    example.incidents.webhook_token = Some(SecretString::from(""));
    example.incidents.db = Some(String::new());
    example.incidents.notify_url = Some(String::new());
    example.incidents.smtp_url = Some(SecretString::from(""));
    example.incidents.email_to = Some(String::new());
    example.incidents.email_from = Some(String::new());
    example.tls.cert_file = Some(PathBuf::new());
    example.tls.key_file = Some(PathBuf::new());
    example.lifecycle.tombstone_key_file = Some(PathBuf::new());
    example.backup.destination = Some(String::new());
    example.backup.encrypt_to = Some(PathBuf::new());
    example.backup.identity = Some(PathBuf::new());
    example.backup.keep_days = Some(0);
    example.backup.keep_count = Some(0);
    let value = toml::Value::try_from(&example).expect("settings serialise");
    let mut keys = BTreeMap::new();
    fn walk(prefix: &[String], value: &toml::Value, out: &mut BTreeMap<String, (Vec<String>, toml::Value)>) {
        match value {
            toml::Value::Table(table) => {
                for (key, value) in table {
                    let mut path = prefix.to_vec();
                    path.push(key.clone());
                    walk(&path, value, out);
                }
            }
            leaf => {
                out.insert(prefix.join("_").to_ascii_uppercase(), (prefix.to_vec(), leaf.clone()));
            }
        }
    }
    walk(&[], &value, &mut keys);
    keys
}

/// The `FERRETWATCH_…` variables that name settings, as a table to merge.
fn env_overrides(env: impl IntoIterator<Item = (String, String)>) -> Result<toml::Table, SettingsError> {
    let keys = known_keys();
    let mut table = toml::Table::new();
    let invalid = |message: String| SettingsError::Invalid { origin: "environment".into(), message };
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else { continue };
        if SCRIPT_VARIABLES.contains(&name.as_str()) {
            continue;
        }
        let Some((path, example)) = keys.get(rest) else {
            let lower = rest.to_ascii_lowercase();
            if let Some(section) = SECTIONS.iter().find(|s| lower.starts_with(&format!("{s}_"))) {
                return Err(invalid(format!(
                    "unknown setting {name} (no key {section}.{} in section [{section}])",
                    &lower[section.len() + 1..]
                )));
            }
            continue;
        };
        let value = match example {
            toml::Value::Integer(_) => raw
                .trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .map_err(|_| invalid(format!("{name}: {raw:?} is not an integer")))?,
            toml::Value::Boolean(_) => match raw.trim() {
                "true" | "1" | "yes" => toml::Value::Boolean(true),
                "false" | "0" | "no" => toml::Value::Boolean(false),
                _ => return Err(invalid(format!("{name}: {raw:?} is not true or false"))),
            },
            _ => toml::Value::String(raw),
        };
        let mut cursor = &mut table;
        for part in &path[..path.len() - 1] {
            cursor = cursor
                .entry(part.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .expect("sections are tables");
        }
        cursor.insert(path[path.len() - 1].clone(), value);
    }
    Ok(table)
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(over_inner)) => merge(inner, over_inner),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn no_configuration_gives_the_documented_defaults() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.metrics_listen.to_string(), "127.0.0.1:9090");
        assert_eq!(s.db_url(), "sqlite://data/ferretwatch.db");
        assert_eq!(s.origin_url(), "data/origin");
        assert_eq!((s.limits.ip_per_minute, s.limits.ip_per_day), (5, 300));
        assert_eq!((s.limits.install_per_minute, s.limits.install_per_day), (3, 100));
        assert!(s.dev_bootstrap);
    }

    #[test]
    fn file_then_environment_override_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fw.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:8000\"\n[limits]\nip_per_minute = 50\nip_per_day = 9\n").unwrap();
        let s = Settings::load_from(
            Some(&path),
            env(&[("FERRETWATCH_LIMITS_IP_PER_DAY", "1000"), ("FERRETWATCH_DB", "postgres://x@y/z")]),
        )
        .unwrap();
        assert_eq!(s.listen.to_string(), "0.0.0.0:8000");
        assert_eq!(s.limits.ip_per_minute, 50);
        assert_eq!(s.limits.ip_per_day, 1000);
        assert_eq!(s.db_url(), "postgres://x@y/z");
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fw.toml");
        std::fs::write(&path, "[limits]\nip_per_hour = 5\n").unwrap();
        let err = Settings::load_from(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(err.contains("ip_per_hour"), "{err}");
        std::fs::write(&path, "lissen = \"x\"\n").unwrap();
        let err = Settings::load_from(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(err.contains("lissen"), "{err}");
    }

    #[test]
    fn unknown_variables_under_a_section_prefix_are_refused_and_others_ignored() {
        let err = Settings::load_from(None, env(&[("FERRETWATCH_LIMITS_IP_PER_HOUR", "5")])).unwrap_err();
        assert!(err.to_string().contains("FERRETWATCH_LIMITS_IP_PER_HOUR"), "{err}");
        let err = Settings::load_from(None, env(&[("FERRETWATCH_SERVER_PORT", "5")])).unwrap_err();
        assert!(err.to_string().contains("FERRETWATCH_SERVER_PORT"), "{err}");
        let ok = Settings::load_from(None, env(&[("FERRETWATCH_SIGNING_KEY", "a.key"), ("HOME", "/root")]));
        assert!(ok.is_ok());
        let err = Settings::load_from(None, env(&[("FERRETWATCH_LIMITS_IP_PER_DAY", "many")])).unwrap_err();
        assert!(err.to_string().contains("not an integer"), "{err}");
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let s = Settings::load_from(None, env(&[("FERRETWATCH_INSTALL_SECRET", "hunter2-hunter2-hunter2-hunter2-x")]))
            .unwrap();
        assert!(s.install.secret.is_some());
        assert!(!format!("{s:?}").contains("hunter2"));
        let s = Settings::load_from(
            None,
            env(&[
                ("FERRETWATCH_SERVER_S3_ENDPOINT", "http://127.0.0.1:9000"),
                ("FERRETWATCH_SERVER_S3_SECRET_ACCESS_KEY", "hunter2-s3"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.s3_endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(s.server.s3_secret_access_key.is_some());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn tls_is_off_by_default_and_read_from_the_file_and_the_environment() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert!(!s.tls.enabled());
        assert_eq!((s.tls.reload_secs, s.tls.min_version), (60, TlsVersion::Tls12));
        assert_eq!(s.console_url(), "http://127.0.0.1:8080");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fw.toml");
        std::fs::write(
            &path,
            "[tls]\ncert_file = \"/etc/fw/cert.pem\"\nkey_file = \"/etc/fw/key.pem\"\nmin_version = \"1.3\"\n",
        )
        .unwrap();
        let s = Settings::load_from(Some(&path), env(&[("FERRETWATCH_TLS_RELOAD_SECS", "0")])).unwrap();
        assert_eq!(s.tls.files().unwrap(), Some((Path::new("/etc/fw/cert.pem"), Path::new("/etc/fw/key.pem"))));
        assert_eq!((s.tls.reload_secs, s.tls.min_version), (0, TlsVersion::Tls13));
        assert_eq!(s.console_url(), "https://127.0.0.1:8080");

        let s = Settings::load_from(
            None,
            env(&[
                ("FERRETWATCH_TLS_CERT_FILE", "c.pem"),
                ("FERRETWATCH_TLS_KEY_FILE", "k.pem"),
                ("FERRETWATCH_TLS_MIN_VERSION", "1.2"),
            ]),
        )
        .unwrap();
        assert!(s.tls.enabled());
    }

    #[test]
    fn a_certificate_without_its_key_or_an_unknown_version_is_refused() {
        let err = Settings::load_from(None, env(&[("FERRETWATCH_TLS_CERT_FILE", "c.pem")])).unwrap_err().to_string();
        assert!(err.contains("tls.cert_file is set without tls.key_file"), "{err}");
        let err = Settings::load_from(None, env(&[("FERRETWATCH_TLS_KEY_FILE", "k.pem")])).unwrap_err().to_string();
        assert!(err.contains("tls.key_file is set without tls.cert_file"), "{err}");
        let err = Settings::load_from(None, env(&[("FERRETWATCH_TLS_MIN_VERSION", "1.1")])).unwrap_err().to_string();
        assert!(err.contains("1.1") && err.contains("1.3"), "{err}");
        let err = Settings::load_from(None, env(&[("FERRETWATCH_TLS_CERT", "c.pem")])).unwrap_err().to_string();
        assert!(err.contains("FERRETWATCH_TLS_CERT"), "{err}");
        // The scripts' own variables under the prefix are no settings, and no error.
        let ok =
            Settings::load_from(None, env(&[("FERRETWATCH_TLS_CA", "ca.pem"), ("FERRETWATCH_TLS_ENDPOINTS", "h:443")]));
        assert!(ok.is_ok());
    }

    #[test]
    fn the_backup_section_comes_from_the_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ferretwatch.toml");
        std::fs::write(&path, "[backup]\ndestination = \"file:///srv/backups\"\nkeep_days = 14\n").unwrap();
        let s = Settings::load_from(Some(&path), env(&[("FERRETWATCH_BACKUP_KEEP_COUNT", "48")])).unwrap();
        assert_eq!(s.backup.destination.as_deref(), Some("file:///srv/backups"));
        assert_eq!((s.backup.keep_days, s.backup.keep_count), (Some(14), Some(48)));
        let s = Settings::load_from(None, env(&[("FERRETWATCH_BACKUP_DESTINATION", "s3://b/p")])).unwrap();
        assert_eq!(s.backup.destination.as_deref(), Some("s3://b/p"));
        let err = Settings::load_from(None, env(&[("FERRETWATCH_BACKUP_TO", "x")])).unwrap_err().to_string();
        assert!(err.contains("FERRETWATCH_BACKUP_TO"), "{err}");
    }
}
