//! The admin console: server-rendered pages behind accounts with passwords and TOTP (or
//! OpenID Connect and TOTP), sessions, roles and a signed audit log (`docs/console.md`).
//!
//! - [`session`]: cookies, the [`session::Signed`] extractor that checks the permission
//!   table, CSRF tokens.
//! - [`guard`]: the headers every console response carries (strict CSP, no framing) and
//!   the CSRF check in front of every form post.
//! - [`login`]: sign-in (password, then TOTP or a recovery code), enrolment by invitation,
//!   sign-out; [`sso`]: OpenID Connect sign-in and linking.
//! - [`pages`]: the modules (dashboard, users & roles, policies & settings, audit &
//!   exports, your account with just-in-time elevation); [`triage`]: reports.

pub mod codes;
pub mod error;
pub mod guard;
pub mod keys;
pub mod login;
pub mod oidc;
pub mod pages;
pub mod permissions;
pub mod policies;
pub mod reproduce;
pub mod rules;
pub mod session;
pub mod sso;
pub mod throttle;
pub mod triage;
pub mod views;

use std::time::Duration;

use ferretwatch_store::{AuditSigner, Audited, NewAuditEntry, Store};
use secrecy::SecretString;

use crate::settings::Settings;
use keys::{ConsoleKeyError, ConsoleKeys};
use throttle::Throttle;

/// What the console keeps for the life of the process.
#[derive(Debug)]
pub struct Console {
    /// The master secret and the audit key.
    pub keys: ConsoleKeys,
    /// Sign-in attempts per client network.
    pub by_network: Throttle,
    /// Sign-in attempts per account name.
    pub by_account: Throttle,
    /// Reports of one kind per URL (the rate is the policy `reports.per_url_per_hour`),
    /// and per URL and client network.
    pub by_url: Throttle,
    /// Client telemetry bodies per install and per client network.
    pub telemetry: Throttle,
    /// The policies in force.
    pub policies: policies::Policies,
    /// Single sign-on, when configured.
    pub oidc: Option<sso::Sso>,
    /// The dashboard's report volume and when it was counted (at most
    /// [`VOLUME_MAX_AGE`] old: counting a week of reports on every view is waste).
    pub volume: std::sync::Mutex<Option<(std::time::Instant, [ferretwatch_store::ReportVolume; 3])>>,
    /// An argon2id hash checked when an address names no account, so that a sign-in
    /// takes as long whether or not the account exists.
    pub dummy_hash: String,
}

/// How old the dashboard's report volume may be.
pub const VOLUME_MAX_AGE: Duration = Duration::from_secs(15);

/// Why the console could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleSetupError {
    /// The keys.
    #[error("{0}")]
    Keys(#[from] ConsoleKeyError),
    /// The OpenID Connect settings.
    #[error("console OpenID Connect: {0}")]
    Oidc(String),
}

impl Console {
    /// Loads (or on a first start creates) the keys and sets up throttles and single
    /// sign-on from the settings.
    pub fn new(settings: &Settings) -> Result<Self, ConsoleSetupError> {
        let keys = ConsoleKeys::load_or_create(settings)?;
        let c = &settings.console;
        let oidc = match (&c.oidc_issuer, &c.oidc_client_id, &c.oidc_client_secret) {
            (Some(issuer), Some(id), Some(secret)) => {
                Some(sso::Sso::new(issuer, id, secret.clone(), &settings.console_url(), &c.oidc_label)?)
            }
            (None, None, None) => None,
            _ => {
                return Err(ConsoleSetupError::Oidc(
                    "console.oidc_issuer, oidc_client_id and oidc_client_secret go together".into(),
                ))
            }
        };
        let dummy_hash = login::hash_password(&SecretString::from("not a password of any account"))
            .map_err(|e| ConsoleSetupError::Oidc(format!("argon2: {e:?}")))?;
        Ok(Console {
            keys,
            policies: policies::Policies::from_settings(settings),
            by_network: Throttle::per_minute(c.login_per_network_per_minute),
            by_account: Throttle::per_minute(c.login_per_account_per_minute),
            by_url: Throttle::per_minute(1),
            telemetry: Throttle::per_minute(1),
            oidc,
            volume: std::sync::Mutex::new(None),
            dummy_hash,
        })
    }

    /// The audit entry `entry`, signed with the console's key.
    pub fn audited<'a>(&'a self, entry: &'a NewAuditEntry) -> Audited<'a> {
        Audited { entry, signer: &self.keys as &dyn AuditSigner }
    }
}

/// Deletes expired sessions and pending sign-ins (the housekeeping task calls it every
/// few minutes; `ferretwatch admin sessions-cleanup` does the same by hand).
pub async fn sweep(store: &dyn Store, idle_timeout_minutes: u32) -> Result<u64, ferretwatch_store::StoreError> {
    let now = ferretwatch_types::Timestamp::now();
    let idle = Duration::from_secs(u64::from(idle_timeout_minutes.max(1)) * 60);
    let cutoff = ferretwatch_types::Timestamp::from_millis(now.as_millis() - idle.as_millis() as i64);
    store.delete_expired_sessions(now, cutoff).await
}
