#!/usr/bin/env bash
# Runbook §6.3, CPU profiling of the browser extension. Loads the extension into Debian's
# Chromium (installed when missing; headless) and browses the corpus pages (tests/corpus,
# served at their own URLs) in a few tabs, one page every 1.5 s, for the first half of the
# duration while the V8 sampling profiler (Profiler domain) records the extension's
# offscreen document, its engine worker and its service worker; the profiles are written as
# .cpuprofile files (open them in Chrome DevTools, Performance or JavaScript Profiler).
# Then, with the tabs still open and nothing navigating, the debugger detached and 2 s to
# settle, it measures idle CPU for the rest: utime + stime (/proc/PID/stat) of the renderer
# processes started with --extension-process, as a percent of one core. Prints the busy
# and idle figures and the top functions by self time, and writes cpu-TIME.json.
#
#   ./scripts/cpu-profile.sh --sample-rate 100Hz --duration SECS
#
#   --sample-rate RATE  samples per second: 100Hz (default), 1kHz, or a number of Hz
#                       (the sampling interval is 1e6/RATE µs)
#   --duration SECS     the whole run, at least 10 (required): half browsing, half idle
#   -h, --help          this text
#
# Idle CPU must stay under FERRETWATCH_IDLE_CPU_BUDGET percent of one core (default 1;
# 0 always fails, for testing).
#
# Environment: FERRETWATCH_PROFILE_DIR (reports and profiles; default ./profiles),
# FERRETWATCH_EXTENSION (an unpacked extension; default: built by scripts/build-extension.sh
# with a throwaway root and an unreachable mirror, so it scans with its built-in rules;
# WASM_TARGET_DIR as there), FERRETWATCH_BIN (the ferretwatch binary for that root;
# default: cargo build), FERRETWATCH_TABS (default 3), FERRETWATCH_PAGE_INTERVAL_MS
# (default 1500), FERRETWATCH_IDLE_CPU_BUDGET.
#
# Exit status: 0 idle CPU under the budget, 1 not, 2 bad usage, 3 the measurement failed
# (Chromium or the extension did not answer).
set -euo pipefail
from="$(pwd -P)"
cd "$(dirname "$0")/.."
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
rate="100Hz" duration=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --sample-rate) rate="${2-}"; shift 2 || { usage >&2; exit 2; } ;;
        --duration) duration="${2-}"; shift 2 || { usage >&2; exit 2; } ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$rate" =~ ^[0-9]+(\.[0-9]+)?[[:space:]]*([Kk]?[Hh][Zz])?$ ]] || { echo "--sample-rate $rate: not a rate (e.g. 100Hz, 1kHz)" >&2; exit 2; }
[[ "$duration" =~ ^[0-9]+$ && "$duration" -ge 10 ]] || { echo "--duration takes a whole number of seconds, at least 10 (see --help)" >&2; exit 2; }

# shellcheck source=extension/test/profile.sh
source extension/test/profile.sh
profile_run "$from" cpu --rate "$rate" --duration "$duration"
