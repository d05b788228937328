#!/usr/bin/env bash
# Runbook §6.3, memory profiling of the browser extension. Loads the extension into Debian's
# Chromium (installed when missing; headless), browses the corpus pages (tests/corpus, served
# at their own URLs) in a few tabs, one page every 1.5 s, for the duration, and samples the
# extension's memory; then measures what a tab costs against a Chromium without the
# extension. Prints a table and writes memory-TIME.json to FERRETWATCH_PROFILE_DIR.
#
#   ./scripts/memory-profile.sh --browser chrome --duration SECS
#
#   --browser chrome   the browser; only chrome (Debian's Chromium) is supported (default)
#   --duration SECS    how long to browse, at least 5 (required)
#   -h, --help         this text
#
# Extension total: private memory (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup)
# of the renderer processes started with --extension-process, which host the service
# worker, the offscreen document and its engine worker (the trace's process names must
# agree). The peak of the samples must be within FERRETWATCH_MEMORY_BUDGET_MB (default 80).
# Per tab: for 6 probe pages on distinct hosts, the private memory of the renderer hosting
# the page with the extension minus the same page's without it, each after a GC in the
# page. The largest must be within FERRETWATCH_TAB_BUDGET_MB (default 15).
#
# Environment: FERRETWATCH_PROFILE_DIR (reports; default ./profiles), FERRETWATCH_EXTENSION
# (an unpacked extension; default: built by scripts/build-extension.sh with a throwaway root
# and an unreachable mirror, so it scans with its built-in rules; WASM_TARGET_DIR as
# there), FERRETWATCH_BIN (the ferretwatch binary for that root; default: cargo build),
# FERRETWATCH_TABS (default 3), FERRETWATCH_PAGE_INTERVAL_MS (default 1500),
# FERRETWATCH_MEMORY_BUDGET_MB, FERRETWATCH_TAB_BUDGET_MB.
#
# Exit status: 0 within the budgets, 1 a budget exceeded, 2 bad usage, 3 the measurement
# failed (Chromium or the extension did not answer).
set -euo pipefail
from="$(pwd -P)"
cd "$(dirname "$0")/.."
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
browser="chrome" duration=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --browser) browser="${2-}"; shift 2 || { usage >&2; exit 2; } ;;
        --duration) duration="${2-}"; shift 2 || { usage >&2; exit 2; } ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$browser" == chrome ]] || { echo "--browser $browser: only chrome (Chromium) is supported" >&2; exit 2; }
[[ "$duration" =~ ^[0-9]+$ && "$duration" -ge 5 ]] || { echo "--duration takes a whole number of seconds, at least 5 (see --help)" >&2; exit 2; }

# shellcheck source=extension/test/profile.sh
source extension/test/profile.sh
profile_run "$from" memory --duration "$duration"
