#!/usr/bin/env bash
# Runbook 5.1 monthly "Business metrics review": ./scripts/business-metrics.sh --monthly
#
#   --monthly   review the last 30 days (FERRETWATCH_REVIEW_RANGE)
#   -h, --help  this text
#
# The KPIs of runbook 10, one line each with its value, target and verdict:
#   - uptime of each core service (packs, reports, admin): the share of its requests not
#     answered 5xx, > 99.5% (10.3); and the instances answering Prometheus's scrape (`up`),
#     > 99.5%;
#   - P1 incidents in the period, < 3 (10.3);
#   - mean time to detect, < 5 min; mean time to respond (acknowledge) to a P1, < 15 min;
#     mean time to recover (resolve) from a P1, < 1 h (10.1) — from the incidents database
#     (`ferretwatch incident stats`);
#   - change failure rate, < 5% of deployments (10.1): the pack deploys a later rollback
#     reverted, from `incident stats` (the origin FERRETWATCH_ORIGIN names, else the
#     server's);
#   - the error rate across the services, < 2% (10.1);
#   - two-factor authentication on every active console account, 100% (10.2);
# and, without a target, the reports received and the installs that can be counted (install
# tokens that reported, tokens issued; the telemetry carries no install identifier, so
# active installs are not measured).
# A KPI whose source is absent (FERRETWATCH_PROMETHEUS_URL unset, no incident of that
# priority, an older ferretwatch without the figure, no console account) is n/a: never a
# pass, and the line says why. Exit 0 when no KPI misses its target; 1 when one does; 2 on
# bad usage or when a source that is set does not answer.
#
# Environment: FERRETWATCH_CONFIG (the server's configuration file, passed as --config: its
# database and incidents database), FERRETWATCH_DB, FERRETWATCH_INCIDENTS_DB,
# FERRETWATCH_DATA_DIR (read as the server reads them), FERRETWATCH_BIN (default:
# ferretwatch on PATH), FERRETWATCH_PROMETHEUS_URL, FERRETWATCH_ORIGIN,
# FERRETWATCH_REVIEW_RANGE (a Prometheus duration, default 30d; tests shorten it).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
case "${1:-}" in
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    --monthly) ;;
    "") echo "business-metrics: say --monthly (see --help)" >&2; exit 2 ;;
    *) echo "business-metrics: unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
[[ $# -eq 1 ]] || { echo "business-metrics: one argument, --monthly (see --help)" >&2; exit 2; }

REVIEW_LIB="$here/lib" exec python3 -B - <<'PY'
import math, os, sys, time
sys.path.insert(0, os.environ["REVIEW_LIB"])
from review import (JOB, SERVICE_RE, SERVICES, Review, SourceDown, env_range, ferretwatch, pct, prom,
                    prometheus_from_env, run, secs_text)

period, period_text = env_range("30d")
p = prometheus_from_env(required=False)
now = int(time.time())
days = max(1, math.ceil(period / 86400))
NO_PROMETHEUS = "FERRETWATCH_PROMETHEUS_URL is not set"


def incident_stats():
    """`incident stats`, with --origin when FERRETWATCH_ORIGIN is set (else it reads the
    server's origin); without it when that fails, the change figures then absent."""
    base = ("incident", "stats", "--days", str(days))
    origin = os.environ.get("FERRETWATCH_ORIGIN")
    if origin:
        try:
            return ferretwatch(*base, "--origin", origin, source="the incidents database")[1], origin, None
        except SourceDown as e:
            return ferretwatch(*base, source="the incidents database")[1], None, f"`incident stats --origin` failed: {e}"
    return ferretwatch(*base, source="the incidents database")[1], None, None


def body():
    review = Review()
    print(f"== business metrics: the last {period_text} (incidents: the last {days} day(s))")

    # Uptime and errors, from Prometheus.
    if p is None:
        review.na("uptime per core service", NO_PROMETHEUS)
        review.na("instances answering the scrape", NO_PROMETHEUS)
    else:
        R = prom(period)
        total = p.by(f'sum by (service) (increase(ferretwatch_http_requests_total{{service=~"{SERVICE_RE}"}}[{R}]))', "service")
        errors = p.by(f'sum by (service) (increase(ferretwatch_http_requests_total{{service=~"{SERVICE_RE}",status=~"5.."}}[{R}]))', "service")
        for s in SERVICES:
            n = total.get(s, 0.0)
            if n < 1:
                review.na(f"uptime: {s}", f"no requests in the last {period_text}")
                continue
            share = 1 - errors.get(s, 0.0) / n
            review.judge(share > 0.995, f"uptime: {s}", f"{pct(share, 3)} of {n:.0f} requests not 5xx (target > 99.5%)")
        up = p.one(f"avg(avg_over_time(up{{{JOB}}}[{R}]))")
        if up is None:
            review.na("instances answering the scrape", "no `up` series of job ferretwatch")
        else:
            review.judge(up > 0.995, "instances answering the scrape", f"{pct(up, 3)} of scrapes (target > 99.5%)")

    # Incidents.
    stats, origin, change_note = incident_stats()
    rows = {r.get("priority"): r for r in stats.get("priorities", [])}
    p1 = rows.get("P1", {})
    count = p1.get("incidents")
    if count is None:
        review.na("P1 incidents", "incident stats gave no P1 row")
    else:
        review.judge(count < 3, "P1 incidents", f"{count} in {days} day(s) (target < 3 a month)")
    timed = [(r.get("incidents") or 0, r.get("mttd_seconds")) for r in rows.values()]
    timed = [(n, t) for n, t in timed if n and t is not None]
    if not timed:
        review.na("mean time to detect", "no incident in the period")
    else:
        mttd = sum(n * t for n, t in timed) / sum(n for n, _ in timed)
        review.judge(mttd < 300, "mean time to detect",
                     f"{secs_text(mttd)} over {sum(n for n, _ in timed)} incident(s) (target < 5 min)")
    for key, name, target, words in (("mtta_seconds", "mean time to respond (P1)", 900, "< 15 min"),
                                     ("mttr_seconds", "mean time to recover (P1)", 3600, "< 1 h")):
        if key not in p1:
            review.na(name, f"this ferretwatch's incident stats has no {key}")
        elif p1[key] is None:
            review.na(name, "no P1 incident with that time in the period")
        else:
            review.judge(p1[key] < target, name, f"{secs_text(p1[key])} (target {words})")
    changes = stats.get("changes")
    where = origin or "the server's origin"
    if "changes" not in stats:
        why = "this ferretwatch's incident stats gives no deployments"
    elif not isinstance(changes, dict):
        why = f"no pack deploy recorded at {where}"
    elif not changes.get("deploys") or changes.get("change_failure_rate") is None:
        why = f"no pack deploy in the period at {where}"
    else:
        why = None
        rate = changes["change_failure_rate"]
        review.judge(rate < 0.05, "change failure rate",
                     f"{pct(rate, 1)}: {changes.get('failed')} of {changes.get('deploys')} pack deploy(s) reverted by "
                     f"a rollback (target < 5%)")
    if why:
        review.na("change failure rate", f"{why} ({change_note})" if change_note else why)

    if p is None:
        review.na("error rate across services", NO_PROMETHEUS)
    else:
        n, bad = sum(total.values()), sum(errors.values())
        if n < 1:
            review.na("error rate across services", f"no requests in the last {period_text}")
        else:
            review.judge(bad / n < 0.02, "error rate across services",
                         f"{pct(bad / n, 2)} of {n:.0f} requests answered 5xx (target < 2%)")

    status, accounts = ferretwatch("admin", "validate-2fa", "--require-all-admins", ok=(0, 1))
    active, missing = accounts.get("active", 0), len(accounts.get("without_totp", []))
    if not active:
        review.na("two-factor authentication", "no active console account")
    else:
        review.judge(missing == 0, "two-factor authentication",
                     f"{pct((active - missing) / active, 0)}: {active - missing} of {active} active console "
                     f"account(s) with TOTP (target 100%)")

    span = max(1, round(period))
    reports = ferretwatch("reports", "stats", "--since", str(now - span), "--until", str(now),
                          "--bucket-secs", str(span), "--top", "0")[1]
    review.info("reports volume", f"{reports['total']} ({reports['reports']} reports, "
                                  f"{reports['false_positives']} false positives)")
    issued = p.one(f"sum(increase(ferretwatch_install_tokens_issued_total[{prom(period)}]))") if p else None
    review.info("installs", f"{reports['install_tokens']} install token(s) sent reports"
                + (f", {issued:.0f} install token(s) issued" if issued is not None else "")
                + "; active installs are not measured (the telemetry carries no install identifier)")
    return review.finish()


run(body)
PY
