#!/usr/bin/env bash
# Runbook 9.1 "Pre-deployment checklist" for the environment's candidate release
# (docs/releases.md):
#
#   ./scripts/pre-deployment-check.sh --environment production
#
# One line per check (`ok` or `FAIL`):
#   release   releases_dir/CANDIDATE/ferretwatch exists and `--version` reports CANDIDATE;
#   config    the candidate accepts the settings file (`ferretwatch serve --check-config`,
#             with env_file's variables);
#   database  the environment's database answers (psql) and no migration is recorded as
#             failed in _sqlx_migrations (a query that fails is a failed check);
#   nginx     the load balancer's configuration is valid (nginx_test);
#   stable    every instance of the stable version runs it and answers /ready;
#   disk      at least min_free_disk_mb MB free where the releases and the state live.
# Exit 0 when all pass, 1 when one fails, 2 on bad usage or an unknown environment.
set -uo pipefail
release_name=pre-deployment-check.sh
# shellcheck source=lib/release.sh
source "$(dirname "$0")/lib/release.sh"
release_check_start "$0" "$@"
candidate="$env_candidate"
echo "== pre-deployment checks of $environment for ${candidate:-no candidate}"

if [[ -z "$candidate" ]]; then
    line fail "release: the environment names no candidate"
elif result="$(release_check "$candidate")"; then
    line ok "release: $result"
else
    line fail "release: $result"
fi

bin="$(release_bin "$candidate")"
if [[ -n "$candidate" && -x "$bin" ]] && result="$(
    if [[ -n "$env_env_file" ]]; then set -a; # shellcheck disable=SC1090
        . "$env_env_file" || exit 1; set +a; fi
    "$bin" serve --config "$env_settings" --check-config 2>&1)"; then
    line ok "config: $candidate accepts $env_settings"
else
    line fail "config: $candidate does not accept $env_settings: ${result:-no runnable release}"
fi

if [[ -z "$env_db" ]]; then
    line fail "database: the environment has no db"
elif ! result="$(psql "$env_db" -XAtqc 'SELECT 1' 2>&1)"; then
    line fail "database: not reachable: $(echo "$result" | head -n1)"
else
    if ! failed_migrations="$(psql "$env_db" -XAtqc "SELECT coalesce(string_agg(version::text, ','), '') FROM _sqlx_migrations WHERE NOT success" 2>&1)" \
        || ! applied="$(psql "$env_db" -XAtqc 'SELECT count(*) FROM _sqlx_migrations' 2>&1)"; then
        line fail "database: cannot read _sqlx_migrations: $(echo "${applied:-$failed_migrations}" | head -n1)"
    elif [[ -n "$failed_migrations" ]]; then
        line fail "database: migrations recorded as failed: $failed_migrations"
    else
        line ok "database: answers, $applied migrations applied, none failed"
    fi
fi

if result="$(bash -c "$env_nginx_test" 2>&1)"; then
    line ok "nginx: the configuration is valid"
else
    line fail "nginx: $(echo "$result" | tail -n1)"
fi

if [[ -z "$state_stable" ]]; then
    line fail "stable: no stable version runs"
elif result="$(set_health "$state_stable" "$state_stable_set")"; then
    line ok "stable: $state_stable answers /ready on $(set_ports "$state_stable_set" | wc -w) instance(s)"
else
    line fail "stable: $(echo "$result" | paste -sd ';' -)"
fi

for dir in "$env_releases_dir" "$env_state_dir"; do
    free_mb=$(( $(df -Pk "$dir" 2>/dev/null | awk 'NR == 2 { print $4 }' || echo 0) / 1024 ))
    if [[ $free_mb -ge ${env_min_free_disk_mb%.*} ]]; then
        line ok "disk: $free_mb MB free for $dir (min $env_min_free_disk_mb)"
    else
        line fail "disk: $free_mb MB free for $dir, below $env_min_free_disk_mb MB"
    fi
done
exit $failed
