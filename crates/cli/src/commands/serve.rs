//! `ferretwatch serve`: the service (pack origin, report API, health, metrics). Wiring
//! only; the work is in `ferretwatch_server`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_server::Settings;

use crate::error::{CliError, Failure};
use crate::output::{self, Format, Report};

/// `serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// A TOML configuration file (see docs/formats/report-api.md); environment variables
    /// `FERRETWATCH_…` override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Listen on this address instead of the configured one (port 0: any free port).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// The database (sqlite://PATH or postgres://…) instead of the configured one.
    #[arg(long)]
    pub db: Option<String>,
    /// Only check the settings (the file, the environment and these flags) and exit: 0
    /// when they load, 2 naming what is wrong. Neither opens the database nor listens.
    #[arg(long)]
    pub check_config: bool,
}

/// Loads the settings (file, environment, then these flags).
pub fn settings(config: Option<&std::path::Path>, db: Option<String>) -> Result<Settings, CliError> {
    let mut settings = Settings::load(config).map_err(|e| CliError::input("invalid_config", e.to_string()))?;
    if db.is_some() {
        settings.db = db;
    }
    Ok(settings)
}

/// Runs the service until SIGTERM or Ctrl-C.
pub fn run(args: ServeArgs) -> ExitCode {
    output::run(Format::Text, None, || {
        let mut settings = settings(args.config.as_deref(), args.db)?;
        if let Some(listen) = args.listen {
            settings.listen = listen;
        }
        ferretwatch_server::telemetry::init_logging(&settings.log)
            .map_err(|e| CliError::input("invalid_config", e.to_string()))?;
        if args.check_config {
            return Ok(Report::text("the settings are valid"));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::failed("runtime", e.to_string()))?;
        runtime
            .block_on(async move {
                let listener = tokio::net::TcpListener::bind(settings.listen).await?;
                ferretwatch_server::launch(settings, listener, ferretwatch_server::shutdown_signal()).await
            })
            .map_err(|e| match e {
                // A certificate or key that cannot be served is bad input (exit 2), named.
                ferretwatch_server::LaunchError::Tls(e) => Failure::from(e),
                e => Failure::from(CliError::failed("serve_failed", e.to_string())),
            })?;
        Ok(Report::text(""))
    })
}
