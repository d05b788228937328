#!/usr/bin/env bash
# Runbook 9.2: ./scripts/test-rules-staging.sh --rule-file new_rules.yar
#
# The staging gate before a canary: the current rules (the origin's current pack when
# FERRETWATCH_ORIGIN or --from is set, verified with FERRETWATCH_ROOT or --root; otherwise a
# pack of the built-in rules) plus the new YARA rules, against the detection corpus
# (--corpus, default tests/corpus), its known false positives and the labelled URL lists
# (`pack test`'s gates); a known-good page the new rules raise fails too.
# Exit 0 passed, 1 a gate failed (each failure listed), 2 YARA that does not compile (the
# compiler's message) or unusable input. Other flags: `ferretwatch canary test --help`.
set -euo pipefail
# shellcheck source=lib/wrapper.sh
source "$(dirname "$0")/lib/wrapper.sh"
# These commands take no --config: the help, then the command as it is.
wrapper_help "$0" "$@"
exec "${FERRETWATCH_BIN:-ferretwatch}" canary test "$@"
