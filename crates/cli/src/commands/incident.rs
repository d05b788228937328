//! `ferretwatch incident …` (runbook §4): list, show, open, acknowledge, assign, update
//! and resolve incidents in the service's database; resolving writes the post-mortem
//! skeleton, due 48 hours later. `incident stats` computes the runbook's §10 figures
//! (mean time to detect and to resolve) from the records.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferretwatch_store::{Incident, IncidentChange, IncidentEvent, IncidentId, IncidentState, Priority};
use ferretwatch_types::Timestamp;
use serde_json::json;

use super::admin::{actor, printable};
use crate::console::with_store;
use crate::error::{CliError, Failure};
use crate::output::{self, FormatArg, Report};

/// Incident commands.
#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Incidents, newest first (open and acknowledged ones unless --all).
    List(ListArgs),
    /// One incident with its timeline.
    Show(IdArgs),
    /// Open an incident by hand.
    Open(OpenArgs),
    /// "I am on it": stops the escalation timer.
    Ack(IdArgs),
    /// Give it an owner.
    Assign(AssignArgs),
    /// Add a line to its timeline (and change its priority with --priority).
    Update(UpdateArgs),
    /// Resolve it and write its post-mortem skeleton (due in 48 hours).
    Resolve(ResolveArgs),
    /// Mean time to detect and to resolve, per priority, over the last DAYS days.
    Stats(StatsArgs),
}

/// An incident by number.
#[derive(Args)]
pub struct IdArgs {
    /// The incident's number.
    id: i64,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// `incident list`.
#[derive(Args)]
pub struct ListArgs {
    /// Resolved incidents too.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// `incident open`.
#[derive(Args)]
pub struct OpenArgs {
    /// What is wrong.
    #[arg(long)]
    title: String,
    /// P1 (15 min) … P4 (24 h).
    #[arg(long, value_parser = parse_priority)]
    priority: Priority,
    /// The service it concerns (packs, reports, admin); all when absent.
    #[arg(long)]
    service: Option<String>,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// `incident assign`.
#[derive(Args)]
pub struct AssignArgs {
    /// The incident's number.
    id: i64,
    /// Who owns it.
    #[arg(long)]
    to: String,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// `incident update`.
#[derive(Args)]
pub struct UpdateArgs {
    /// The incident's number.
    id: i64,
    /// The line for the timeline.
    #[arg(long)]
    note: Option<String>,
    /// A new priority.
    #[arg(long, value_parser = parse_priority)]
    priority: Option<Priority>,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// `incident resolve`.
#[derive(Args)]
pub struct ResolveArgs {
    /// The incident's number.
    id: i64,
    /// What it was and what ended it.
    #[arg(long)]
    summary: String,
    /// Where the post-mortem skeleton goes (`INCIDENT-N-postmortem.md` in it).
    #[arg(long, default_value = "postmortems")]
    postmortem_dir: PathBuf,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// `incident stats`.
#[derive(Args)]
pub struct StatsArgs {
    /// The period, in days back from now.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3650))]
    days: u64,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// Where the incidents are: `--db`, else the configuration's `incidents.db` (default
/// `sqlite://DATA_DIR/incidents.db`).
#[derive(Args, Clone, Debug)]
pub struct DbArgs {
    /// The incidents' database (sqlite://PATH or postgres://…); default: the server's
    /// incidents.db setting.
    #[arg(long)]
    pub db: Option<String>,
    /// The server's configuration file, for its incidents database and data directory.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

impl DbArgs {
    /// Settings whose database is the incidents' one.
    fn settings(&self) -> Result<ferretwatch_server::Settings, CliError> {
        let mut settings = super::serve::settings(self.config.as_deref(), None)?;
        if let Some(db) = &self.db {
            settings.incidents.db = Some(db.clone());
        }
        settings.db = Some(settings.incidents_db_url());
        Ok(settings)
    }
}

/// `text` with control characters escaped, cut to `max` characters.
fn clip(text: &str, max: usize) -> String {
    printable(text.trim()).chars().take(max).collect()
}

fn parse_priority(text: &str) -> Result<Priority, String> {
    Priority::parse(text).ok_or_else(|| format!("{text:?}: P1, P2, P3 or P4"))
}

/// Runs an incident command.
pub fn run(command: IncidentCommand) -> ExitCode {
    match command {
        IncidentCommand::List(args) => output::run(args.output.format, None, || list(&args)),
        IncidentCommand::Show(args) => output::run(args.output.format, None, || show(&args)),
        IncidentCommand::Open(args) => output::run(args.output.format, None, || open(&args)),
        IncidentCommand::Ack(args) => {
            output::run(args.output.format, None, || change(&args.db, args.id, IncidentChange::Acknowledge))
        }
        IncidentCommand::Assign(args) => output::run(args.output.format, None, || {
            change(&args.db, args.id, IncidentChange::Assign(clip(&args.to, 200)))
        }),
        IncidentCommand::Update(args) => output::run(args.output.format, None, || update(&args)),
        IncidentCommand::Resolve(args) => output::run(args.output.format, None, || resolve(&args)),
        IncidentCommand::Stats(args) => output::run(args.output.format, None, || stats(&args)),
    }
}

fn line(i: &Incident) -> String {
    let owner = i.assignee.as_deref().map(|a| format!(", owner {a}")).unwrap_or_default();
    let escalated = if i.escalations > 0 { format!(", escalated {}×", i.escalations) } else { String::new() };
    format!("#{} {} {} {} (opened {}{owner}{escalated})", i.id, i.priority, i.state, i.title, i.opened_at)
}

fn to_json(i: &Incident) -> serde_json::Value {
    json!({
        "id": i.id.0, "title": i.title, "priority": i.priority.code(), "state": i.state.code(),
        "service": i.service, "opened_at": i.opened_at.to_string(), "detected_at": i.detected_at.to_string(),
        "acknowledged_at": i.acknowledged.as_ref().map(|(at, _)| at.to_string()),
        "acknowledged_by": i.acknowledged.as_ref().map(|(_, by)| by),
        "assignee": i.assignee, "escalations": i.escalations,
        "resolved_at": i.resolved.as_ref().map(|(at, _)| at.to_string()),
        "summary": i.summary, "postmortem_due": i.postmortem_due.map(|t| t.to_string()),
    })
}

fn list(args: &ListArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let states: &[IncidentState] = if args.all { &[] } else { &[IncidentState::Open, IncidentState::Acknowledged] };
    let incidents = with_store(&settings, async |store| Ok(store.list_incidents(states, 500).await?))?;
    let text = if incidents.is_empty() {
        "no incidents".to_owned()
    } else {
        incidents.iter().map(line).collect::<Vec<_>>().join("\n")
    };
    Ok(Report::new(text, &json!({ "incidents": incidents.iter().map(to_json).collect::<Vec<_>>() })))
}

fn timeline(events: &[IncidentEvent]) -> String {
    events
        .iter()
        .map(|e| format!("  {} {:<14} {:<14} {}", e.at, e.kind, e.actor, e.text))
        .collect::<Vec<_>>()
        .join("\n")
}

fn show(args: &IdArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let id = IncidentId(args.id);
    let (incident, events) =
        with_store(&settings, async |store| Ok((store.get_incident(id).await?, store.incident_events(id).await?)))?;
    let text = format!("{}\n{}", line(&incident), timeline(&events));
    let json = json!({
        "incident": to_json(&incident),
        "timeline": events.iter().map(|e| json!({"at": e.at.to_string(), "kind": e.kind, "actor": e.actor, "text": e.text})).collect::<Vec<_>>(),
    });
    Ok(Report::new(text, &json))
}

fn open(args: &OpenArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let title = clip(&args.title, 200);
    if title.is_empty() {
        return Err(CliError::input("invalid_argument", "--title must not be empty").into());
    }
    let service = args.service.clone();
    let incident = with_store(&settings, async |store| {
        Ok(store.open_incident(&title, args.priority, service.as_deref(), &actor(), Timestamp::now()).await?)
    })?;
    Ok(Report::new(format!("opened {}", line(&incident)), &to_json(&incident)))
}

fn change(db: &DbArgs, id: i64, change: IncidentChange) -> Result<Report, Failure> {
    let settings = db.settings()?;
    let incident = with_store(&settings, async |store| {
        Ok(store.change_incident(IncidentId(id), &change, &actor(), Timestamp::now()).await?)
    })?;
    Ok(Report::new(line(&incident), &to_json(&incident)))
}

fn update(args: &UpdateArgs) -> Result<Report, Failure> {
    if args.note.is_none() && args.priority.is_none() {
        return Err(CliError::input("invalid_argument", "give --note, --priority or both").into());
    }
    let mut report = None;
    if let Some(priority) = args.priority {
        report = Some(change(&args.db, args.id, IncidentChange::Reprioritise(priority))?);
    }
    if let Some(note) = &args.note {
        report = Some(change(&args.db, args.id, IncidentChange::Note(clip(note, 2000)))?);
    }
    Ok(report.expect("one of the two was given"))
}

/// The post-mortem skeleton: the incident's facts and timeline, and the sections to fill.
pub fn postmortem(incident: &Incident, events: &[IncidentEvent]) -> String {
    let due = incident.postmortem_due.map(|t| t.to_string()).unwrap_or_default();
    let minutes = |from: Timestamp, to: Timestamp| to.secs_since(from) / 60;
    let mut out = String::new();
    let _ = writeln!(out, "# Post-mortem: incident {} — {}", incident.id, incident.title);
    let _ = writeln!(out);
    let _ =
        writeln!(out, "Due: {due} (48 hours after resolution). Blameless: describe systems and decisions, not people.");
    let _ = writeln!(out);
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Priority | {} |", incident.priority);
    let _ = writeln!(out, "| Service | {} |", incident.service.as_deref().unwrap_or("all"));
    let _ = writeln!(out, "| Started (first alert) | {} |", incident.detected_at);
    let _ = writeln!(
        out,
        "| Opened | {} ({} min to detect) |",
        incident.opened_at,
        minutes(incident.detected_at, incident.opened_at)
    );
    if let Some((at, by)) = &incident.acknowledged {
        let _ = writeln!(out, "| Acknowledged | {at} by {by} ({} min) |", minutes(incident.opened_at, *at));
    }
    if let Some((at, by)) = &incident.resolved {
        let _ = writeln!(out, "| Resolved | {at} by {by} ({} min to resolve) |", minutes(incident.opened_at, *at));
    }
    let _ = writeln!(out, "| Escalations | {} |", incident.escalations);
    let _ = writeln!(out, "| Owner | {} |", incident.assignee.as_deref().unwrap_or("—"));
    let _ = writeln!(out);
    let _ = writeln!(out, "## Summary\n\n{}\n", incident.summary.as_deref().unwrap_or(""));
    let _ = writeln!(out, "## Timeline\n");
    for e in events {
        let _ = writeln!(out, "- {} — {} ({}): {}", e.at, e.kind, e.actor, e.text);
    }
    let _ = writeln!(out);
    for section in [
        "Impact",
        "Root cause",
        "Detection: how we found out, and how to find out sooner",
        "What went well",
        "What went badly",
        "Action items (owner, due date)",
    ] {
        let _ = writeln!(out, "## {section}\n\nTODO\n");
    }
    out
}

fn resolve(args: &ResolveArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let summary = clip(&args.summary, 2000);
    if summary.is_empty() {
        return Err(CliError::input("invalid_argument", "--summary must not be empty").into());
    }
    let id = IncidentId(args.id);
    let (incident, events) = with_store(&settings, async |store| {
        let incident =
            store.change_incident(id, &IncidentChange::Resolve(summary.clone()), &actor(), Timestamp::now()).await?;
        Ok((incident, store.incident_events(id).await?))
    })?;
    std::fs::create_dir_all(&args.postmortem_dir)
        .map_err(|e| CliError::failed("io", format!("{}: {e}", args.postmortem_dir.display())))?;
    let path = args.postmortem_dir.join(format!("INCIDENT-{}-postmortem.md", incident.id));
    std::fs::write(&path, postmortem(&incident, &events))
        .map_err(|e| CliError::failed("io", format!("{}: {e}", path.display())))?;
    let due = incident.postmortem_due.map(|t| t.to_string()).unwrap_or_default();
    let text = format!("{}\npost-mortem skeleton: {} (due {due})", line(&incident), path.display());
    let mut json = to_json(&incident);
    json["postmortem"] = json!(path.display().to_string());
    Ok(Report::new(text, &json))
}

fn stats(args: &StatsArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let since = Timestamp::now().minus_secs(args.days * 86_400);
    let all = with_store(&settings, async |store| Ok(store.list_incidents(&[], 100_000).await?))?;
    let period: Vec<&Incident> = all.iter().filter(|i| i.opened_at >= since).collect();
    let mut text = format!("incidents opened in the last {} days: {}\n", args.days, period.len());
    let mut rows = Vec::new();
    for priority in Priority::ALL {
        let of: Vec<&&Incident> = period.iter().filter(|i| i.priority == priority).collect();
        let mean = |values: Vec<u64>| (!values.is_empty()).then(|| values.iter().sum::<u64>() / values.len() as u64);
        let detect = mean(of.iter().map(|i| i.opened_at.secs_since(i.detected_at)).collect());
        let resolve =
            mean(of.iter().filter_map(|i| i.resolved.as_ref().map(|(at, _)| at.secs_since(i.opened_at))).collect());
        let shown = |v: Option<u64>| v.map_or_else(|| "—".to_owned(), |s| format!("{} min", s.div_ceil(60)));
        let _ =
            writeln!(text, "  {priority}: {} incident(s), MTTD {}, MTTR {}", of.len(), shown(detect), shown(resolve));
        rows.push(json!({"priority": priority.code(), "incidents": of.len(), "mttd_seconds": detect, "mttr_seconds": resolve}));
    }
    Ok(Report::new(text.trim_end().to_owned(), &json!({ "days": args.days, "priorities": rows })))
}
