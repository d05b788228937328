#!/usr/bin/env bash
# Runbook 3.1 and 5.1 "Check system health metrics": the three health checks against one
# FerretWatch service, then the metrics they name, one line each:
#   1. rule pack: GET $FERRETWATCH_RULES_URL/v1/manifest.json answers 200;
#   2. report API: POST $FERRETWATCH_API_URL/health {"check":"health"} answers 200;
#   3. admin API: GET $FERRETWATCH_ADMIN_URL/api/health with ADMIN_TOKEN answers 200;
#   4. metrics ($FERRETWATCH_METRICS_URL, default http://127.0.0.1:9090/metrics): the
#      database answers (ferretwatch_store_up 1), a pack is served (ferretwatch_pack_info),
#      rate limits are shared when Redis is configured (ferretwatch_limiter_shared), and
#      5xx answers are at most 2% of each service's requests between two scrapes
#      FERRETWATCH_HEALTH_WINDOW seconds apart (default 10; judged from 20 requests up);
#   5. with FERRETWATCH_PROMETHEUS_URL: no P1 or P2 alert is firing (Prometheus's ALERTS).
# FERRETWATCH_URL (default http://127.0.0.1:8080) is the default of the three URLs; ADMIN_TOKEN
# comes from `ferretwatch admin token create --role viewer` and is never printed.
# Exit 0 when every check passes, 1 otherwise, 2 on bad usage.
set -uo pipefail
case "${1:-}" in
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
base="${FERRETWATCH_URL:-http://127.0.0.1:8080}"
rules="${FERRETWATCH_RULES_URL:-$base}"
api="${FERRETWATCH_API_URL:-$base}"
admin="${FERRETWATCH_ADMIN_URL:-$base}"
metrics_url="${FERRETWATCH_METRICS_URL:-http://127.0.0.1:9090/metrics}"
prometheus="${FERRETWATCH_PROMETHEUS_URL:-}"
failed=0

check() {
    local name="$1"; shift
    local out
    if out=$("$@" 2>&1); then
        echo "ok   $name${out:+ ($out)}"
    else
        out="${out//$'\n'/ }"; echo "FAIL $name: ${out:0:300}"
        failed=1
    fi
}

# Rule pack availability check
check "rule pack: GET $rules/v1/manifest.json" \
    curl -sSf -o /dev/null --max-time 10 "$rules/v1/manifest.json"
# Report API health check
check "report API: POST $api/health" \
    curl -sSf -o /dev/null --max-time 10 -X POST "$api/health" -H "Content-Type: application/json" -d '{"check":"health"}'
# Admin API authentication check (the token is read from the environment, never printed)
if [ -z "${ADMIN_TOKEN:-}" ]; then
    echo "FAIL admin API: GET $admin/api/health: ADMIN_TOKEN is not set"
    failed=1
else
    check "admin API: GET $admin/api/health" \
        curl -sSf -o /dev/null --max-time 10 -H "Authorization: Bearer $ADMIN_TOKEN" "$admin/api/health"
fi

# The metrics the checks name.
metrics_check() {
    local before text
    before="$(curl -sSf --max-time 10 "$metrics_url")" || { echo "the metrics listener does not answer"; return 1; }
    sleep "${FERRETWATCH_HEALTH_WINDOW:-10}"
    text="$(curl -sSf --max-time 10 "$metrics_url")" || { echo "the metrics listener does not answer"; return 1; }
    python3 - "$before" "$text" "${FERRETWATCH_HEALTH_WINDOW:-10}" <<'PY'
import re, sys
def parse(text):
    samples = {}
    for line in text.splitlines():
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$', line)
        if m:
            samples.setdefault(m.group(1), []).append((m.group(2) or "", float(m.group(3))))
    return samples
earlier, samples, window = parse(sys.argv[1]), parse(sys.argv[2]), sys.argv[3]
problems, notes = [], []
up = [v for _, v in samples.get("ferretwatch_store_up", [])]
if up != [1.0]:
    problems.append(f"ferretwatch_store_up is {up or 'missing'}: the database does not answer")
served = [labels for labels, v in samples.get("ferretwatch_pack_info", []) if v == 1.0]
if not served:
    problems.append("ferretwatch_pack_info: no pack served")
else:
    notes.append("pack " + re.sub(r'.*version="([^"]*)".*', r"\1", served[0]))
shared = samples.get("ferretwatch_limiter_shared")
if shared is not None and shared[0][1] != 1.0:
    problems.append("ferretwatch_limiter_shared is 0: Redis is lost, limits are per instance")
def counts(samples):
    totals, errors = {}, {}
    for labels, value in samples.get("ferretwatch_http_requests_total", []):
        service = re.search(r'service="([^"]*)"', labels)
        status = re.search(r'status="(\d+)"', labels)
        if not service or service.group(1) not in ("reports", "packs", "admin"):
            continue
        totals[service.group(1)] = totals.get(service.group(1), 0) + value
        if status and status.group(1).startswith("5"):
            errors[service.group(1)] = errors.get(service.group(1), 0) + value
    return totals, errors
(t0, e0), (t1, e1) = counts(earlier), counts(samples)
for service in sorted(t1):
    total = t1[service] - t0.get(service, 0)
    failed = e1.get(service, 0) - e0.get(service, 0)
    if total < 20:
        notes.append(f"{service}: {int(total)} requests in {window} s, too few to judge")
        continue
    share = failed / total
    if share > 0.02:
        problems.append(f"{service}: {share:.1%} of {int(total)} requests in {window} s answered 5xx (more than 2%)")
    notes.append(f"{service} {share:.1%} 5xx of {int(total)} in {window} s")
if problems:
    print("; ".join(problems))
    sys.exit(1)
print(", ".join(notes))
PY
}
check "metrics: $metrics_url" metrics_check

alerts_check() {
    local answer
    answer="$(curl -sSf --max-time 10 "$prometheus/api/v1/query" --data-urlencode 'query=ALERTS{alertstate="firing"}')" \
        || { echo "Prometheus does not answer"; return 1; }
    python3 - "$answer" <<'PY'
import json, sys
alerts = [r["metric"] for r in json.loads(sys.argv[1])["data"]["result"]]
urgent = [a for a in alerts if a.get("priority") in ("P1", "P2")]
listed = ", ".join(f'{a.get("alertname")} ({a.get("priority", "?")})' for a in alerts)
if urgent:
    print(f"firing: {listed}")
    sys.exit(1)
print(f"{len(alerts)} firing{': ' + listed if alerts else ''}")
PY
}
if [ -n "$prometheus" ]; then
    check "alerts: $prometheus" alerts_check
fi
exit "$failed"
