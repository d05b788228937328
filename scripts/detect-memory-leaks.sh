#!/usr/bin/env bash
# Runbook §6.3, memory leak detection in the browser extension. Loads the extension into
# Debian's Chromium (installed when missing; headless) and visits FERRETWATCH_LEAK_PAGES
# corpus pages (default 1000; tests/corpus, served at their own URLs, cycling) in a few
# tabs, one after another as soon as each has its verdict. After a warm-up (the first 10%
# of the pages) and again at the end it forces garbage collection (HeapProfiler) in the
# extension's service worker, offscreen document and engine worker, then reads the
# extension's private memory (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup of
# the renderer processes started with --extension-process). Growth above the threshold
# fails. Prints the figures and writes leaks-TIME.json to FERRETWATCH_PROFILE_DIR.
#
#   ./scripts/detect-memory-leaks.sh --threshold 50MB
#
#   --threshold SIZE   the growth allowed from the warm-up to the end: 50MB (default),
#                      512KB, 1GB, 1.5MiB, or bytes (KB, MB, GB are powers of 1024)
#   -h, --help         this text
#
# Environment: FERRETWATCH_LEAK_PAGES (default 1000, at least 10), FERRETWATCH_PROFILE_DIR
# (reports; default ./profiles), FERRETWATCH_EXTENSION (an unpacked extension; default:
# built by scripts/build-extension.sh with a throwaway root and an unreachable mirror, so it
# scans with its built-in rules; WASM_TARGET_DIR as there), FERRETWATCH_BIN (the ferretwatch
# binary for that root; default: cargo build), FERRETWATCH_TABS (default 3),
# FERRETWATCH_PAGE_INTERVAL_MS (at most one page per this many ms; default 0),
# FERRETWATCH_INJECT_LEAK_KB (for testing this check: keeps that many KB per page alive in
# the offscreen document after the warm-up; default 0).
#
# Exit status: 0 growth within the threshold, 1 above it, 2 bad usage, 3 the measurement
# failed (Chromium or the extension did not answer).
set -euo pipefail
from="$(pwd -P)"
cd "$(dirname "$0")/.."
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
threshold="50MB"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --threshold) threshold="${2-}"; shift 2 || { usage >&2; exit 2; } ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$threshold" =~ ^[0-9]+(\.[0-9]+)?[[:space:]]*([KkMmGg][Ii]?[Bb]?|[Bb])?$ ]] \
    || { echo "--threshold $threshold: not a size (e.g. 50MB, 512KB, 1GB)" >&2; exit 2; }

# shellcheck source=extension/test/profile.sh
source extension/test/profile.sh
profile_run "$from" leaks --threshold "$threshold"
