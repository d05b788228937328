//! `ferretwatch security scan` (runbook §5.1 weekly "Security scan and vulnerability
//! check", §7.1 "Automated security scanning").

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_security::config::{self, ConfigInput};
use ferretwatch_security::{live, Finding, Status};
use ferretwatch_types::Timestamp;

use super::{finish, DependencyArgs};
use crate::output::{self, FormatArg};

/// `security scan`.
#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    deps: DependencyArgs,
    /// The service's configuration file.
    #[arg(long, env = "FERRETWATCH_CONFIG")]
    config: Option<PathBuf>,
    /// The running service's base URL, for its certificate and headers.
    #[arg(long, env = "FERRETWATCH_URL")]
    url: Option<String>,
    /// A PEM file of the CA that issued the service's certificate, to fetch its pages over
    /// https (default: the public roots).
    #[arg(long, env = "FERRETWATCH_TLS_CA")]
    tls_ca: Option<PathBuf>,
    /// The running server's process id: its environment (/proc/PID/environ) is where its
    /// settings come from, and its working directory what relative paths mean.
    #[arg(long, env = "FERRETWATCH_PID")]
    pid: Option<u32>,
    /// Warn when a certificate has fewer days left than this.
    #[arg(long, default_value_t = 30)]
    cert_days_warning: u64,
    #[command(flatten)]
    output: FormatArg,
}

/// Runs every check; exit 1 on any error.
pub fn run(args: ScanArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let now = Timestamp::now();
        let mut report = args.deps.check(false, now)?;
        let own = || -> (Vec<(String, String)>, PathBuf) {
            (std::env::vars().collect(), std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
        };
        let (env, base_dir, env_origin) = match args.pid {
            Some(pid) => match config::process_environment(pid) {
                Ok((env, cwd)) => (env, cwd, format!("the environment of process {pid}")),
                Err(why) => {
                    report.notice(Finding::notice(
                        Status::Skipped,
                        format!("process {pid}"),
                        format!(
                            "skipped: {why} (run as the service's user or root); checking this environment instead"
                        ),
                    ));
                    let (env, dir) = own();
                    (env, dir, "this environment".to_owned())
                }
            },
            None => {
                let (env, dir) = own();
                (env, dir, "this environment".to_owned())
            }
        };
        let input = ConfigInput {
            file: args.config.clone(),
            env,
            env_origin,
            base_dir,
            cert_days_warning: args.cert_days_warning,
            now,
        };
        report.extend(config::check(&input)?);
        match args.url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => report.extend(live::check(url, args.tls_ca.as_deref(), args.cert_days_warning, now)),
            None => report.notice(Finding::notice(
                Status::Skipped,
                "running service",
                "skipped: no --url (FERRETWATCH_URL) to check the certificate and headers of",
            )),
        }
        finish(&report, args.deps.sarif_output.as_deref(), &args.deps.source_root())
    })
}
