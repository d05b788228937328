//! `incident timeline`: one incident's own timeline (alerts, acknowledgement, notes,
//! escalations, resolution) joined, in time order, with what changed around it: the pack
//! deploys the origin's history records and the console's signed audit log (every admin
//! action). With `--security` (the runbook's security event timeline) the console's
//! sign-ins and refused sign-ins join it too, and the audit entries in the window must
//! chain (each names the hash of the one before): a break is a finding, and the command
//! exits 1.
//!
//! The window runs from `--before-minutes` before the first alert to the resolution (or
//! now). The service's database may be the very thing that failed: without `--security`
//! an unreachable audit log is a line in the timeline, not a failure.

use clap::Args;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::deploy_history;
use ferretwatch_store::{AccessOutcome, AuditEntry, AuditFilter, IncidentEvent};
use ferretwatch_types::Timestamp;
use serde::Serialize;
use serde_json::json;

use super::{reference, DbArgs, IncidentRef};
use crate::console::with_store;
use crate::error::{CliError, Failure};
use crate::output::{FormatArg, Report};

/// Audit entries read per page, newest first.
const PAGE: u32 = 500;
/// At most this many audit entries or sign-ins in one timeline.
const MAX_ENTRIES: usize = 20_000;

/// `incident timeline`.
#[derive(Args)]
pub struct TimelineArgs {
    /// The incident: its number (7) or INC-YEAR-NUMBER (INC-2026-007).
    id: IncidentRef,
    /// The security event timeline: sign-ins too, and the audit chain checked.
    #[arg(long)]
    security: bool,
    /// How far before the first alert the timeline starts.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=10_080))]
    before_minutes: u64,
    /// The pack origin whose deploys to show; default the server's (`origin`, else
    /// DATA_DIR/origin).
    #[arg(long)]
    origin: Option<String>,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    pub(super) output: FormatArg,
}

/// One line of the joined timeline.
#[derive(Debug, Serialize)]
struct Line {
    at: Timestamp,
    source: &'static str,
    kind: String,
    actor: String,
    text: String,
}

impl From<&IncidentEvent> for Line {
    fn from(e: &IncidentEvent) -> Self {
        Line { at: e.at, source: "incident", kind: e.kind.clone(), actor: e.actor.clone(), text: e.text.clone() }
    }
}

fn audit_line(e: &AuditEntry) -> Line {
    let details = if e.details == "{}" { String::new() } else { format!(" {}", e.details) };
    Line {
        at: Timestamp::from_millis(e.at),
        source: "audit",
        kind: e.action.clone(),
        actor: e.actor.clone(),
        text: format!("#{} {}{details}", e.seq, e.target),
    }
}

/// The audit entries from `from` to `to`, oldest first, and whether they chain.
async fn audit_window(
    store: &dyn ferretwatch_store::Store,
    from: Timestamp,
    to: Timestamp,
) -> Result<(Vec<AuditEntry>, Vec<String>), Failure> {
    let (from, to) = (from.as_millis(), to.as_millis());
    let mut entries = Vec::new();
    let mut before_seq = None;
    'pages: loop {
        let filter = AuditFilter { before_seq, ..AuditFilter::default() };
        let page = store.list_audit(&filter, PAGE).await?;
        let Some(last) = page.last() else { break };
        before_seq = Some(last.seq);
        for entry in page {
            if entry.at < from {
                // Kept as the link the window's first entry must name.
                entries.push(entry);
                break 'pages;
            }
            if entry.at <= to {
                entries.push(entry);
            }
            if entries.len() >= MAX_ENTRIES {
                break 'pages;
            }
        }
    }
    entries.reverse();
    let mut breaks = Vec::new();
    for pair in entries.windows(2) {
        if pair[1].seq == pair[0].seq + 1 && pair[1].prev_hash != pair[0].hash {
            breaks.push(format!("audit entry #{} does not name #{}'s hash", pair[1].seq, pair[0].seq));
        } else if pair[1].seq != pair[0].seq + 1 && pair[1].at <= to {
            breaks.push(format!("audit entries #{} to #{} are missing", pair[0].seq + 1, pair[1].seq - 1));
        }
    }
    if entries.first().is_some_and(|e| e.at < from) {
        entries.remove(0);
    }
    Ok((entries, breaks))
}

/// Runs `incident timeline`.
pub fn run(args: &TimelineArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let id = args.id;
    let (incident, events) = with_store(&settings, async |store| {
        Ok((store.get_incident(id.id()).await?, store.incident_events(id.id()).await?))
    })?;
    id.check(&incident)?;
    let from = incident.detected_at.min(incident.opened_at).minus_secs(args.before_minutes * 60);
    let to = incident.resolved.as_ref().map_or_else(Timestamp::now, |(at, _)| *at);
    let mut lines: Vec<Line> = events.iter().map(Line::from).collect();
    let mut problems: Vec<String> = Vec::new();
    let mut unavailable: Vec<String> = Vec::new();

    // The pack deploys.
    let service = args.db.service_settings()?;
    let url = args.origin.clone().unwrap_or_else(|| service.origin_url());
    match Origin::open(&url).and_then(|origin| deploy_history(&origin)) {
        Ok(history) => lines.extend(history.iter().filter(|r| r.deployed_at >= from && r.deployed_at <= to).map(|r| {
            let what = match (&r.restores, &r.previous) {
                (Some(restored), _) => {
                    format!("pack {} deployed (rollback to {restored}'s content)", r.version)
                }
                (None, Some(previous)) => format!("pack {} deployed (replacing {previous})", r.version),
                (None, None) => format!("pack {} deployed", r.version),
            };
            Line {
                at: r.deployed_at,
                source: "deploy",
                kind: serde_json::to_value(r.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                actor: "origin".to_owned(),
                text: what,
            }
        })),
        Err(e) => unavailable.push(format!("pack deploys at {url}: {e}")),
    }

    // The console's audit log and, for security, its sign-ins.
    let security = args.security;
    let console = with_store(&service, async |store| {
        let (audit, breaks) = audit_window(store, from, to).await?;
        let access = if security {
            let mut access = store.list_access(from, MAX_ENTRIES as u32).await?;
            access.retain(|a| a.at <= to);
            access
        } else {
            Vec::new()
        };
        Ok((audit, breaks, access))
    });
    match console {
        Ok((audit, breaks, access)) => {
            lines.extend(audit.iter().map(audit_line));
            lines.extend(access.iter().map(|a| Line {
                at: a.at,
                source: "sign-in",
                kind: a.outcome.code().to_owned(),
                actor: a.email.clone(),
                text: format!("{} from {}", a.method, a.client_net),
            }));
            let refused =
                access.iter().filter(|a| !matches!(a.outcome, AccessOutcome::Success | AccessOutcome::Logout)).count();
            if security && refused > 0 {
                lines.push(Line {
                    at: to,
                    source: "summary",
                    kind: "refused_sign_ins".to_owned(),
                    actor: String::new(),
                    text: format!("{refused} refused sign-in(s) in the window"),
                });
            }
            problems.extend(breaks);
        }
        Err(e) if security => {
            return Err(CliError::failed("audit_unavailable", format!("the console's audit log: {}", e.0)).into());
        }
        Err(e) => unavailable.push(format!("the console's audit log: {}", e.0)),
    }
    lines.sort_by_key(|l| l.at);

    let mut text = format!(
        "{} {} {} {} — from {from} to {to}\n",
        reference(&incident),
        incident.priority,
        incident.state,
        incident.title
    );
    for l in &lines {
        text.push_str(&format!("  {} {:<8} {:<20} {:<20} {}\n", l.at, l.source, l.kind, l.actor, l.text));
    }
    for u in &unavailable {
        text.push_str(&format!("  (not shown: {u})\n"));
    }
    for p in &problems {
        text.push_str(&format!("FAIL {p}\n"));
    }
    let json = json!({
        "incident": reference(&incident), "from": from, "to": to, "lines": lines,
        "unavailable": unavailable, "problems": problems,
    });
    if !problems.is_empty() {
        return Err(CliError::failed("audit_chain_broken", text.trim_end().to_owned()).into());
    }
    Ok(Report::new(text.trim_end().to_owned(), &json))
}
