#!/usr/bin/env bash
# Runbook 5.1 (daily, and 4–8 times a day by timer): refresh URLhaus, PhishTank and Feodo
# Tracker into intel/ (ETag / If-Modified-Since aware), then, when this host holds the
# automated intel key, publish the fresh filters as the delegated intel role: signed by
# that key and the online key, no publisher signature needed.
#
#   ./scripts/update-intel-feeds.sh [intel update flags...]
#
# Publishing runs when FERRETWATCH_INTEL_KEY (the intel role's private key),
# FERRETWATCH_ONLINE_KEY (the online snapshot/timestamp key) and FERRETWATCH_ORIGIN are
# set; FERRETWATCH_ROOT names the root of trust (default root.json). Without them the
# feeds are refreshed and the script says that nothing was published.
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
bin="${FERRETWATCH_BIN:-ferretwatch}"
"$bin" intel update "$@"
if [[ -n "${FERRETWATCH_INTEL_KEY:-}" && -n "${FERRETWATCH_ONLINE_KEY:-}" && -n "${FERRETWATCH_ORIGIN:-}" ]]; then
    feeds=intel
    args=("$@")
    for ((i = 0; i < ${#args[@]}; i++)); do
        [[ "${args[i]}" == "--out" ]] && feeds="${args[i + 1]}"
    done
    "$bin" intel publish --feeds "$feeds"
else
    echo "update-intel-feeds: feeds refreshed; not published (set FERRETWATCH_INTEL_KEY, FERRETWATCH_ONLINE_KEY and FERRETWATCH_ORIGIN to publish)" >&2
fi
