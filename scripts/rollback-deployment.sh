#!/usr/bin/env bash
# Runbook 9.1 "Rollback deployment": a deliberate, complete rollback to release V
# (docs/releases.md):
#
#   ./scripts/rollback-deployment.sh --version V --confirm
#
# Without --confirm nothing changes (exit 2). With it: V's release must exist and report
# its version, V's instances are started if they do not run and must answer /ready, nginx
# sends them all the traffic, every other instance is stopped after draining, and V's
# instances are checked once more (/ready). V becomes the stable version; the state's
# history and the deployment log record it. On an environment with no version running yet
# this is how the first stable version is started.
# The environment is FERRETWATCH_ENVIRONMENT (default production).
# Exit 0 when V serves all traffic and is healthy; 1 when it does not; 2 on bad usage.
set -uo pipefail
release_name=rollback-deployment.sh
# shellcheck source=lib/release.sh
source "$(dirname "$0")/lib/release.sh"
version="" confirm=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --version) [[ $# -ge 2 && -n "$2" ]] || release_usage "--version needs a value"; version="$2"; shift 2 ;;
        --confirm) confirm=1; shift ;;
        -h|--help) release_help "$0"; exit 0 ;;
        *) release_usage "unknown argument: $1" ;;
    esac
done
[[ -n "$version" ]] || release_usage "--version is required"
[[ "$version" =~ ^[A-Za-z0-9._+-]+$ ]] || release_usage "--version $version: letters, digits and ._+-"
[[ $confirm -eq 1 ]] || release_usage "a rollback to $version replaces every running instance: add --confirm"
release_load "${FERRETWATCH_ENVIRONMENT:-production}"
check="$(release_check "$version")" || release_fail "$check"
echo "$check"

say "== rollback of $release_env to $version"
from="${state_stable:-nothing}${state_candidate:+ + $state_candidate at ${state_percentage}%}"
reason="deliberate rollback with rollback-deployment.sh"
if ! switch_all "$version" event_action=rollback event_version="$version" event_reason="$reason"; then
    release_log rollback version="$version" from="$from" result=failed reason="$reason" detail="$last_problem"
    release_fail "the rollback to $version failed: $last_problem"
fi
if ! problem="$(set_health "$version" "$state_stable_set")"; then
    release_log rollback version="$version" from="$from" result=unhealthy reason="$reason" detail="$problem"
    release_fail "$version serves all traffic but is unhealthy: $problem"
fi
release_log rollback version="$version" from="$from" result=done reason="$reason"
say "$version is the stable version of $release_env and healthy"
