//! Renewing the online timestamp: with `server.online_key`, the service re-signs the
//! origin's `timestamp.json` when less than half of its lifetime is left, so clients see a
//! fresh timestamp every few hours and a frozen view is noticed within a day
//! (`docs/formats/signing.md`). Several instances may renew the same origin: each renewal
//! reads the current timestamp first, and the loser of a race writes the same snapshot
//! pin with the same or a higher version, which clients accept either way.

use std::time::Duration;

use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::{renew, OnlineKey, Renewal};
use ferretwatch_types::Timestamp;

use crate::settings::Settings;
use crate::LaunchError;

/// What the renewal task needs, loaded and checked at start-up.
pub struct Renewer {
    origin_url: String,
    s3: ferretwatch_pack_publisher::origin::S3Options,
    root: Vec<u8>,
    key: OnlineKey,
}

impl std::fmt::Debug for Renewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renewer").field("origin", &self.origin_url).finish_non_exhaustive()
    }
}

impl Renewer {
    /// The renewer `settings` ask for, if any: the key and root are read now, so a bad path
    /// stops the start rather than the first renewal.
    pub fn from_settings(settings: &Settings) -> Result<Option<Self>, LaunchError> {
        let Some(key_path) = &settings.server.online_key else { return Ok(None) };
        let Some(root_path) = &settings.server.root else {
            return Err(LaunchError::Config("server.online_key needs server.root (the root of trust)".into()));
        };
        let ttl = settings.server.timestamp_ttl_secs;
        if !(60..=7 * 24 * 3600).contains(&ttl) {
            return Err(LaunchError::Config("server.timestamp_ttl_secs must be between 60 and 604800".into()));
        }
        let key = PrivateKey::read(key_path)
            .map_err(|e| LaunchError::Config(format!("server.online_key {}: {e}", key_path.display())))?;
        let root = std::fs::read(root_path)
            .map_err(|e| LaunchError::Config(format!("server.root {}: {e}", root_path.display())))?;
        Ok(Some(Renewer {
            origin_url: settings.origin_url(),
            s3: settings.server.s3_options(),
            root,
            key: OnlineKey { key, ttl_secs: ttl },
        }))
    }

    /// How often to look: an eighth of the lifetime, at most an hour.
    pub fn period(&self) -> Duration {
        Duration::from_secs((self.key.ttl_secs / 8).clamp(5, 3600))
    }

    /// Renews when half the lifetime is gone (blocking: run it off the async workers).
    pub fn renew_now(&self, now: Timestamp) -> Result<Renewal, String> {
        let origin = Origin::open_with(&self.origin_url, &self.s3).map_err(|e| e.to_string())?;
        renew(&origin, &self.root, &self.key, now, self.key.ttl_secs / 2).map_err(|e| e.to_string())
    }
}

/// Renews every [`Renewer::period`] until `stop`.
pub async fn run(renewer: std::sync::Arc<Renewer>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(renewer.period());
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let task = renewer.clone();
        let outcome = tokio::task::spawn_blocking(move || task.renew_now(Timestamp::now())).await;
        match outcome {
            Ok(Ok(Renewal::Renewed { version, expires })) => {
                metrics::counter!("ferretwatch_timestamp_renewals_total", "outcome" => "renewed").increment(1);
                metrics::gauge!("ferretwatch_timestamp_expires_seconds").set(expires.as_secs() as f64);
                tracing::info!(version, %expires, "timestamp renewed");
            }
            Ok(Ok(Renewal::Fresh { expires })) => {
                metrics::gauge!("ferretwatch_timestamp_expires_seconds").set(expires.as_secs() as f64);
            }
            Ok(Err(error)) => {
                metrics::counter!("ferretwatch_timestamp_renewals_total", "outcome" => "failed").increment(1);
                tracing::error!(%error, "timestamp renewal failed; clients will see the timestamp expire");
            }
            Err(error) => tracing::error!(%error, "timestamp renewal task failed"),
        }
    }
}
