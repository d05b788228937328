#!/usr/bin/env bash
# The browser extension in Chromium: what it costs the user. Loads the extension into
# Debian's Chromium (installed when missing; headless) and visits every corpus page
# (tests/corpus, served at their own URLs) PASSES times in 3 tabs, one page after another as
# soon as each has its verdict. Measures:
# - detection time per page: the content script's total_ms (from collecting the page to
#   having the verdict: messages, the service worker, the offscreen document, the engine
#   worker, the verdict stored and the badge set), with the engine's own scan_ms beside it;
#   median, p95 and max over all visits (the first pass included) and over passes 2..N;
# - the extension's private memory after the session (the --extension-process renderers,
#   Private_Clean + Private_Dirty), and after a forced GC;
# - the per-tab cost: renderer private memory of 6 probe pages with the extension minus
#   without it (a second Chromium), after a GC in the page;
# - idle CPU of the extension's processes over IDLE seconds with the tabs open.
# Prints a markdown table; writes bench-TIME.json to FERRETWATCH_PROFILE_DIR.
#
#   bench/extension.sh [--passes N] [--idle SECS]
#
#   --passes N    passes over the 160 corpus pages (default 3)
#   --idle SECS   the idle window (default 60)
#
# Targets (docs/benchmarks.md): detection p95 ≤ 50 ms, ≤ 80 MB in all, ≤ 15 MB per tab,
# idle CPU < 1% of a core. The memory growth over 1,000 pages is measured by
# scripts/detect-memory-leaks.sh. Environment as scripts/memory-profile.sh --help
# (FERRETWATCH_EXTENSION, FERRETWATCH_BIN, FERRETWATCH_PROFILE_DIR, FERRETWATCH_TABS,
# WASM_TARGET_DIR). Exit status 0 unless the measurement itself failed (3) or the flags are
# wrong (2): a missed target is reported in the table.
set -euo pipefail
from="$(pwd -P)"
cd "$(dirname "$0")/.."
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
passes=3 idle=60
while [[ $# -gt 0 ]]; do
    case "$1" in
        --passes) passes="${2-}"; shift 2 || { usage >&2; exit 2; } ;;
        --idle) idle="${2-}"; shift 2 || { usage >&2; exit 2; } ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$passes" =~ ^[0-9]+$ && "$passes" -ge 1 ]] || { echo "--passes takes a whole number ≥ 1" >&2; exit 2; }
[[ "$idle" =~ ^[0-9]+$ && "$idle" -ge 5 ]] || { echo "--idle takes a whole number of seconds ≥ 5" >&2; exit 2; }

# shellcheck source=extension/test/profile.sh
source extension/test/profile.sh
profile_run "$from" bench --passes "$passes" --idle "$idle"
