//! `ferretwatch perf …`: the critical endpoints of a running service measured as clients
//! use them ([`measure`]), and judged against a baseline file and the runbook's targets
//! ([`baseline`]).
//!
//! - `measure [--write FILE]`: the figures; with `--write`, a baseline file from a
//!   healthy service (none is written when an endpoint fails).
//! - `validate --baseline-file FILE` (runbook §8.2 "Performance validation", and §2.2
//!   "Response time > 2x baseline"): exit 1 when an endpoint fails, 2 when the baseline
//!   cannot be read (it is read before anything is measured).

mod baseline;
mod measure;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::error::{CliError, Failure};
use crate::exit;
use crate::output::{self, FormatArg, Report};

/// Performance commands.
#[derive(Subcommand)]
pub enum PerfCommand {
    /// Measure the critical endpoints (p50, p95, p99, errors); --write FILE keeps them as
    /// a baseline when the service is healthy.
    Measure(MeasureArgs),
    /// Measure and compare with a baseline file: exit 1 when a p95 is over 2x its baseline
    /// or over the runbook's target, or errors are over 2%.
    Validate(ValidateArgs),
}

/// How to measure.
#[derive(Args)]
pub struct PlanArgs {
    /// The service's base URL.
    #[arg(long, env = "FERRETWATCH_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Requests per endpoint.
    #[arg(long, env = "FERRETWATCH_PERF_REQUESTS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(10..=100_000))]
    requests: u64,
    /// Requests in flight at once.
    #[arg(long, env = "FERRETWATCH_PERF_CONCURRENCY", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    concurrency: u64,
    /// Reports submitted, one at a time (each is stored, and a service's default limits
    /// allow an address 5 a minute: 2 leave room to measure and validate in one minute).
    #[arg(long, env = "FERRETWATCH_PERF_REPORT_REQUESTS", default_value_t = 2,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    report_requests: u64,
}

impl PlanArgs {
    fn plan(&self) -> measure::Plan {
        measure::Plan {
            base: self.url.trim_end_matches('/').to_owned(),
            requests: self.requests,
            concurrency: self.concurrency as usize,
            report_requests: self.report_requests,
        }
    }
}

/// `perf measure`.
#[derive(Args)]
pub struct MeasureArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// Write the figures as a baseline file (only when every endpoint passes).
    #[arg(long)]
    write: Option<PathBuf>,
    #[command(flatten)]
    output: FormatArg,
}

/// `perf validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// The baseline (`perf measure --write`, docs/formats/performance-baseline.md).
    #[arg(long)]
    baseline_file: PathBuf,
    /// A p95 over 2x its baseline fails only when also this many milliseconds above it.
    #[arg(long, env = "FERRETWATCH_PERF_SLACK_MS", default_value_t = 25.0)]
    slack_ms: f64,
    #[command(flatten)]
    plan: PlanArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// Runs a performance command.
pub fn run(command: PerfCommand) -> ExitCode {
    match command {
        PerfCommand::Measure(args) => output::run(args.output.format, None, || measure_command(&args)),
        PerfCommand::Validate(args) => output::run(args.output.format, None, || validate_command(&args)),
    }
}

fn header(plan: &measure::Plan) -> String {
    format!(
        "{}: {} requests per endpoint, {} at a time; {} report(s), one at a time\n",
        plan.base,
        plan.requests,
        plan.concurrency,
        plan.report_requests.min(plan.requests)
    )
}

fn measure_command(args: &MeasureArgs) -> Result<Report, Failure> {
    let plan = args.plan.plan();
    let measured = measure::measure(&plan);
    let judged = baseline::judge(&measured, None, 0.0);
    let failed = judged.iter().any(|j| !j.problems.is_empty());
    let mut text = header(&plan);
    text.push_str(&format!(
        "{:<15} {:>9} {:>9} {:>9} {:>6} {:>7} {:>7}  request\n",
        "endpoint", "p50 ms", "p95 ms", "p99 ms", "ok", "errors", "429"
    ));
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
    for m in &measured {
        text.push_str(&format!(
            "{:<15} {:>9} {:>9} {:>9} {:>6} {:>7} {:>7}  {}\n",
            m.endpoint,
            ms(m.p50_ms),
            ms(m.p95_ms),
            ms(m.p99_ms),
            m.ok,
            m.errors,
            m.rate_limited,
            m.request
        ));
    }
    for j in judged.iter().filter(|j| !j.problems.is_empty()) {
        text.push_str(&format!("FAIL {}: {}\n", j.endpoint, j.problems.join("; ")));
    }
    let mut written = None;
    if let Some(path) = &args.write {
        if failed {
            text.push_str(&format!("no baseline written to {}: the service is not healthy\n", path.display()));
        } else {
            let file = baseline::from_measured(&measured, &plan.base, plan.requests, plan.concurrency);
            let bytes = serde_json::to_vec_pretty(&file).expect("a baseline serialises");
            std::fs::write(path, [bytes, b"\n".to_vec()].concat())
                .map_err(|e| CliError::failed("write_failed", format!("{}: {e}", path.display())))?;
            text.push_str(&format!("baseline written to {}\n", path.display()));
            written = Some(path.display().to_string());
        }
    }
    let json = json!({ "ok": !failed, "url": plan.base, "endpoints": measured, "judged": judged, "written": written });
    Ok(Report::new(text, &json).with_status(if failed { exit::FAILED } else { exit::SUCCESS }))
}

fn validate_command(args: &ValidateArgs) -> Result<Report, Failure> {
    let file = baseline::read(&args.baseline_file)?;
    if !args.slack_ms.is_finite() || args.slack_ms < 0.0 {
        return Err(CliError::input("invalid_argument", "--slack-ms must be 0 or more").into());
    }
    let plan = args.plan.plan();
    let measured = measure::measure(&plan);
    let judged = baseline::judge(&measured, Some(&file), args.slack_ms);
    let failing: Vec<&str> = judged.iter().filter(|j| !j.problems.is_empty()).map(|j| j.endpoint).collect();
    let mut text = header(&plan);
    text.push_str(&format!(
        "baseline {} (measured {})\n",
        args.baseline_file.display(),
        file.measured_at.map_or("at an unknown time".to_owned(), |t| t.to_string())
    ));
    for j in judged.iter().filter(|j| j.baseline_p95_ms.is_none()) {
        text.push_str(&format!("note: the baseline has no {}: judged on its target and errors only\n", j.endpoint));
    }
    text.push_str(&baseline::table(&judged));
    if failing.is_empty() {
        text.push_str("ok: every endpoint within 2x its baseline, its target and 2% errors\n");
    } else {
        text.push_str(&format!("FAIL: {}\n", failing.join(", ")));
    }
    let json = json!({
        "ok": failing.is_empty(), "url": plan.base, "baseline": args.baseline_file.display().to_string(),
        "endpoints": measured, "judged": judged, "failing": failing,
    });
    Ok(Report::new(text, &json).with_status(if failing.is_empty() { exit::SUCCESS } else { exit::FAILED }))
}
