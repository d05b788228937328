#!/usr/bin/env bash
# Runbook 9.1 "Gradual rollback": lowers the newer release's share of the traffic step by
# step, back to the version before it (docs/releases.md):
#
#   ./scripts/gradual-rollback.sh --from-percentage 100 --to-percentage 0 --duration 600
#
# The newer release is the candidate being rolled out or, when none is, the stable
# version (it was promoted last); the receiving version is then the stable version or the
# one it replaced (`previous` in the state), started again if needed. The newer release's
# share is set to FROM, then lowered in steps of 10 (and the last step to TO), spread
# evenly over DURATION seconds. Before each step the receiving version's instances must
# answer /ready; when they do not, the rollback stops where it is (exit 1). At 0 the newer
# release's instances are stopped and the receiving version is the stable version.
# FROM may not be above the newer release's current share (the candidate's percentage, or
# 100 for a promoted stable version): a rollback never raises it.
# emergency-rollback.sh may end the command with SIGTERM between two steps (exit 143).
# The environment is FERRETWATCH_ENVIRONMENT (default production).
# Exit 0 when TO is reached; 1 when a check failed; 2 on bad usage (FROM below TO, FROM
# above the current share, percentages outside 0..100, nothing to roll back to).
set -uo pipefail
release_name=gradual-rollback.sh
# shellcheck source=lib/release.sh
source "$(dirname "$0")/lib/release.sh"
from="" to="" duration=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --from-percentage) [[ $# -ge 2 ]] || release_usage "--from-percentage needs a value"; from="$2"; shift 2 ;;
        --to-percentage) [[ $# -ge 2 ]] || release_usage "--to-percentage needs a value"; to="$2"; shift 2 ;;
        --duration) [[ $# -ge 2 ]] || release_usage "--duration needs a value"; duration="$2"; shift 2 ;;
        -h|--help) release_help "$0"; exit 0 ;;
        *) release_usage "unknown argument: $1" ;;
    esac
done
for value in "$from" "$to" "$duration"; do
    [[ "$value" =~ ^[0-9]+$ ]] || release_usage "--from-percentage, --to-percentage and --duration are whole numbers, got '$value'"
done
from=$((10#$from)) to=$((10#$to)) duration=$((10#$duration))
[[ $from -le 100 ]] || release_usage "--from-percentage must be 0..100"
[[ $to -le $from ]] || release_usage "--to-percentage ($to) must not be above --from-percentage ($from)"
release_load "${FERRETWATCH_ENVIRONMENT:-production}"
release_on_term "gradual-rollback from=$from to=$to"

if [[ -n "$state_candidate" ]]; then
    newer="$state_candidate" newer_set="$state_candidate_set" older="$state_stable" older_set="$state_stable_set"
else
    [[ -n "$state_stable" && -n "$state_previous" ]] || release_usage "nothing to roll back: no candidate and no previous version"
    newer="$state_stable" newer_set="$state_stable_set" older="$state_previous" older_set="$(other_set "$state_stable_set")"
fi
share=100
[[ -z "$state_candidate" ]] || share="${state_percentage:-0}"
[[ $from -le $share ]] || release_usage "--from-percentage $from is above $newer's current share of ${share}%: a rollback never raises it"

say "== gradual rollback of $release_env: $newer from ${from}% to ${to}% over ${duration}s, back to $older"
problem="$(set_start "$older" "$older_set")" || release_fail "$older cannot take the traffic: $(tail -n1 <<<"$problem")"
[[ -z "$problem" ]] || echo "$problem"
steps=()
p=$from
while :; do
    steps+=("$p")
    [[ $p -le $to ]] && break
    p=$(( (p - 1) / 10 * 10 ))
    [[ $p -lt $to ]] && p=$to
done
# The first entry is FROM itself, set at once; the others are due at even intervals of
# the duration after it (a step that took longer than its interval delays the next one).
begin=$SECONDS
k=0
for p in "${steps[@]}"; do
    if [[ $k -gt 0 ]]; then
        due=$((begin + duration * k / (${#steps[@]} - 1)))
        [[ $SECONDS -lt $due ]] && pause $((due - SECONDS))
    fi
    k=$((k + 1))
    if ! problem="$(set_health "$older" "$older_set")"; then
        release_log gradual-rollback version="$newer" to="$older" percentage="$p" result=stopped reason="$problem"
        release_fail "stopped with $newer at its current share: $older is unhealthy: $problem"
    fi
    problem="$(route "$older_set" "$newer_set" "$p")" || release_fail "$problem"
    echo "$problem"
    release_state stable="$older" stable_set="$older_set" candidate="$newer" candidate_set="$newer_set" \
        percentage="$p" step_started="$(date +%s.%N)" event_action=gradual-rollback event_version="$newer" event_percentage="$p"
    release_log gradual-rollback version="$newer" to="$older" percentage="$p" result=routed
done
if [[ $to -eq 0 ]]; then
    pause "$env_drain_seconds"
    set_stop "$newer_set"
    release_state candidate= candidate_set= percentage=0 previous="$newer" \
        event_action=rolled-back event_version="$newer" event_stable="$older"
    release_log gradual-rollback version="$newer" to="$older" percentage=0 result=done
    say "$older serves all traffic of $release_env; $newer stopped"
fi
