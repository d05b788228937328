#!/usr/bin/env bash
# Runbook 5.1 weekly "Performance baseline review": ./scripts/performance-review.sh --weekly
#
#   --weekly    review the last 7 days (FERRETWATCH_REVIEW_RANGE) against the 7 before
#   -h, --help  this text
#
# From Prometheus's HTTP API (FERRETWATCH_PROMETHEUS_URL, required), for each service of
# the service levels (packs, reports, admin), one line each:
#   - availability: the share of requests not answered 5xx, against runbook 2.1 (packs
#     99.5%, reports 99.0%, admin 99.5%), and the error budget that leaves: the 5xx the
#     target allows over the period, how much of it was used and how much is left;
#   - latency: the 95th percentile from ferretwatch_http_request_duration_seconds against
#     2.1 (a pack downloads in under 2 s, a report in under 1 s, an admin operation in under
#     5 s);
#   - the previous period: its p95, and the ratio to it (2.2: more than twice the baseline
#     fails, judged from FERRETWATCH_LATENCY_FLOOR seconds up, default 0.05: below that a
#     doubling is the histogram's bucket noise); its availability and requests;
# then each instance's peak CPU (rate over FERRETWATCH_REVIEW_RATE_WINDOW, default 5m) and
# peak resident memory, beside the server alerts' bounds (0.9 of a core, 1 GiB).
# Exit 0 when every target is met; 1 when a budget is exhausted or a target missed (each
# named on a FAIL line); 2 on bad usage or when Prometheus does not answer. A service
# without requests in the period is n/a, never a pass.
#
# Environment: FERRETWATCH_PROMETHEUS_URL; FERRETWATCH_REVIEW_RANGE (a Prometheus
# duration, default 7d; tests shorten it, e.g. 30s); FERRETWATCH_REVIEW_RATE_WINDOW;
# FERRETWATCH_LATENCY_FLOOR.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
case "${1:-}" in
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    --weekly) ;;
    "") echo "performance-review: say --weekly (see --help)" >&2; exit 2 ;;
    *) echo "performance-review: unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
[[ $# -eq 1 ]] || { echo "performance-review: one argument, --weekly (see --help)" >&2; exit 2; }

REVIEW_LIB="$here/lib" exec python3 -B - <<'PY'
import math, os, sys
sys.path.insert(0, os.environ["REVIEW_LIB"])
from review import (JOB, SERVICE_RE, SERVICES, Review, bytes_text, change, env_number, env_range, finite, pct,
                    prom, prometheus_from_env, run, secs_text, seconds, usage_error)

# Runbook 2.1: availability and response-time targets per service.
AVAILABILITY = {"packs": 0.995, "reports": 0.990, "admin": 0.995}
LATENCY = {"packs": 2.0, "reports": 1.0, "admin": 5.0}
WHAT = {"packs": "rule pack updates", "reports": "report submission", "admin": "admin console"}

period, period_text = env_range("7d")
try:
    window = seconds(os.environ.get("FERRETWATCH_REVIEW_RATE_WINDOW") or "5m")
except ValueError as e:
    usage_error(f"FERRETWATCH_REVIEW_RATE_WINDOW: {e}")
floor = env_number("FERRETWATCH_LATENCY_FLOOR", 0.05)
p = prometheus_from_env(required=True)
R, W = prom(period), prom(window)


def body():
    review = Review()
    print(f"== performance review: the last {period_text} against the {period_text} before, from {p.url}")
    figures = {}
    for offset in ("", f" offset {R}"):
        total = p.by(f'sum by (service) (increase(ferretwatch_http_requests_total{{service=~"{SERVICE_RE}"}}[{R}]{offset}))', "service")
        errors = p.by(f'sum by (service) (increase(ferretwatch_http_requests_total{{service=~"{SERVICE_RE}",status=~"5.."}}[{R}]{offset}))', "service")
        p95 = p.by(f'histogram_quantile(0.95, sum by (service, le) (increase(ferretwatch_http_request_duration_seconds_bucket{{service=~"{SERVICE_RE}"}}[{R}]{offset})))', "service")
        figures[offset != ""] = (total, errors, p95)
    (total, errors, p95), (total0, errors0, p950) = figures[False], figures[True]

    for s in SERVICES:
        n, bad = total.get(s, 0.0), errors.get(s, 0.0)
        target = AVAILABILITY[s]
        name = f"{s} availability"
        if n < 1:
            review.na(name, f"no requests in the last {period_text}")
        else:
            availability = 1 - bad / n
            allowed = (1 - target) * n
            used = bad / allowed
            detail = (f"{pct(availability, 3)} of {n:.0f} requests not 5xx (target {pct(target, 1)}, "
                      f"{WHAT[s]}); error budget {allowed:.1f} errors, {bad:.0f} used: "
                      f"{used * 100:.0f}% used, {max(0.0, 1 - used) * 100:.0f}% left")
            if used >= 1:
                detail += " — EXHAUSTED"
            review.judge(used < 1, name, detail)

        name = f"{s} p95 latency"
        latency, before = p95.get(s), p950.get(s)
        if not (latency is not None and (finite(latency) or latency == math.inf)) or n < 1:
            review.na(name, f"no requests in the last {period_text}")
            continue
        review.judge(latency <= LATENCY[s], name,
                     f"{secs_text(latency)} (target under {secs_text(LATENCY[s])})")

        name = f"{s} against the previous {period_text}"
        n0 = total0.get(s, 0.0)
        if n0 < 1 or before is None or not (finite(before) or before == math.inf):
            review.na(name, f"no requests in the {period_text} before")
            continue
        availability0 = 1 - errors0.get(s, 0.0) / n0
        ratio = latency / before if before > 0 else math.inf
        detail = (f"p95 {secs_text(latency)} against {secs_text(before)}: {ratio:.2f}x (fails above 2x); "
                  f"requests {change(n, n0)}, availability {pct(availability0, 3)} before")
        if latency < floor:
            review.ok(name, detail + f"; under {secs_text(floor)}, a ratio is not judged")
        else:
            review.judge(ratio <= 2, name, detail)

    cpu = p.by(f"max by (instance) (max_over_time(rate(process_cpu_seconds_total{{{JOB}}}[{W}])[{R}:{W}]))", "instance")
    memory = p.by(f"max by (instance) (max_over_time(process_resident_memory_bytes{{{JOB}}}[{R}]))", "instance")
    if not cpu and not memory:
        review.na("process CPU and memory", "no process_* series of job ferretwatch in the period")
    for instance in sorted(set(cpu) | set(memory)):
        c, m = cpu.get(instance), memory.get(instance)
        review.info(f"{instance} peaks",
                    f"CPU {'—' if not finite(c) else f'{c:.2f} of a core'} (rate over {W}; alert bound 0.9), "
                    f"resident memory {'—' if m is None else bytes_text(m)} (alert bound 1 GiB)")
    return review.finish()


run(body)
PY
