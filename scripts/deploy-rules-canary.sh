#!/usr/bin/env bash
# Runbook 9.2: ./scripts/deploy-rules-canary.sh --rule-file new_rules.yar --canary-percentage 5
#
# Builds the canary (the origin's current pack plus the new YARA rules), refuses it when it
# fails the staging gate, signs it with the publishers' keys (--key, or
# FERRETWATCH_SIGNING_KEY: the root's threshold of paths, comma-separated) and deploys it
# to the origin (--to or FERRETWATCH_ORIGIN; root from --root or FERRETWATCH_ROOT; online
# timestamp key from FERRETWATCH_ONLINE_KEY). The signed targets carry the canary under
# canary/ and custom.canary (version, percentage, a fresh random salt): each install
# decides from its own secret seed whether it is in the cohort. Recorded at the origin in
# canary/state.json. Refused while a canary runs.
# Exit 0 deployed, 1 refused by the gate or the origin failed, 2 bad input (rules that do
# not compile, a canary already running), 42 too few signatures (nothing deployed).
set -euo pipefail
# shellcheck source=lib/wrapper.sh
source "$(dirname "$0")/lib/wrapper.sh"
# These commands take no --config: the help, then the command as it is.
wrapper_help "$0" "$@"
exec "${FERRETWATCH_BIN:-ferretwatch}" canary deploy "$@"
