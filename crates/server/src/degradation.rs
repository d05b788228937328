//! The service's degradation level (`docs/degradation.md`): 1 (full service) to 4
//! (emergency), read from the signed `timestamp.json` the origin serves, where
//! `ferretwatch pack timestamp --degradation N` puts it with the online key. Clients read
//! the same document, so the service and its fleet follow one level.
//!
//! Each instance reads the level every few seconds (housekeeping) and only believes one
//! the root of trust's `timestamp` role signed (`server.root`), that has not expired, and
//! whose version is not below the last one it believed: a forged, expired or replayed
//! timestamp changes nothing (the level in force stays, and a warning is logged). Without
//! `server.root` the service stays at level 1 and warns at start.
//!
//! What a level sheds ([`Gate`]):
//!
//! | level | the service |
//! |---|---|
//! | 1 | everything |
//! | 2 | client telemetry refused (503 `degraded`, `Retry-After`); reports as at 1 |
//! | 3 | as 2; reports and false positives are validated and rate limited as always, then written to the durable local queue and answered 202 `queued` (`report_queue`), stored when the level drops to 2 or 1; deletion requests refused |
//! | 4 | only the origin serves: installs, reports, false positives, deletion requests and telemetry refused |
//!
//! The origin, health checks, metrics, the status page and the admin console serve at
//! every level.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

use ferretwatch_pack_publisher::origin::{Origin, S3Options};
use ferretwatch_pack_publisher::publish::timestamp::signed_level;
use ferretwatch_types::Timestamp;

use crate::error::{ApiError, ErrorCode};
use crate::settings::Settings;
use crate::LaunchError;

/// Full service.
pub const FULL_SERVICE: u8 = 1;

/// What a client is told to wait before it tries a shed request again.
pub const RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// The level in force and where it is read from.
pub struct Degradation {
    level: AtomicU8,
    /// The version of the last timestamp believed (0: none yet).
    floor: AtomicU64,
    source: Option<Source>,
}

/// How long one read of the level may take before it is given up (the level in force
/// stays).
const READ_TIMEOUT: Duration = Duration::from_secs(10);

struct Source {
    origin_url: String,
    s3: S3Options,
    root: Vec<u8>,
}

impl std::fmt::Debug for Degradation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Degradation").field("level", &self.level()).finish_non_exhaustive()
    }
}

/// The requests a level may shed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// `POST /v1/install`.
    Install,
    /// `POST /v1/report` and `POST /v1/false-positive`.
    Report,
    /// `POST /v1/deletion-request`.
    DeletionRequest,
    /// `POST /v1/telemetry`.
    Telemetry,
}

/// What a level does with a request of a [`Gate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Served as at full service.
    Serve,
    /// Validated as always, then queued for later (reports at level 3).
    Queue,
    /// Refused with 503 `degraded`.
    Shed,
}

/// What level `level` does with `gate`.
pub fn admission(level: u8, gate: Gate) -> Admission {
    match (level, gate) {
        (0..=1, _) => Admission::Serve,
        (2, Gate::Telemetry) => Admission::Shed,
        (2, _) => Admission::Serve,
        (3, Gate::Report) => Admission::Queue,
        (3, Gate::Install) => Admission::Serve,
        (3, _) => Admission::Shed,
        _ => Admission::Shed,
    }
}

impl Degradation {
    /// The level source `settings` name: the origin and `server.root`. The root is read
    /// now, so a bad path stops the start.
    pub fn from_settings(settings: &Settings) -> Result<Self, LaunchError> {
        let source = match &settings.server.root {
            Some(path) => {
                let root = std::fs::read(path)
                    .map_err(|e| LaunchError::Config(format!("server.root {}: {e}", path.display())))?;
                Some(Source { origin_url: settings.origin_url(), s3: settings.server.s3_options(), root })
            }
            None => {
                tracing::warn!(
                    "no server.root: the service does not follow the degradation level (it stays at full service)"
                );
                None
            }
        };
        Ok(Degradation { level: AtomicU8::new(FULL_SERVICE), floor: AtomicU64::new(0), source })
    }

    /// A fixed level, read from nowhere (tests).
    pub fn fixed(level: u8) -> Self {
        Degradation { level: AtomicU8::new(level), floor: AtomicU64::new(0), source: None }
    }

    /// The level in force.
    pub fn level(&self) -> u8 {
        self.level.load(Ordering::Relaxed)
    }

    /// What the level in force does with `gate`.
    pub fn admission(&self, gate: Gate) -> Admission {
        admission(self.level(), gate)
    }

    /// The 503 of a request the level sheds.
    pub fn shed(&self) -> ApiError {
        let level = self.level();
        metrics::counter!("ferretwatch_degradation_shed_total", "level" => level.to_string()).increment(1);
        ApiError::new(
            ErrorCode::Degraded,
            format!(
                "the service runs at degradation level {level} ({}) and does not take this request now; retry later",
                service_summary(level)
            ),
        )
        .retry_after(RETRY_AFTER)
    }

    /// Reads the level the origin's signed timestamp carries, and sets it when the
    /// timestamp verifies, has not expired and is not older than the last one believed.
    /// Anything else keeps the level in force (logged). Returns the new level when it
    /// changed.
    pub async fn refresh(&self) -> Option<u8> {
        let source = self.source.as_ref()?;
        let (url, s3, root) = (source.origin_url.clone(), source.s3.clone(), source.root.clone());
        let read = tokio::task::spawn_blocking(move || {
            let origin = Origin::open_with(&url, &s3).map_err(|e| e.to_string())?;
            signed_level(&origin, &root).map_err(|e| e.to_string())
        });
        let keep = |why: &str| {
            tracing::warn!(
                level = self.level(),
                reason = why,
                "degradation level not read; keeping the level in force"
            );
            None
        };
        let signed = match tokio::time::timeout(READ_TIMEOUT, read).await {
            Ok(Ok(Ok(Some(signed)))) => signed,
            Ok(Ok(Ok(None))) => return keep("the origin's timestamp is missing or does not verify under server.root"),
            Ok(Ok(Err(error))) => return keep(&error),
            Ok(Err(error)) => return keep(&error.to_string()),
            Err(_) => return keep("the origin did not answer in time"),
        };
        if signed.expires <= Timestamp::now() {
            return keep("the origin's timestamp has expired");
        }
        let floor = self.floor.load(Ordering::Relaxed);
        if signed.version < floor {
            return keep(&format!(
                "the origin's timestamp (version {}) is older than one already seen ({floor})",
                signed.version
            ));
        }
        self.floor.store(signed.version, Ordering::Relaxed);
        let level = signed.level;
        metrics::gauge!("ferretwatch_degradation_level").set(f64::from(level));
        let before = self.level.swap(level, Ordering::Relaxed);
        (before != level).then(|| {
            tracing::warn!(from = before, to = level, service = service_summary(level), "degradation level changed");
            level
        })
    }
}

/// What the service does at `level`, in a few words (for logs and refusals).
pub fn service_summary(level: u8) -> &'static str {
    match level {
        2 => "client telemetry paused",
        3 => "reports queued for later, telemetry and deletion requests paused",
        4 => "only rule packs and bulletins are served",
        _ => "full service",
    }
}

/// The 503 of a shed request whose body was not read: a small body already here is read
/// and dropped, so that the connection can carry the client's next request.
pub async fn shed_response(state: &crate::state::AppState, req: axum::extract::Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    let drained = crate::extract::drain_small_body(req, &state.settings.limits).await;
    let mut response = state.degradation.shed().into_response();
    if drained {
        response.extensions_mut().insert(crate::extract::BodyDrained);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_level_sheds_what_the_plan_says() {
        use Admission::*;
        use Gate::*;
        let table = [
            (1, [Serve, Serve, Serve, Serve]),
            (2, [Serve, Serve, Serve, Shed]),
            (3, [Serve, Queue, Shed, Shed]),
            (4, [Shed, Shed, Shed, Shed]),
        ];
        for (level, expected) in table {
            let got: Vec<Admission> =
                [Install, Report, DeletionRequest, Telemetry].iter().map(|g| admission(level, *g)).collect();
            assert_eq!(got, expected, "level {level}");
        }
    }
}
