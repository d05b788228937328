#!/usr/bin/env bash
# The browser extension end to end in Debian's Chromium (installed when missing): the
# package built by scripts/build-extension.sh, loaded unpacked into headless Chromium;
# the corpus pages served at their own URLs; a real `ferretwatch serve` on loopback as the
# pack origin and the report service. Checks the badge and the warning on a phishing page,
# a benign login page left green, the popup, a report and a false positive stored by the
# server, the user's allowlist, a new pack picked up, a tampered and a rolled-back pack
# refused while the last good one keeps working, and the server down.
#
#   ./scripts/extension-e2e.sh [--screenshots DIR]
#
# WASM_TARGET_DIR (default target/wasm) keeps the WebAssembly build.
set -euo pipefail
cd "$(dirname "$0")/.."
shots=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --screenshots) shots="$2"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
# shellcheck source=scripts/lib/chromium.sh
source scripts/lib/chromium.sh
chromium_installed
cargo build --quiet -p ferretwatch-cli
bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/debug/ferretwatch"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
[[ -z "$shots" ]] || mkdir -p "$shots"
echo "== the extension in Chromium ($(chromium --version 2>/dev/null | head -1))"
node --experimental-websocket --no-warnings extension/test/e2e.mjs "$bin" "$work/e2e" ${shots:+"$shots"}
