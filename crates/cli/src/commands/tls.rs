//! `ferretwatch tls check` (runbook §5.1 "Certificate renewal check",
//! `scripts/cert-renewal-check.sh`): the certificate and key the service is configured
//! with (`[tls]` of `--config`, or `FERRETWATCH_TLS_CERT_FILE` / `…_KEY_FILE`), checked
//! by `ferretwatch_server::tls::check`. One line per check; exit 1 when any fails, 2 when
//! there is nothing to check or a flag is wrong.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use ferretwatch_server::tls::check::{self, CheckOptions};
use ferretwatch_server::tls::PairFiles;
use ferretwatch_types::Timestamp;

use crate::error::CliError;
use crate::exit;
use crate::output::{self, FormatArg, Report};

/// TLS commands.
#[derive(Subcommand)]
pub enum TlsCommand {
    /// Check the configured certificate: days left (renewal due under --renew-days), the
    /// key matches it, its chain verifies, and the running service presents it.
    Check(CheckArgs),
}

/// `tls check`.
#[derive(Args)]
pub struct CheckArgs {
    /// The service's TOML configuration file (its `[tls]` section); `FERRETWATCH_…`
    /// variables override it as for `serve`.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The running service, https://HOST:PORT. Default: the configured listen address,
    /// on this machine.
    #[arg(long, env = "FERRETWATCH_URL")]
    url: Option<url::Url>,
    /// Renewal is due with fewer days left than this.
    #[arg(long, env = "FERRETWATCH_CERT_RENEW_DAYS", default_value_t = 30)]
    renew_days: u32,
    /// CA certificates (PEM) the chain must lead to. Default: the system's.
    #[arg(long, env = "FERRETWATCH_TLS_CA")]
    ca: Option<PathBuf>,
    #[command(flatten)]
    output: FormatArg,
}

/// Runs a TLS command.
pub fn run(command: TlsCommand) -> ExitCode {
    match command {
        TlsCommand::Check(args) => run_check(args),
    }
}

fn run_check(args: CheckArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let settings = super::serve::settings(args.config.as_deref(), None)?;
        let (cert, key) = settings.tls.files().map_err(|e| CliError::input("invalid_config", e))?.ok_or_else(|| {
            CliError::input(
                "no_tls",
                "no certificate is configured: set [tls] cert_file and key_file in the configuration \
                     (FERRETWATCH_CONFIG), or FERRETWATCH_TLS_CERT_FILE and FERRETWATCH_TLS_KEY_FILE",
            )
        })?;
        let url = args.url.unwrap_or_else(|| check::local_url(settings.listen));
        if url.scheme() != "https" {
            return Err(CliError::input(
                "invalid_url",
                format!("{url} is not https: the service's TLS listener is reached at https://HOST:PORT (--url, FERRETWATCH_URL)"),
            )
            .into());
        }
        let options = CheckOptions {
            files: PairFiles { cert: cert.to_owned(), key: key.to_owned() },
            ca_file: args.ca,
            url: Some(url),
            renew_days: args.renew_days,
            now: Timestamp::now(),
            timeout: Duration::from_secs(10),
        };
        let report = check::check(&options);
        let mut text = String::new();
        for finding in &report.findings {
            let mark = if finding.ok { "ok  " } else { "FAIL" };
            let _ = writeln!(text, "{mark} {}: {}", finding.check, finding.message);
        }
        let status = if report.passed() { exit::SUCCESS } else { exit::FAILED };
        Ok(Report::new(text, &report).with_status(status))
    })
}
