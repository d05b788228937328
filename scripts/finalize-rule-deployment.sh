#!/usr/bin/env bash
# Runbook 9.2: ./scripts/finalize-rule-deployment.sh --decision promote|rollback
#
# Ends the running canary at the origin (--to or FERRETWATCH_ORIGIN): promote publishes
# the canary's pack for every install, rollback the control's; either under the next
# version, without the canary, signed with the publishers' keys (--key or
# FERRETWATCH_SIGNING_KEY; root from --root or FERRETWATCH_ROOT; online key from
# FERRETWATCH_ONLINE_KEY) and deployed. The outcome is recorded in
# canary/history/ID.json and canary/state.json.
# Exit 0 done, 2 no canary runs or bad input, 1 the origin failed, 42 too few signatures.
set -euo pipefail
for a in "$@"; do
    case "$a" in
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    esac
done
exec "${FERRETWATCH_BIN:-ferretwatch}" canary finalize "$@"
