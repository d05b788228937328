#!/usr/bin/env bash
# Runbook 8.2 "Health check after recovery": is the recovered service whole again?
#   1. the daily health check (scripts/daily-health-check.sh: the pack, the report API,
#      the admin API, the metrics, and with FERRETWATCH_PROMETHEUS_URL no P1/P2 firing);
#   2. the pack the service serves verifies against the root of trust, as a client sees it
#      (`ferretwatch pack verify $FERRETWATCH_URL/v1/ --root $FERRETWATCH_ROOT`);
# and with --comprehensive also:
#   3. the critical user flows, end to end through the public API
#      (`smoke-test-user-flows.sh --critical-paths`: health, an install token, the pack
#      fetched and verified, a scan with it, a report committed);
#   4. with FERRETWATCH_CONFIG or FERRETWATCH_DB, the console's audit chain verifies
#      (`ferretwatch audit verify`).
# Settings: FERRETWATCH_URL (default http://127.0.0.1:8080), FERRETWATCH_ROOT (default
# root.json), ADMIN_TOKEN, FERRETWATCH_METRICS_URL, FERRETWATCH_PROMETHEUS_URL,
# FERRETWATCH_BIN (default ferretwatch). One line per check; exit 1 if any fails.
#
#   ./scripts/post-recovery-health-check.sh [--comprehensive]
set -uo pipefail
comprehensive=0
case "${1:-}" in
    --comprehensive) comprehensive=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
[[ $# -le 1 ]] || { echo "at most one argument (see --help)" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
bin="${FERRETWATCH_BIN:-ferretwatch}"
base="${FERRETWATCH_URL:-http://127.0.0.1:8080}"
root="${FERRETWATCH_ROOT:-root.json}"
failed=0
line() { if [[ "$1" == ok ]]; then echo "ok   $2"; else echo "FAIL $2"; failed=1; fi; }

echo "== the daily health check"
if bash "$here/daily-health-check.sh"; then line ok "daily health check"; else line fail "daily health check (above)"; fi

verified="$("$bin" pack verify "$base/v1/" --root "$root" --format json 2>&1)"
if [[ $? == 0 ]]; then
    version="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pack_version"])' "$verified")"
    line ok "the served pack $version verifies against $root"
else
    line fail "the served pack does not verify: ${verified:0:300}"
fi

if [[ $comprehensive == 1 ]]; then
    echo "== the critical user flow"
    if bash "$here/smoke-test-user-flows.sh" --critical-paths; then line ok "the critical user flows"; else line fail "the critical user flows (above)"; fi

    if [[ -n "${FERRETWATCH_CONFIG:-}" || -n "${FERRETWATCH_DB:-}" ]]; then
        args=()
        [[ -n "${FERRETWATCH_CONFIG:-}" ]] && args+=(--config "$FERRETWATCH_CONFIG")
        [[ -n "${FERRETWATCH_DB:-}" ]] && args+=(--db "$FERRETWATCH_DB")
        if audit="$("$bin" audit verify "${args[@]}" 2>&1)"; then
            line ok "the audit chain verifies"
        else
            line fail "the audit chain: ${audit:0:300}"
        fi
    fi
fi
if [[ $failed == 0 ]]; then echo "== recovered: every check passed"; else echo "== not recovered: see FAIL above"; fi
exit "$failed"
