#!/usr/bin/env bash
# Runbook 5.1 "Review error logs for patterns": the service's WARN and ERROR lines of the
# previous UTC day, grouped into patterns (level, target, and the message with numbers,
# UUIDs, hex, IP addresses and quoted values taken out), each with its count, first and
# last time and one example (anything like a token or secret redacted), set against the
# day before: NEW patterns and those that grew 2x or more are marked. Panics and lines
# that are not JSON are listed as such.
#
#   ./scripts/analyze-error-logs.sh --yesterday
#
# Log source: FERRETWATCH_LOG_FILES (files or globs, separated by spaces; .gz read too),
# else `journalctl -u 'ferretwatch@*'`. FERRETWATCH_LOG_SINCE and FERRETWATCH_LOG_UNTIL
# (RFC 3339, no zone is UTC) replace yesterday with another window, compared with the
# window of the same length before it. FERRETWATCH_ERROR_THRESHOLD: ERROR lines tolerated
# in the window (default 50). FERRETWATCH_BIN: the binary (default ferretwatch).
# Exit 1 on any panic, any new ERROR pattern, or more ERROR lines than the threshold;
# 0 otherwise; 2 on bad usage or without a log source.
set -uo pipefail
case "${1:-}" in
    --yesterday|"") ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
[[ $# -le 1 ]] || { echo "at most one argument: --yesterday (see --help)" >&2; exit 2; }
exec "${FERRETWATCH_BIN:-ferretwatch}" logs analyze --yesterday
