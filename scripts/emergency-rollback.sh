#!/usr/bin/env bash
# Runbook 9.1 "Emergency rollback": every request to release V at once (docs/releases.md):
#
#   ./scripts/emergency-rollback.sh --to-version v2.0.8 --reason "Critical bug in detection engine"
#
# V's instances are started if they do not run (in the set the current stable version
# does not use) and must be live (/health: it must work while the database is down;
# /ready is then reported, as a warning when it fails); nginx then sends them all the
# traffic and every other instance is stopped. No observation window, no gradual steps.
# V becomes the stable version; the reason goes to the state's history and the
# deployment log. A deploy.sh or gradual-rollback.sh holding the environment's lock is
# pre-empted (SIGTERM, then the lock is awaited), and the log records it.
# The environment is FERRETWATCH_ENVIRONMENT (default production).
# Exit 0 when all traffic is on V; 1 when V's instances did not come up or nginx refused
# the configuration (traffic left as it was); 2 on bad usage (no --reason, unknown
# environment).
set -uo pipefail
release_name=emergency-rollback.sh
# shellcheck source=lib/release.sh
source "$(dirname "$0")/lib/release.sh"
version="" reason=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --to-version) [[ $# -ge 2 && -n "$2" ]] || release_usage "--to-version needs a value"; version="$2"; shift 2 ;;
        --reason) [[ $# -ge 2 && -n "$2" ]] || release_usage "--reason needs a value"; reason="$2"; shift 2 ;;
        -h|--help) release_help "$0"; exit 0 ;;
        *) release_usage "unknown argument: $1" ;;
    esac
done
[[ -n "$version" ]] || release_usage "--to-version is required"
[[ -n "$reason" ]] || release_usage "--reason is required"
[[ "$version" =~ ^[A-Za-z0-9._+-]+$ ]] || release_usage "--to-version $version: letters, digits and ._+-"
release_preempt=1
release_load "${FERRETWATCH_ENVIRONMENT:-production}"
[[ -x "$(release_bin "$version")" ]] || release_usage "no release $version ($(release_bin "$version") is missing)"

say "== emergency rollback of $release_env to $version: $reason"
from="$state_stable${state_candidate:+ + $state_candidate at ${state_percentage}%}"
start_probe=live
if ! switch_all "$version" event_action=emergency-rollback event_version="$version" event_reason="$reason"; then
    release_log emergency-rollback version="$version" from="$from" result=failed reason="$reason" detail="$last_problem"
    release_fail "the emergency rollback to $version failed: $last_problem"
fi
release_log emergency-rollback version="$version" from="$from" result=done reason="$reason"
say "all traffic of $release_env on $version"
if ! problem="$(set_health "$version" "$state_stable_set")"; then
    say "WARNING: $version serves all traffic but is not ready: $(paste -sd ';' - <<<"$problem")"
fi
