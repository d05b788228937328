#!/usr/bin/env bash
# Runbook 3.1: the three health checks against one FerretWatch service, one line each.
#   FERRETWATCH_URL (default http://127.0.0.1:8080) and ADMIN_TOKEN (from
#   `ferretwatch admin token create --role viewer`). Exit 0 when all pass, 1 otherwise.
#   In production the three URLs differ (rules CDN, report API, admin API): set
#   FERRETWATCH_RULES_URL, FERRETWATCH_API_URL and FERRETWATCH_ADMIN_URL to override each.
set -uo pipefail
base="${FERRETWATCH_URL:-http://127.0.0.1:8080}"
rules="${FERRETWATCH_RULES_URL:-$base}"
api="${FERRETWATCH_API_URL:-$base}"
admin="${FERRETWATCH_ADMIN_URL:-$base}"
failed=0

check() {
    local name="$1"; shift
    local out
    if out=$("$@" 2>&1); then
        echo "ok   $name"
    else
        out="${out//$'\n'/ }"; echo "FAIL $name: ${out:0:200}"
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
exit "$failed"
