//! The FerretWatch service: the pack origin (what a CDN fronts), the report API, health
//! checks and metrics, on axum.
//!
//! [`prepare`] turns [`Settings`] into a ready [`Server`] (store opened and migrated,
//! origin opened, development pack deployed on a first start, install-token secret
//! loaded); [`Server::run`] serves it on listeners the caller bound until a shutdown
//! future resolves, letting in-flight requests finish. [`launch`] does both. Tests bind
//! port 0 and never sleep waiting for start-up: a request sent before the server accepts
//! waits in the listener's backlog.
//!
//! Design choices (decision 0011):
//! - Every route is listed in `router.rs`; admin authentication is an extractor
//!   ([`auth::Admin`]) parameterised by the permission the route needs.
//! - Every refusal is a JSON `{"error": {"code", "message"}}` with a 4xx status; the
//!   request body is read by our own extractor so that axum's plain-text rejections never
//!   reach a client.
//! - Metrics are on their own listener, so they are never exposed by accident.
//! - Rate limits are GCRA, in this process or shared through Redis (decision 0016); the
//!   API listener sets header and body timeouts and caps connections per address.
//! - With `[tls]` the API listener terminates TLS itself and reloads its certificate
//!   without a restart ([`tls`], decision 0025); the metrics listener stays plain HTTP.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod auth;
pub mod captcha;
pub mod client_telemetry;
pub mod console;
pub mod degradation;
pub mod dev;
pub mod error;
pub mod extract;
pub mod health;
pub mod incidents;
pub mod install;
pub mod lifecycle;
pub mod limits;
pub mod listener;
pub mod notify;
pub mod openapi;
pub mod origin;
pub mod origin_http;
pub mod report_api;
pub mod report_queue;
pub mod router;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod timestamp;
pub mod tls;

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ferretwatch_store::{StoreOptions, StoreUrl};
use tokio::net::TcpListener;

pub use settings::Settings;
pub use state::AppState;

use crate::captcha::{CaptchaVerifier, SiteVerify};
use crate::install::InstallKeys;
use crate::limits::RateLimits;
use crate::origin::OriginStore;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The settings are unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The store could not be opened.
    #[error("database {url}: {message}")]
    Store {
        /// The database URL, password redacted.
        url: String,
        /// What failed.
        message: String,
    },
    /// The tombstone key could not be loaded or created.
    #[error("tombstone key: {0}")]
    TombstoneKey(#[from] lifecycle::KeyError),
    /// The install-token keys could not be set up.
    #[error("install tokens: {0}")]
    Install(#[from] install::InstallKeyError),
    /// The CAPTCHA verifier could not be set up.
    #[error("{0}")]
    Captcha(#[from] captcha::CaptchaSetupError),
    /// The origin could not be opened.
    #[error("origin: {0}")]
    Origin(#[from] ferretwatch_pack_publisher::publish::PublishError),
    /// The development pack could not be deployed.
    #[error("origin: {0}")]
    Bootstrap(#[from] dev::BootstrapError),
    /// A start-up task failed.
    #[error("start-up task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A listener failed.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS certificate or key cannot be served.
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
}

/// The listeners to serve on.
#[derive(Debug)]
pub struct Listeners {
    /// API and origin.
    pub api: TcpListener,
    /// Metrics; `None` to bind `settings.metrics_listen`.
    pub metrics: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    fn from(api: TcpListener) -> Self {
        Listeners { api, metrics: None }
    }
}

/// A prepared server, ready to run.
#[derive(Debug)]
pub struct Server {
    state: AppState,
    tls: Option<tls::Tls>,
}

/// Opens everything `settings` names; on a first start with `dev_bootstrap`, creates
/// development keys and deploys a signed default pack.
pub async fn prepare(settings: Settings) -> Result<Server, LaunchError> {
    // The recorder first: what `prepare` records (the pack version served) must not go to
    // the no-op recorder that is in place until one is installed.
    telemetry::recorder();
    // The certificate first: a pair that cannot be served stops the start before anything
    // is opened or written.
    let tls = tls::Tls::from_settings(&settings.tls)?;
    let db_url = settings.db_url();
    let parsed = StoreUrl::parse(&db_url).map_err(|e| LaunchError::Config(e.to_string()))?;
    let (tombstone_key, _) = lifecycle::load_or_create_key(&settings.tombstone_key_path(), true)?;
    let options = StoreOptions {
        tombstone_key: Some(tombstone_key.clone()),
        max_connections: (settings.pool.max_connections > 0).then_some(settings.pool.max_connections),
        acquire_timeout: Duration::from_millis(settings.pool.acquire_timeout_ms.max(1)),
        writers: settings.pool.writers.max(1) as usize,
        ..StoreOptions::default()
    };
    let store = ferretwatch_store::open_url(&parsed, &options)
        .await
        .map_err(|e| LaunchError::Store { url: parsed.redacted(), message: error::chain(&e) })?;
    tracing::info!(database = %parsed.redacted(), backend = store.backend().name(), "store opened");
    // Incidents apart (the same store when both settings name one database).
    let incidents_url = settings.incidents_db_url();
    let incidents = if incidents_url == db_url {
        store.clone()
    } else {
        let parsed = StoreUrl::parse(&incidents_url).map_err(|e| LaunchError::Config(format!("incidents.db: {e}")))?;
        let options = StoreOptions { max_connections: Some(4), ..options.clone() };
        ferretwatch_store::open_url(&parsed, &options)
            .await
            .map_err(|e| LaunchError::Store { url: parsed.redacted(), message: error::chain(&e) })?
    };

    let origin_url = settings.origin_url();
    let origin = OriginStore::open(&origin_url, &settings.server)?;
    let dev_refresh = settings.dev_bootstrap && origin.is_local() && {
        let (data_dir, url) = (settings.data_dir.clone(), origin_url.clone());
        tokio::task::spawn_blocking(move || {
            dev::dev_pack_expiring(&data_dir, &url, ferretwatch_types::Timestamp::now(), ferretwatch_types::DAY)
        })
        .await
        .unwrap_or(false)
    };
    if settings.dev_bootstrap && origin.is_local() && (dev_refresh || origin.pack_version().await.is_none()) {
        let data_dir = settings.data_dir.clone();
        let url = origin_url.clone();
        let done = tokio::task::spawn_blocking(move || dev::bootstrap(&data_dir, &url)).await??;
        tracing::warn!(
            root = %done.root.display(),
            pack_version = %done.version,
            origin = %origin_url,
            new_keys = done.new_keys,
            "DEVELOPMENT KEYS: deployed a default pack signed with development keys kept beside the server; \
             never use them for production packs (set dev_bootstrap = false and deploy packs signed by your publishers)"
        );
    }

    let install = InstallKeys::load_or_create(
        settings.install.secret.clone(),
        &settings.data_dir,
        settings.install.validity_days,
    )?;
    let captcha: Option<Arc<dyn CaptchaVerifier>> = match (&settings.captcha.verify_url, &settings.captcha.secret) {
        (Some(url), Some(secret)) => {
            Some(Arc::new(SiteVerify::new(url, secret.clone(), Duration::from_millis(settings.captcha.timeout_ms))?))
        }
        (None, None) => None,
        _ => return Err(LaunchError::Config("captcha.verify_url and captcha.secret go together".into())),
    };
    let mut limits = RateLimits::new(&settings.limits, &settings.captcha, captcha.is_some());
    if let Some(url) = &settings.limits.redis {
        let timeout = Duration::from_millis(settings.limits.redis_timeout_ms.max(1));
        limits = limits
            .with_redis(url, &settings.limits.redis_prefix, timeout)
            .await
            .map_err(|e| LaunchError::Config(e.to_string()))?;
    }
    let pack_version = origin.pack_version().await;
    telemetry::set_pack_version(None, pack_version.as_deref());
    let console = console::Console::new(&settings).map_err(|e| LaunchError::Config(e.to_string()))?;
    let notifier = notify::Notifier::new(&settings.incidents).map_err(|e| LaunchError::Config(e.to_string()))?;
    let degradation = degradation::Degradation::from_settings(&settings)?;
    // The level before the first request: a service started during an emergency starts
    // degraded.
    degradation.refresh().await;
    let report_queue = report_queue::ReportQueue::open(&settings.data_dir)
        .map_err(|e| LaunchError::Config(format!("the report queue under {}: {e}", settings.data_dir.display())))?;
    let state = AppState {
        degradation: Arc::new(degradation),
        report_queue: Arc::new(report_queue),
        notifier: Arc::new(notifier),
        console: Arc::new(console),
        settings: Arc::new(settings),
        store,
        incidents,
        origin: Arc::new(origin),
        install: Arc::new(install),
        limits: Arc::new(limits),
        captcha,
        pack_version: Arc::new(RwLock::new(pack_version)),
        tombstone_key: Arc::new(tombstone_key),
    };
    console::policies::reload(&state)
        .await
        .map_err(|e| LaunchError::Store { url: parsed.redacted(), message: error::chain(&e) })?;
    Ok(Server { state, tls })
}

impl Server {
    /// The shared state (tests use it to reach the store).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Replaces the CAPTCHA verifier and rebuilds the limiters around it (tests).
    pub fn with_captcha(mut self, verifier: Arc<dyn CaptchaVerifier>) -> Self {
        let settings = &self.state.settings;
        let captcha = settings.captcha.clone();
        Arc::get_mut(&mut self.state.limits).expect("the limits are not shared before run").challenge(&captcha);
        self.state.captcha = Some(verifier);
        self
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish (at most
    /// `shutdown_grace_seconds`) and closes the store.
    pub async fn run(
        self,
        listeners: impl Into<Listeners>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), LaunchError> {
        let listeners = listeners.into();
        let (state, tls) = (self.state, self.tls);
        telemetry::recorder();
        let metrics_listener = match listeners.metrics {
            Some(listener) => listener,
            None => TcpListener::bind(state.settings.metrics_listen).await?,
        };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        // SIGHUP is caught before the listener announces itself (see `tls::reload::Hangups`).
        let reload = tls.as_ref().map(|tls| {
            tls::reload::announce(tls);
            let reloader = tls::reload::Reloader::new(tls);
            let hangups = tls::reload::Hangups::catch();
            tokio::spawn(tls::reload::run(reloader, tls.reload_secs, hangups, stop_rx.clone()))
        });
        let acceptor = tls.map(|tls| tokio_rustls::TlsAcceptor::from(tls.config));
        tracing::info!(
            addr = %listeners.api.local_addr()?,
            scheme = if acceptor.is_some() { "https" } else { "http" },
            metrics = %metrics_listener.local_addr()?,
            "listening"
        );

        let metrics_app = router::metrics(state.clone());
        let mut metrics_stop = stop_rx.clone();
        let metrics_task = tokio::spawn(async move {
            let served = axum::serve(metrics_listener, metrics_app)
                .with_graceful_shutdown(async move {
                    let _ = metrics_stop.wait_for(|stop| *stop).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "metrics listener failed");
            }
        });
        let housekeeping = tokio::spawn(housekeeping(state.clone(), stop_rx.clone()));
        let escalations = tokio::spawn(incidents::escalations(state.clone(), stop_rx.clone()));
        let report_queue = tokio::spawn(report_queue::run(state.clone(), stop_rx.clone()));
        let renewal = timestamp::Renewer::from_settings(&state.settings)?
            .map(|renewer| tokio::spawn(timestamp::run(Arc::new(renewer), stop_rx.clone())));

        let grace = Duration::from_secs(state.settings.shutdown_grace_seconds);
        let limits = &state.settings.limits;
        let policy = listener::ConnectionPolicy {
            header_timeout: Duration::from_millis(limits.header_timeout_ms.max(1)),
            per_ip: (!state.settings.trust_forwarded_for).then_some(limits.max_connections_per_ip.max(1)),
        };
        let app = router::api(state.clone());
        let mut grace_rx = stop_rx.clone();
        let serve = listener::serve(listeners.api, app, policy, acceptor, async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections; finishing in-flight requests");
            let _ = stop_tx.send(true);
        });
        let grace_timer = async move {
            let _ = grace_rx.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            () = serve => {},
            () = grace_timer => tracing::warn!(seconds = grace.as_secs(), "grace period over; dropping the requests still open"),
        }
        let _ = metrics_task.await;
        housekeeping.abort();
        escalations.abort();
        report_queue.abort();
        if let Some(renewal) = renewal {
            renewal.abort();
        }
        if let Some(reload) = reload {
            reload.abort();
        }
        state.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Serves `settings` on `listener` (metrics on `settings.metrics_listen`) until `shutdown`.
pub async fn launch(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), LaunchError> {
    prepare(settings).await?.run(listener, shutdown).await
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Every minute: forget idle rate-limit entries. Every few seconds: notice a new pack,
/// reconnect Redis if it was lost, and log one line for the refusals since the last.
async fn housekeeping(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        ticks += 1;
        if ticks.is_multiple_of(2) {
            telemetry::log_refusals(Duration::from_secs(10));
        }
        if ticks.is_multiple_of(12) {
            state.limits.shrink();
            // Policies changed on another instance apply here within a minute.
            if let Err(e) = console::policies::reload(&state).await {
                tracing::warn!(error = %error::chain(&e), "could not reload the console's policies");
            }
        }
        if ticks % 60 == 1 {
            match console::sweep(state.store.as_ref(), state.console.policies.idle_timeout_minutes()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "removed expired console sessions"),
                Err(e) => tracing::warn!(error = %error::chain(&e), "could not remove expired console sessions"),
            }
        }
        state.limits.maintain().await;
        state.degradation.refresh().await;
        let current = state.origin.pack_version().await;
        let previous = state.current_pack_version();
        if current != previous {
            telemetry::set_pack_version(previous.as_deref(), current.as_deref());
            tracing::info!(pack_version = current.as_deref().unwrap_or("none"), "origin serves a new pack");
            *state.pack_version.write().expect("pack version lock") = current;
        }
    }
}
