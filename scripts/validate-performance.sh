#!/usr/bin/env bash
# Runbook 8.2 "Performance validation" (and 2.2 "Response time > 2x baseline"): the
# running service's critical endpoints measured now and compared with a baseline:
#   pack_timestamp, pack_manifest, pack_rules   GET /v1/timestamp.json, manifest.json and
#                                                the rules file it names (target 2 s)
#   health                                       POST /health {"check":"health"} (1 s)
#   report                                       POST /v1/report about a URL under .invalid,
#                                                with an install token (1 s)
#   status                                       GET /status.json (5 s)
# Each gets FERRETWATCH_PERF_REQUESTS requests (default 200), FERRETWATCH_PERF_CONCURRENCY
# at a time (default 4). A table shows each endpoint's baseline p95, its p95 now, the
# ratio and a verdict. An endpoint fails when its p95 is more than 2x its baseline (and
# more than FERRETWATCH_PERF_SLACK_MS, default 10, above it), over its target, when more
# than 2% of its requests fail, or when most were rate-limited (429: not measured).
#
#   ./scripts/validate-performance.sh --baseline-file baseline_metrics.json
#
# Write the baseline from a healthy service with
# `ferretwatch perf measure --write baseline_metrics.json` (docs/formats/performance-baseline.md).
# FERRETWATCH_URL: the service (default http://127.0.0.1:8080). FERRETWATCH_BIN: the
# binary (default ferretwatch).
# Exit 0 when every endpoint passes, 1 when one fails, 2 on bad usage or a baseline file
# that is missing, unreadable or malformed.
set -uo pipefail
usage() { echo "$1 (see --help)" >&2; exit 2; }
baseline=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --baseline-file)
            [[ $# -ge 2 && -n "$2" ]] || usage "--baseline-file needs a file"
            baseline="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) usage "unknown argument: $1" ;;
    esac
done
[[ -n "$baseline" ]] || usage "--baseline-file is required"
exec "${FERRETWATCH_BIN:-ferretwatch}" perf validate --baseline-file "$baseline"
