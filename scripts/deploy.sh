#!/usr/bin/env bash
# Runbook 9.1 "Deployment procedures": one step of a staged rollout of the environment's
# candidate release (docs/releases.md):
#
#   ./scripts/deploy.sh --environment production --rollout-percentage 10   # then 50, then 100
#
# Before the step: the stable version's instances must answer /ready (otherwise the step
# is refused, exit 1, routing unchanged) and, when the candidate already takes traffic,
# the candidate is judged (healthy, at least min_requests requests, 5xx rate and p95
# latency in the load balancer's access log since the last step within the environment's
# bounds). Then
# the candidate's instances are started if they do not run (and must answer /ready), nginx
# gives them N% of the traffic (`nginx -t` before the reload), and after observe_seconds
# the candidate is judged again. At 100 the old version's instances are stopped once the
# candidate passed, and the candidate becomes the stable version.
# When a check of the candidate fails (too little traffic to judge included) the
# deployment stops by itself and rolls back: all traffic to the stable version, the
# candidate's instances stopped, the reason in the deployment log. When nginx refuses that
# rollback's configuration, the candidate's instances are left running and the command
# exits 1 with "ROLLBACK FAILED". Any increase is allowed, 0 -> 100 included; a step that
# skips the runbook's 10 and 50 is announced as such. emergency-rollback.sh may end the
# command with SIGTERM between two of its steps (exit 143).
# Exit 0 when the step passed; 1 when it failed (and was rolled back, or the rollback
# failed), or the stable version is unhealthy; 2 on bad usage: a percentage outside
# 1..100 or below the current one, no stable version, an unknown environment.
set -uo pipefail
release_name=deploy.sh
# shellcheck source=lib/release.sh
source "$(dirname "$0")/lib/release.sh"
environment="" percent=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --environment) [[ $# -ge 2 ]] || release_usage "--environment needs a value"; environment="$2"; shift 2 ;;
        --rollout-percentage) [[ $# -ge 2 ]] || release_usage "--rollout-percentage needs a value"; percent="$2"; shift 2 ;;
        -h|--help) release_help "$0"; exit 0 ;;
        *) release_usage "unknown argument: $1" ;;
    esac
done
[[ -n "$environment" ]] || release_usage "--environment is required"
if ! [[ "$percent" =~ ^[0-9]+$ ]] || [[ $((10#$percent)) -lt 1 || $((10#$percent)) -gt 100 ]]; then
    release_usage "--rollout-percentage must be a whole number from 1 to 100, got '$percent'"
fi
percent=$((10#$percent))
release_load "$environment"
release_on_term "deploy version=${env_candidate:-none} percentage=$percent"

candidate="$env_candidate"
[[ -n "$candidate" ]] || release_usage "the environment names no candidate (candidate = \"vX.Y.Z\")"
[[ -n "$state_stable" ]] || release_usage "no stable version runs yet; start one with rollback-deployment.sh --version V --confirm"
[[ "$candidate" != "$state_stable" ]] || release_usage "$candidate is already the stable version"
if [[ -n "$state_candidate" && "$state_candidate" != "$candidate" ]]; then
    release_usage "$state_candidate is being rolled out (at ${state_percentage}%); finish or roll it back first"
fi
current="${state_percentage:-0}"
[[ -n "$state_candidate" ]] || current=0
[[ $percent -ge $current ]] || release_usage "the candidate has ${current}% already; deploy.sh only increases it (use gradual-rollback.sh to lower it)"
stable_set="$state_stable_set"
candidate_set="$(other_set "$stable_set")"

# rollback REASON: all traffic to the stable version, the candidate stopped; exit 1. When
# nginx refuses the configuration or the reload, the candidate keeps its instances (it
# may still have traffic) and the failure is recorded and shouted.
rollback() {
    local reason="$1"
    say "FAIL: $reason; rolling back to $state_stable"
    if ! route "$stable_set" "$candidate_set" 0; then
        release_state event_action=automatic-rollback event_version="$candidate" event_percentage="$percent" \
            event_reason="$reason" event_result="rollback failed: $last_problem"
        release_log automatic-rollback version="$candidate" stable="$state_stable" percentage="$percent" result=failed \
            reason="$reason" detail="$last_problem"
        release_fail "ROLLBACK FAILED: $last_problem; $candidate still runs and may take traffic (it failed: $reason). Fix nginx and run emergency-rollback.sh"
    fi
    pause "$env_drain_seconds"
    set_stop "$candidate_set"
    release_state candidate= candidate_set= percentage=0 event_action=automatic-rollback \
        event_version="$candidate" event_percentage="$percent" event_reason="$reason"
    release_log automatic-rollback version="$candidate" stable="$state_stable" percentage="$percent" result=rolled-back reason="$reason"
    release_fail "$candidate stopped at ${percent}% and rolled back to $state_stable: $reason"
}

say "== deploying $candidate to ${percent}% of $environment (stable $state_stable, candidate at ${current}%)"
if ! problem="$(set_health "$state_stable" "$stable_set")"; then
    problem="$(paste -sd ';' - <<<"$problem")"
    release_log deploy version="$candidate" stable="$state_stable" percentage="$percent" result=refused \
        reason="stable $state_stable unhealthy: $problem"
    release_fail "step refused, routing unchanged: the stable version $state_stable is unhealthy: $problem"
fi
if [[ $current -lt 10 && $percent -gt 10 ]] || [[ $current -lt 50 && $percent -gt 50 ]]; then
    say "note: ${current}% -> ${percent}% skips the runbook's stages (10, 50, 100)"
fi
if [[ $current -gt 0 ]]; then
    verdict="$(set_judge "$candidate" "$candidate_set" "${state_step_started:-0}")" || rollback "before the step to ${percent}%: $verdict"
    say "before the step: $candidate $verdict"
fi
check="$(release_check "$candidate")" || release_fail "$check"
started_output="$(set_start "$candidate" "$candidate_set")" || rollback "$(tail -n1 <<<"$started_output")"
[[ -z "$started_output" ]] || echo "$started_output"
started="$(date +%s.%N)"
problem="$(route "$stable_set" "$candidate_set" "$percent")" || rollback "$problem"
echo "$problem"
release_state candidate="$candidate" candidate_set="$candidate_set" percentage="$percent" step_started="$started" \
    event_action=deploy event_version="$candidate" event_percentage="$percent"
release_log deploy version="$candidate" stable="$state_stable" percentage="$percent" result=routed

say "observing for ${env_observe_seconds}s"
deadline=$(( $(date +%s) + ${env_observe_seconds%.*} ))
while [[ $(date +%s) -lt $deadline ]]; do
    problem="$(set_health "$candidate" "$candidate_set")" || rollback "during observation at ${percent}%: unhealthy: $problem"
    pause 1
done
verdict="$(set_judge "$candidate" "$candidate_set" "$started")" || rollback "after observation at ${percent}%: $verdict"
say "after the step: $candidate $verdict"
release_log check version="$candidate" percentage="$percent" result=passed detail="$verdict"

if [[ $percent -eq 100 ]]; then
    old="$state_stable"
    set_stop "$stable_set"
    release_state stable="$candidate" stable_set="$candidate_set" candidate= candidate_set= percentage=0 previous="$old" \
        event_action=promote event_version="$candidate" event_previous="$old"
    release_log promote version="$candidate" previous="$old" result=stable
    say "$candidate is the stable version of $environment; $old stopped"
fi
exit 0
