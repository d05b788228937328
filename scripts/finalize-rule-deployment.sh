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
# shellcheck source=lib/wrapper.sh
source "$(dirname "$0")/lib/wrapper.sh"
# These commands take no --config: the help, then the command as it is.
wrapper_help "$0" "$@"
exec "${FERRETWATCH_BIN:-ferretwatch}" canary finalize "$@"
