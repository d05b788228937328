#!/usr/bin/env bash
# The admin console end to end in Debian's Chromium (installed when missing), headless:
# a real `ferretwatch serve` on loopback (idle timeout one minute), the first admin invited
# with `ferretwatch admin invite`. Checks enrolment (TOTP key read from the page, codes
# computed per RFC 6238), sign-in with password and TOTP, a viewer refused an admin page
# (403), a hostile page's cross-origin and cross-site form posts refused (403, nothing
# created), the idle timeout, the sign-in page by keyboard and its labels, and the
# headers the browser sees (CSP frame-ancestors: a hostile page cannot frame the console).
# One line per check; exits 1 when any failed. Takes about 75 s (the idle timeout).
#
#   ./scripts/console-e2e.sh [--screenshots DIR]    (docs: --screenshots docs/images)
#
# FERRETWATCH_BIN: a ferretwatch binary to use instead of building ferretwatch-cli.
set -euo pipefail
cd "$(dirname "$0")/.."
shots=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --screenshots) shots="${2:?--screenshots needs a directory}"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
echo "== the admin console in Chromium ($(chromium --version 2>/dev/null | head -1))"
# TMPDIR: Chromium's throw-away profile goes under $work too, removed however the test ends.
TMPDIR="$work" node --experimental-websocket --no-warnings tests/console/e2e.mjs "$bin" "$work/e2e" ${shots:+"$shots"}
