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
for a in "$@"; do
    case "$a" in
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    esac
done
exec "${FERRETWATCH_BIN:-ferretwatch}" canary test "$@"
