#!/usr/bin/env bash
# Runbook 7.3 "Collect logs for incident investigation": one evidence archive,
# $FERRETWATCH_EVIDENCE_DIR/ID-logs-FROM-TO.tar.gz (default directory ./evidence), with
#   - the service's log lines from FROM up to TO, unchanged (logs/);
#   - the incident and its timeline (incident.json, from `ferretwatch incident show`);
#   - the console's audit entries in the range, with a signed trailer (audit.jsonl:
#     `ferretwatch audit verify-export` checks it);
#   - with FERRETWATCH_PROMETHEUS_URL, range queries of the request and 5xx rates and the
#     p95 latency by service, ferretwatch_store_up and ALERTS (prometheus/);
#   - MANIFEST.json (each file's SHA-256 and size, the range, the command, the host, the
#     collector $USER) and SHA256SUMS (`sha256sum -c SHA256SUMS`).
# The archive's own digest is beside it (ID-logs-FROM-TO.tar.gz.sha256). Directories are
# 0700 and files 0600: evidence may hold personal data. An archive is never overwritten.
#
#   ./scripts/collect-logs.sh --incident-id ID --time-range FROM TO
#
# FROM and TO: RFC 3339; without a zone they are UTC (2025-09-25T10:00:00).
# Log source: FERRETWATCH_LOG_FILES (files or globs; .gz read too), else the journal of
# the ferretwatch@* units. FERRETWATCH_CONFIG (or FERRETWATCH_DB, FERRETWATCH_DATA_DIR):
# where the incidents, the console's database and its audit key are. FERRETWATCH_BIN: the
# binary (default ferretwatch).
# Exit 0 when the archive is written (a warning when no log line falls in the range),
# 1 when the incident does not exist or the range is empty (FROM not before TO),
# 2 on bad usage or without a log source.
set -uo pipefail
usage() { echo "$1 (see --help)" >&2; exit 2; }
id="" from="" to=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --incident-id)
            [[ $# -ge 2 && "$2" != --* ]] || usage "--incident-id needs an incident id"
            id="$2"; shift 2 ;;
        --time-range)
            [[ $# -ge 3 && "$2" != --* && "$3" != --* ]] || usage "--time-range needs two times: FROM TO"
            from="$2"; to="$3"; shift 3 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) usage "unknown argument: $1" ;;
    esac
done
[[ -n "$id" ]] || usage "--incident-id is required"
[[ -n "$from" ]] || usage "--time-range FROM TO is required"
config=()
[[ -n "${FERRETWATCH_CONFIG:-}" ]] && config=(--config "$FERRETWATCH_CONFIG")
exec "${FERRETWATCH_BIN:-ferretwatch}" logs collect --incident-id "$id" --time-range "$from" "$to" ${config[@]+"${config[@]}"}
