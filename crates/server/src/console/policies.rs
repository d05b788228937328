//! Policies an Admin changes from the console: the report API's rate limits, the
//! console's own lock-out and idle timeout, and when coordinated reporting is flagged.
//!
//! The configuration file gives the starting values; a value saved in the console is
//! stored (with who and when, and an audit entry in the same transaction) and overrides
//! it. Each instance applies a change at once when it makes it, and reloads the stored
//! values every minute, so every instance follows within a minute.

use std::sync::atomic::{AtomicU32, Ordering};

use ferretwatch_store::{SettingValue, StoreError};

use crate::settings::Settings;
use crate::state::AppState;

/// One policy.
#[derive(Debug, Clone, Copy)]
pub struct PolicyDef {
    /// Its key (stored, and the form field's name).
    pub key: &'static str,
    /// Its label.
    pub label: &'static str,
    /// The smallest value accepted.
    pub min: u32,
    /// The largest.
    pub max: u32,
    /// Its value in the configuration.
    pub configured: fn(&Settings) -> u32,
}

/// Every policy, in the order the page shows them.
pub const POLICIES: [PolicyDef; 10] = [
    PolicyDef {
        key: "limits.ip_per_minute",
        label: "Reports per client address per minute",
        min: 1,
        max: 10_000,
        configured: |s| s.limits.ip_per_minute,
    },
    PolicyDef {
        key: "limits.ip_per_day",
        label: "Reports per client address per day",
        min: 1,
        max: 1_000_000,
        configured: |s| s.limits.ip_per_day,
    },
    PolicyDef {
        key: "limits.install_per_minute",
        label: "Reports per install per minute",
        min: 1,
        max: 10_000,
        configured: |s| s.limits.install_per_minute,
    },
    PolicyDef {
        key: "limits.install_per_day",
        label: "Reports per install per day",
        min: 1,
        max: 1_000_000,
        configured: |s| s.limits.install_per_day,
    },
    PolicyDef {
        key: "console.lockout_after",
        label: "Failed sign-ins before an account is locked",
        min: 3,
        max: 20,
        configured: |s| s.console.lockout_after,
    },
    PolicyDef {
        key: "console.idle_timeout_minutes",
        label: "Minutes of inactivity before a console session ends",
        min: 1,
        max: 480,
        configured: |s| s.console.idle_timeout_minutes,
    },
    PolicyDef {
        key: "abuse.threshold",
        label: "Reports that flag coordinated reporting (per URL, install or network, in the window)",
        min: 2,
        max: 100_000,
        configured: |_| 10,
    },
    PolicyDef {
        key: "abuse.window_minutes",
        label: "Minutes over which coordinated reporting is counted",
        min: 5,
        max: 1440,
        configured: |_| 60,
    },
    PolicyDef {
        key: "reports.per_url_per_hour",
        label: "Reports of one kind about one URL accepted per hour (beyond: 429)",
        min: 10,
        max: 1_000_000,
        configured: |_| 120,
    },
    PolicyDef {
        key: "reports.per_url_per_network_per_hour",
        label: "Reports of one kind about one URL from one client network accepted per hour (beyond: 429)",
        min: 2,
        max: 1_000_000,
        configured: |_| 20,
    },
];

/// The values in force, readable without a lock.
#[derive(Debug)]
pub struct Policies {
    values: [AtomicU32; 10],
}

impl Policies {
    /// The configured values.
    pub fn from_settings(settings: &Settings) -> Self {
        Policies { values: POLICIES.map(|p| AtomicU32::new((p.configured)(settings).clamp(p.min, p.max))) }
    }

    /// The value of `key` in force.
    pub fn get(&self, key: &str) -> u32 {
        POLICIES.iter().position(|p| p.key == key).map_or(0, |i| self.values[i].load(Ordering::Relaxed))
    }

    /// Failures before a lock-out.
    pub fn lockout_after(&self) -> u32 {
        self.get("console.lockout_after")
    }

    /// Idle minutes before a session ends.
    pub fn idle_timeout_minutes(&self) -> u32 {
        self.get("console.idle_timeout_minutes")
    }
}

/// Checks a submitted value: `Err` says why in plain words.
pub fn parse(def: &PolicyDef, raw: &str) -> Result<u32, String> {
    match raw.trim().parse::<u32>() {
        Ok(v) if (def.min..=def.max).contains(&v) => Ok(v),
        _ => Err(format!("{} must be a whole number from {} to {}.", def.label, def.min, def.max)),
    }
}

/// Applies stored values over the configured ones (a stored value out of bounds is
/// ignored, with a warning) and pushes the limits into the limiter.
pub fn apply(state: &AppState, stored: &[SettingValue]) {
    let policies = &state.console.policies;
    for (i, def) in POLICIES.iter().enumerate() {
        let value = match stored.iter().find(|s| s.key == def.key) {
            Some(s) => match parse(def, &s.value) {
                Ok(v) => v,
                Err(why) => {
                    tracing::warn!(key = def.key, why, "ignoring a stored policy value");
                    (def.configured)(&state.settings).clamp(def.min, def.max)
                }
            },
            None => (def.configured)(&state.settings).clamp(def.min, def.max),
        };
        policies.values[i].store(value, Ordering::Relaxed);
    }
    state.limits.set_rates(
        policies.get("limits.ip_per_minute"),
        policies.get("limits.ip_per_day"),
        policies.get("limits.install_per_minute"),
        policies.get("limits.install_per_day"),
    );
}

/// Reloads the stored values (at start and every minute).
pub async fn reload(state: &AppState) -> Result<(), StoreError> {
    let stored = state.store.list_settings().await?;
    apply(state, &stored);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_out_of_bounds_or_not_numbers_are_refused_with_the_bounds() {
        let def = &POLICIES[0];
        assert_eq!(parse(def, " 30 "), Ok(30));
        for bad in ["0", "10001", "-1", "3.5", "", "30; DROP TABLE x"] {
            let why = parse(def, bad).unwrap_err();
            assert!(why.contains("from 1 to 10000"), "{bad}: {why}");
        }
    }

    #[test]
    fn configured_values_are_in_force_until_something_is_stored() {
        let p = Policies::from_settings(&Settings::default());
        assert_eq!(p.lockout_after(), 5);
        assert_eq!(p.idle_timeout_minutes(), 30);
        assert_eq!(p.get("limits.ip_per_minute"), Settings::default().limits.ip_per_minute);
    }
}
