//! `ferretwatch`: the one binary, a thin edge. Clap turns arguments into typed settings
//! once; the library crates do the work; [`output`] prints results and errors, and
//! [`exit`] is the one table from error codes to exit statuses (`docs/cli.md`).
#![forbid(unsafe_code)]

mod clock;
mod commands;
mod console;
mod error;
mod exit;
mod input;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// FerretWatch: local, explainable phishing detection and the tools to run it.
#[derive(Parser)]
#[command(name = "ferretwatch", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan a page (or a batch of URLs) and explain the verdict.
    Scan(Box<commands::scan::ScanArgs>),
    /// Show or check rule sets.
    #[command(subcommand)]
    Rules(commands::rules::RulesCommand),
    /// Fetch threat-intelligence feeds into normalised feed files.
    #[command(subcommand)]
    Intel(commands::intel::IntelCommand),
    /// Build, sign and verify rule and intel packs.
    #[command(subcommand)]
    Pack(commands::pack::PackCommand),
    /// Rule pack canaries: new rules for a stable cohort of installs first (runbook 9.2).
    #[command(subcommand)]
    Canary(commands::canary::CanaryCommand),
    /// Publisher signing keys.
    #[command(subcommand)]
    Keys(commands::keys::KeysCommand),
    /// The root of trust: publisher keys, thresholds, rotation.
    #[command(subcommand)]
    Root(commands::root::RootCommand),
    /// Signed active-campaign bulletins.
    #[command(subcommand)]
    Bulletin(commands::bulletin::BulletinCommand),
    /// Run the service: pack origin, report API, health checks and metrics.
    Serve(commands::serve::ServeArgs),
    /// The service's TLS certificate: the renewal check.
    #[command(subcommand)]
    Tls(commands::tls::TlsCommand),
    /// Many simulated clients running the real pack updater against real origins, with
    /// faults injected, on a virtual clock.
    Simulate(Box<commands::simulate::SimulateArgs>),
    /// Administration: admin API tokens, console invitations, access and permission
    /// reviews.
    #[command(subcommand)]
    Admin(commands::admin::AdminCommand),
    /// The console's audit log: verify the chain, export it signed, verify an export.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Backups of the database, the configuration and the packs: create, list, verify,
    /// restore, prune (`docs/backups.md`).
    #[command(subcommand)]
    Backup(commands::backup::BackupCommand),
    /// Coordinated reporting in the report log (many reports from one URL, install,
    /// network or install farm); exit 1 when found.
    #[command(subcommand)]
    Abuse(commands::abuse::AbuseCommand),
    /// Incidents (runbook 4): list, show, open, ack, assign, update, resolve (with the
    /// post-mortem skeleton), stats (MTTD, MTTR).
    #[command(subcommand)]
    Incident(commands::incident::IncidentCommand),
    /// The service's log lines: error patterns of the day (runbook 5.1), evidence archives
    /// of an incident's time range (runbook 7.3).
    #[command(subcommand)]
    Logs(commands::logs::LogsCommand),
    /// Measure the critical endpoints and compare with a baseline (runbook 8.2).
    #[command(subcommand)]
    Perf(commands::perf::PerfCommand),
    /// Exports from the report log: suspicious reports as CSV or JSON, optionally
    /// anonymised.
    #[command(subcommand)]
    Reports(commands::reports::ReportsCommand),
    /// The database's data lifecycle: retention, deletion on request (tombstones),
    /// cleanup of expired state, slow queries and index health, the daily maintenance.
    #[command(subcommand)]
    Db(commands::db::DbCommand),
    /// One update cycle of a client installed in a directory: verify, stage, swap, keep
    /// the last known good pack.
    Update(Box<commands::update::UpdateArgs>),
    /// Fetch a URL in headless Chromium behind the egress guard, scan the rendered page
    /// with the reporter's pack version and the current one, keep the artifacts.
    Reproduce(Box<commands::reproduce::ReproduceArgs>),
    /// Security checks (runbook 5.1, 7.1): dependency advisories, key files, secrets, TLS
    /// and headers; SARIF 2.1.0 with --sarif-output.
    #[command(subcommand)]
    Security(commands::security::SecurityCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan(args) => commands::scan::run(*args),
        Command::Rules(command) => commands::rules::run(command),
        Command::Intel(command) => commands::intel::run(command),
        Command::Pack(command) => commands::pack::run(command),
        Command::Canary(command) => commands::canary::run(command),
        Command::Keys(command) => commands::keys::run(command),
        Command::Root(command) => commands::root::run(command),
        Command::Bulletin(command) => commands::bulletin::run(command),
        Command::Serve(args) => commands::serve::run(args),
        Command::Tls(command) => commands::tls::run(command),
        Command::Admin(command) => commands::admin::run(command),
        Command::Audit(command) => commands::audit::run(command),
        Command::Backup(command) => commands::backup::run(command),
        Command::Abuse(command) => commands::abuse::run(command),
        Command::Incident(command) => commands::incident::run(command),
        Command::Reports(command) => commands::reports::run(command),
        Command::Db(command) => commands::db::run(command),
        Command::Logs(command) => commands::logs::run(command),
        Command::Perf(command) => commands::perf::run(command),
        Command::Simulate(args) => commands::simulate::run(*args),
        Command::Update(args) => commands::update::run(*args),
        Command::Reproduce(args) => commands::reproduce::run(*args),
        Command::Security(command) => commands::security::run(command),
    }
}
