#!/usr/bin/env bash
# Runbook 9.1 "Post-deployment verification" of the environment's stable version
# (docs/releases.md):
#
#   ./scripts/post-deployment-check.sh --environment production
#
# One line per check (`ok` or `FAIL`):
#   instances  every instance of the stable version runs it and answers /ready;
#   version    the stable release's binary reports the stable version (`--version`);
#   errors     in the load balancer's access log of the last post_check_window_seconds,
#              the stable instances answered at least min_requests requests (fewer is
#              too little traffic to judge: a failure), their 5xx rate is at most
#              error_rate_threshold and their p95 latency at most latency_p95_ms; an
#              access log that cannot be read is a failure;
#   candidate  (only while a rollout is in progress) the same for the candidate;
#   smoke      scripts/smoke-test-user-flows.sh --critical-paths through nginx
#              (public_url, with the root of trust root).
# Exit 0 when all pass, 1 when one fails, 2 on bad usage or an unknown environment.
set -uo pipefail
release_name=post-deployment-check.sh
# shellcheck source=lib/release.sh
source "$(dirname "$0")/lib/release.sh"
release_check_start "$0" "$@"
[[ -n "$state_stable" ]] || { line fail "instances: no stable version runs in $environment"; exit 1; }
echo "== post-deployment checks of $environment: stable $state_stable"

if result="$(set_health "$state_stable" "$state_stable_set")"; then
    line ok "instances: $state_stable answers /ready on $(set_ports "$state_stable_set" | wc -w) instance(s)"
else
    line fail "instances: $(echo "$result" | paste -sd ';' -)"
fi
if result="$(release_check "$state_stable")"; then line ok "version: $result"; else line fail "version: $result"; fi

since="$(awk -v now="$(date +%s)" -v window="$env_post_check_window_seconds" 'BEGIN { print now - window }')"
if result="$(set_traffic "$state_stable_set" "$since")"; then
    line ok "errors: $state_stable: $result in the last ${env_post_check_window_seconds}s"
else
    line fail "errors: $state_stable: $result in the last ${env_post_check_window_seconds}s"
fi
if [[ -n "$state_candidate" ]]; then
    if result="$(set_judge "$state_candidate" "$state_candidate_set" "$since")"; then
        line ok "candidate: $state_candidate at ${state_percentage}%: $result"
    else
        line fail "candidate: $state_candidate at ${state_percentage}%: $result"
    fi
fi

if result="$(FERRETWATCH_URL="$env_public_url" FERRETWATCH_ROOT="$env_root" FERRETWATCH_BIN="$(release_bin "$state_stable")" \
    "$(dirname "$0")/smoke-test-user-flows.sh" --critical-paths 2>&1)"; then
    line ok "smoke: the critical user flows pass through $env_public_url"
else
    line fail "smoke: $(echo "$result" | grep '^FAIL' | paste -sd ';' -)"
fi
exit $failed
