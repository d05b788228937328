//! What every handler shares.

use std::sync::{Arc, RwLock};

use ferretwatch_store::Store;

use crate::captcha::CaptchaVerifier;
use crate::install::InstallKeys;
use crate::limits::RateLimits;
use crate::origin::OriginStore;
use crate::settings::Settings;

/// The application's shared state (cheap to clone: every field is shared).
#[derive(Clone, Debug)]
pub struct AppState {
    /// The admin console's keys, throttles, policies and single sign-on.
    pub console: Arc<crate::console::Console>,
    /// The settings in force.
    pub settings: Arc<Settings>,
    /// Reports, moderation and admin tokens.
    pub store: Arc<dyn Store>,
    /// Incidents, kept apart from `store` (`incidents.db`): an outage of the service's
    /// database must still open its incident.
    pub incidents: Arc<dyn Store>,
    /// Who is told when an incident opens or escalates.
    pub notifier: Arc<crate::notify::Notifier>,
    /// The pack origin.
    pub origin: Arc<OriginStore>,
    /// Install-token keys.
    pub install: Arc<InstallKeys>,
    /// Token buckets.
    pub limits: Arc<RateLimits>,
    /// The CAPTCHA verifier, when one is configured.
    pub captcha: Option<Arc<dyn CaptchaVerifier>>,
    /// The pack version the origin serves, as last seen.
    pub pack_version: Arc<RwLock<Option<String>>>,
    /// The key of the tombstones that deletion requests record.
    pub tombstone_key: Arc<ferretwatch_store::TombstoneKey>,
    /// The degradation level in force.
    pub degradation: Arc<crate::degradation::Degradation>,
    /// Reports taken at degradation level 3, waiting for the store.
    pub report_queue: Arc<crate::report_queue::ReportQueue>,
}

impl AppState {
    /// The pack version last seen at the origin.
    pub fn current_pack_version(&self) -> Option<String> {
        self.pack_version.read().expect("pack version lock").clone()
    }
}
