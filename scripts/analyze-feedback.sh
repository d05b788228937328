#!/usr/bin/env bash
# Runbook 5.1 weekly "User feedback analysis": ./scripts/analyze-feedback.sh --weekly
#
#   --weekly    analyse the last 7 days (FERRETWATCH_REVIEW_RANGE) against the 7 before
#   -h, --help  this text
#
# From the service's database (`ferretwatch reports stats`, counts only), one line each:
#   - the reports received, from how many install tokens, and the change from the week
#     before;
#   - by reason and by level of score (green, yellow, red at the built-in rules'
#     thresholds), reports and false-positive reports apart;
#   - the share of false-positive reports: runbook 3.2 alerts above 5% of all reports
#     (FERRETWATCH_FP_SHARE_MAX, default 0.05), judged from FERRETWATCH_FP_MIN_REPORTS
#     reports up (default 20, as the alert); the week before beside it;
#   - the domains most reported as false positives: candidates for allow-listing, by
#     registrable domain (never a URL's path or query, never an install token);
#   - the moderation outcome of the week's reports, where a reviewer decided: benign (a
#     confirmed false positive), verified (malicious), rejected, or still queued;
# and with FERRETWATCH_PROMETHEUS_URL the client telemetry's counters over the same weeks:
# false-positive reports the extensions counted, page loads and warnings (yellow and red).
# Exit 0 when the false-positive share is within bounds; 1 when it exceeds them; 2 on bad
# usage or when the database or Prometheus does not answer.
#
# Environment: FERRETWATCH_CONFIG (the server's configuration file, passed as --config),
# FERRETWATCH_DB, FERRETWATCH_DATA_DIR (read as the server reads them), FERRETWATCH_BIN
# (default: ferretwatch on PATH), FERRETWATCH_PROMETHEUS_URL, FERRETWATCH_REVIEW_RANGE (a
# Prometheus duration, default 7d; tests shorten it), FERRETWATCH_FP_SHARE_MAX,
# FERRETWATCH_FP_MIN_REPORTS.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
case "${1:-}" in
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    --weekly) ;;
    "") echo "analyze-feedback: say --weekly (see --help)" >&2; exit 2 ;;
    *) echo "analyze-feedback: unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
[[ $# -eq 1 ]] || { echo "analyze-feedback: one argument, --weekly (see --help)" >&2; exit 2; }

REVIEW_LIB="$here/lib" exec python3 -B - <<'PY'
import os, sys, time
sys.path.insert(0, os.environ["REVIEW_LIB"])
from review import Review, change, env_number, env_range, ferretwatch, pct, prom, prometheus_from_env, run

period, period_text = env_range("7d")
share_max = env_number("FERRETWATCH_FP_SHARE_MAX", 0.05)
min_reports = env_number("FERRETWATCH_FP_MIN_REPORTS", 20, int)
p = prometheus_from_env(required=False)
now = int(time.time())
KIND = {"report": "reports", "false_positive": "false positives"}


def stats(since, until):
    return ferretwatch("reports", "stats", "--since", str(since), "--until", str(until),
                       "--bucket-secs", str(until - since), "--top", "10")[1]


def counts(rows, *fields):
    return "; ".join(f"{KIND[k]}: " + ", ".join(f"{' '.join(str(r[f]) for f in fields)}"
                                                for r in rows if r["kind"] == k)
                     for k in KIND if any(r["kind"] == k for r in rows)) or "none"


def body():
    review = Review()
    span = max(1, round(period))
    week, before = stats(now - span, now), stats(now - 2 * span, now - span)
    print(f"== user feedback: the reports of the last {period_text} ({week['since']} to {week['until']}) "
          f"against the {period_text} before")
    review.info("reports received",
                f"{week['total']} ({week['reports']} reports, {week['false_positives']} false positives) from "
                f"{week['install_tokens']} install token(s); the {period_text} before {before['total']} "
                f"({change(week['total'], before['total'])})")
    review.info("by reason", counts(week["by_reason"], "reason", "reports"))
    levels = week["levels"]
    review.info(f"by level (yellow from {levels['yellow']}, red from {levels['red']})",
                "; ".join(f"{KIND[l['kind']]}: red {l['red']}, yellow {l['yellow']}, green {l['green']}"
                          for l in week["by_level"]) or "none")

    name = "false-positive share"
    share, share0 = week["false_positive_share"], before["false_positive_share"]
    previous = f"the {period_text} before {pct(share0, 1)} of {before['total']}"
    if week["total"] < min_reports:
        review.na(name, f"{week['total']} report(s), fewer than {min_reports} to judge ({previous})")
    else:
        review.judge(share <= share_max, name,
                     f"{pct(share, 1)} of {week['total']} reports (alert above {pct(share_max, 1)}, runbook 3.2); "
                     f"{previous}")

    domains = week["false_positive_domains"]
    review.info("domains most reported as false positives (allow-list candidates)",
                ", ".join(f"{d['domain']} {d['reports']} report(s) of {d['urls']} URL(s)" for d in domains)
                or "none")

    outcomes = week["moderation"]
    for kind, meaning in (("false_positive", {"benign": "benign (confirmed false positives)",
                                              "verified": "verified (malicious after all)"}),
                          ("report", {"verified": "verified (malicious)", "benign": "benign (not phishing)"})):
        rows = [o for o in outcomes if o["kind"] == kind]
        decided = [o for o in rows if o["state"] != "queued"]
        if not rows:
            review.info(f"moderation of the {KIND[kind]}", "none received")
            continue
        text = ", ".join(f"{meaning.get(o['state'], o['state'])} {o['urls']} URL(s) ({o['reports']} report(s))"
                         for o in rows)
        review.info(f"moderation of the {KIND[kind]}",
                    f"{text}; {sum(o['urls'] for o in decided)} of {sum(o['urls'] for o in rows)} URL(s) decided")

    name = "client telemetry"
    if p is None:
        review.na(name, "FERRETWATCH_PROMETHEUS_URL is not set: the extensions' own counters are not read")
    else:
        R = prom(period)
        figures = []
        for offset in ("", f" offset {R}"):
            q = lambda metric: p.one(f"sum(increase({metric}[{R}]{offset}))") or 0.0
            figures.append({
                "fp": q("ferretwatch_client_false_positive_reports_total"),
                "loads": q("ferretwatch_client_page_loads_total"),
                "warnings": q('ferretwatch_client_detections_total{level=~"yellow|red"}'),
                "bodies": q("ferretwatch_client_reports_total"),
            })
        now_f, before_f = figures
        if not now_f["bodies"]:
            review.na(name, f"no telemetry received in the last {period_text}")
        else:
            per = (now_f["fp"] / now_f["warnings"]) if now_f["warnings"] else None
            review.info(name,
                        f"{now_f['fp']:.0f} false-positive report(s) counted by the extensions "
                        f"({change(now_f['fp'], before_f['fp'])}), {now_f['warnings']:.0f} warning(s) in "
                        f"{now_f['loads']:.0f} page load(s): {pct(per, 1)} of warnings reported as false; "
                        f"{now_f['bodies']:.0f} telemetry bodies")
    return review.finish()


run(body)
PY
