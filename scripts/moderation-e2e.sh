#!/usr/bin/env bash
# Moderation end to end in Debian's Chromium (installed when missing), headless: a real
# `ferretwatch serve` on loopback (the development pack, tests/corpus as the test corpus,
# reproductions allowed to loopback) and a loopback phishing page. A report sent through
# the API is verified by a Reviewer in the console, reproduced (chain, screenshot, DOM
# hash, the reporter's pack version) and proposed as "block this URL"; two Publishers sign
# the request offline (`pack sign-request`, development keys) and the server deploys it;
# `ferretwatch scan --pack` then finds the page red. Wrong roles, a second signature by
# the same Publisher and another Publisher's key are refused. Accounts invited with
# `ferretwatch admin invite`. One line per check; exits 1 when any failed. About 15 s.
#
#   ./scripts/moderation-e2e.sh [--screenshots DIR]    (docs: --screenshots docs/images)
#
# FERRETWATCH_BIN: a ferretwatch binary to use instead of building ferretwatch-cli.
set -euo pipefail
cd "$(dirname "$0")/.."
shots=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --screenshots) shots="${2:?--screenshots needs a directory}"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
# shellcheck source=scripts/lib/chromium.sh
source scripts/lib/chromium.sh
chromium_installed
if [[ -n "${FERRETWATCH_BIN:-}" ]]; then
    bin="$FERRETWATCH_BIN"
else
    cargo build --quiet -p ferretwatch-cli
    bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/debug/ferretwatch"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "== moderation in the console, in Chromium ($(chromium --version 2>/dev/null | head -1))"
# TMPDIR: Chromium's throw-away profile goes under $work too, removed however the test ends.
TMPDIR="$work" node --experimental-websocket --no-warnings tests/console/moderation.mjs "$bin" "$work/e2e" ${shots:+"$shots"}
