#!/usr/bin/env bash
# Runbook 7.3 "Generate security event timeline":
#
#   ./scripts/security-timeline.sh --incident-id INC-2026-007     (or the number, 7)
#
# The incident's own timeline (its alerts, acknowledgement, notes, escalations) joined in
# time order with the pack deploys the origin recorded, every admin action of the console's
# signed audit log and every console sign-in and refused sign-in, from an hour before the
# first alert to the resolution (`ferretwatch incident timeline ID --security`); then the
# whole audit log's hash chain and signatures verified (`ferretwatch audit verify`).
# Exit 0 when the timeline is complete and the log verifies; 1 when the incident does not
# exist, the service's database cannot be read, an audit entry in the window is missing or
# does not chain, or the log does not verify; 2 on bad usage.
#
# Environment: FERRETWATCH_CONFIG (the server's configuration: its database, incidents
# database, origin and audit key), FERRETWATCH_DB, FERRETWATCH_INCIDENTS_DB,
# FERRETWATCH_DATA_DIR, FERRETWATCH_BIN (default: ferretwatch on PATH),
# FERRETWATCH_TIMELINE_FORMAT (text or json; default text).
set -uo pipefail
incident=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --incident-id)
            incident="${2:-}"
            [[ -n "$incident" ]] || { echo "--incident-id needs a value (INC-YEAR-NUMBER or a number)" >&2; exit 2; }
            shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -n "$incident" ]] || { echo "--incident-id is required (see --help)" >&2; exit 2; }
[[ "$incident" =~ ^([Ii][Nn][Cc]-)?([0-9]{4}-)?[0-9]+$ ]] \
    || { echo "--incident-id $incident: INC-YEAR-NUMBER (INC-2026-007) or a number" >&2; exit 2; }
bin="${FERRETWATCH_BIN:-ferretwatch}"
config=()
[[ -n "${FERRETWATCH_CONFIG:-}" ]] && config=(--config "$FERRETWATCH_CONFIG")

"$bin" incident timeline "$incident" --security --format "${FERRETWATCH_TIMELINE_FORMAT:-text}" ${config[@]+"${config[@]}"}
# The reference is well formed: a missing incident or a broken chain is a finding (1).
[[ $? == 0 ]] || exit 1
echo "== the console's audit log"
if ! "$bin" audit verify ${config[@]+"${config[@]}"}; then
    echo "FAIL the audit log does not verify" >&2
    exit 1
fi
