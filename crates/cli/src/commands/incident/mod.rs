//! `ferretwatch incident …` (runbook §4): list, show, open, acknowledge, assign, update
//! and resolve incidents in the service's database; resolving writes the post-mortem
//! skeleton, due 48 hours later. `incident timeline` joins an incident's own timeline with
//! the pack deploys and the console's admin actions around it (and, with `--security`,
//! its sign-ins). `incident stats` computes the runbook's §10 figures (mean time to
//! detect, to respond and to recover, and the change failure rate) from the records.
//!
//! An incident is named by its number (`7`) or as the runbook writes it (`INC-2026-007`:
//! the year it opened and its number).

mod postmortem;
mod stats;
mod timeline;

pub use postmortem::postmortem;

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
    /// Its timeline joined with the pack deploys and admin actions around it.
    Timeline(timeline::TimelineArgs),
    /// Mean time to detect, respond and recover per priority, and the change failure rate.
    Stats(stats::StatsArgs),
}

/// An incident by number.
#[derive(Args)]
pub struct IdArgs {
    /// The incident: its number (7) or INC-YEAR-NUMBER (INC-2026-007).
    id: IncidentRef,
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
    /// The incident: its number (7) or INC-YEAR-NUMBER (INC-2026-007).
    id: IncidentRef,
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
    /// The incident: its number (7) or INC-YEAR-NUMBER (INC-2026-007).
    id: IncidentRef,
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
    /// The incident: its number (7) or INC-YEAR-NUMBER (INC-2026-007).
    id: IncidentRef,
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

    /// Settings whose database is the service's own (its console audit log and sign-ins).
    fn service_settings(&self) -> Result<ferretwatch_server::Settings, CliError> {
        super::serve::settings(self.config.as_deref(), None)
    }
}

/// An incident as the runbook names it (`INC-2026-007`) or by its number (`7`, `INC-7`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncidentRef {
    id: i64,
    year: Option<i64>,
}

impl std::str::FromStr for IncidentRef {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?}: an incident number (7) or INC-YEAR-NUMBER (INC-2026-007)");
        let rest = text.strip_prefix("INC-").or_else(|| text.strip_prefix("inc-")).unwrap_or(text);
        let (year, number) = match rest.split_once('-') {
            Some((year, number)) if year.len() == 4 => (Some(year.parse::<i64>().map_err(|_| bad())?), number),
            Some(_) => return Err(bad()),
            None => (None, rest),
        };
        if number.is_empty() || number.len() > 18 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let id = number.parse::<i64>().map_err(|_| bad())?;
        if id < 1 {
            return Err(bad());
        }
        Ok(IncidentRef { id, year })
    }
}

impl IncidentRef {
    /// Its number in the store.
    fn id(self) -> IncidentId {
        IncidentId(self.id)
    }

    /// Refuses an incident that did not open in the year the reference names.
    fn check(self, incident: &Incident) -> Result<(), CliError> {
        match self.year {
            Some(year) if year != incident.opened_at.to_civil().0 => Err(CliError::input(
                "not_found",
                format!(
                    "INC-{year}-{:03}: incident {} opened in another year ({})",
                    self.id,
                    self.id,
                    reference(incident)
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// How the runbook names an incident: `INC-YEAR-NUMBER`, the year it opened.
pub fn reference(incident: &Incident) -> String {
    incident.reference()
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
        IncidentCommand::Timeline(args) => output::run(args.output.format, None, || timeline::run(&args)),
        IncidentCommand::Stats(args) => output::run(args.output.format, None, || stats::run(&args)),
    }
}

fn line(i: &Incident) -> String {
    let owner = i.assignee.as_deref().map(|a| format!(", owner {a}")).unwrap_or_default();
    let escalated = if i.escalations > 0 { format!(", escalated {}×", i.escalations) } else { String::new() };
    format!("{} {} {} {} (opened {}{owner}{escalated})", reference(i), i.priority, i.state, i.title, i.opened_at)
}

fn to_json(i: &Incident) -> serde_json::Value {
    json!({
        "id": i.id.0, "reference": reference(i), "title": i.title, "priority": i.priority.code(), "state": i.state.code(),
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
    let id = args.id.id();
    let (incident, events) =
        with_store(&settings, async |store| Ok((store.get_incident(id).await?, store.incident_events(id).await?)))?;
    args.id.check(&incident)?;
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

fn change(db: &DbArgs, id: IncidentRef, change: IncidentChange) -> Result<Report, Failure> {
    let settings = db.settings()?;
    let incident = with_store(&settings, async |store| {
        if id.year.is_some() {
            id.check(&store.get_incident(id.id()).await?)?;
        }
        Ok(store.change_incident(id.id(), &change, &actor(), Timestamp::now()).await?)
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

fn resolve(args: &ResolveArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let summary = clip(&args.summary, 2000);
    if summary.is_empty() {
        return Err(CliError::input("invalid_argument", "--summary must not be empty").into());
    }
    let id = args.id.id();
    let (incident, events) = with_store(&settings, async |store| {
        if args.id.year.is_some() {
            args.id.check(&store.get_incident(id).await?)?;
        }
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
