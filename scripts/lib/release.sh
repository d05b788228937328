# shellcheck shell=bash
# Sourced by the staged-rollout wrappers of runbook 9.1 (scripts/deploy.sh,
# pre-deployment-check.sh, post-deployment-check.sh, emergency-rollback.sh,
# gradual-rollback.sh, rollback-deployment.sh; docs/releases.md).
#
# Two sets of instance slots, blue and green, each a list of ports: the stable version
# runs in one set, a candidate in the other, and nginx's `upstream ferretwatch` gives each
# set its share of the traffic by weight. The data side (environment file, state file,
# deployment log, upstream block, access-log statistics) is scripts/lib/release.py.

# What release_load sets (by eval of release.py's output), for the wrappers.
# shellcheck disable=SC2034
declare env_db env_releases_dir env_candidate env_state_dir env_settings env_env_file env_process_manager \
    env_slots_dir env_blue_ports env_green_ports env_nginx_conf env_nginx_test env_nginx_reload env_access_log \
    env_public_url env_root env_error_rate_threshold env_latency_p95_ms env_observe_seconds \
    env_ready_timeout_seconds env_stop_timeout_seconds env_drain_seconds env_post_check_window_seconds \
    env_min_free_disk_mb env_min_requests state_stable state_stable_set state_candidate state_candidate_set state_percentage \
    state_previous state_step_started release_env release_name last_problem

release_py="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/release.py"

# release_help SCRIPT: prints SCRIPT's leading comment (its usage).
release_help() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$1"; }

# release_usage MESSAGE: bad usage, exit 2.
release_usage() { echo "${release_name:-release}: $1 (see --help)" >&2; exit 2; }

# release_fail MESSAGE: a failed step or check, exit 1.
release_fail() { echo "${release_name:-release}: $1" >&2; exit 1; }

say() { echo "$(date -u +%H:%M:%S) $*"; }

# release_check_start SCRIPT ARGS...: a check script's command line (--environment ENV,
# required; --help prints SCRIPT's header), then its environment loaded into `environment`
# and the env_*/state_* variables. `line ok|fail TEXT` reports one check; `failed` is 1
# once one failed.
release_check_start() {
    local script="$1"
    shift
    environment=""
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --environment) [[ $# -ge 2 ]] || release_usage "--environment needs a value"; environment="$2"; shift 2 ;;
            -h|--help) release_help "$script"; exit 0 ;;
            *) release_usage "unknown argument: $1" ;;
        esac
    done
    [[ -n "$environment" ]] || release_usage "--environment is required"
    release_load "$environment"
    failed=0
}
line() { if [[ "$1" == ok ]]; then echo "ok   $2"; else echo "FAIL $2"; failed=1; fi; }

# release_load ENV: reads deploy/environments/ENV.toml (or $FERRETWATCH_ENVIRONMENTS/ENV.toml)
# into env_* variables and the state into state_*, and takes the environment's lock.
release_load() {
    local name="$1" envs file assignments
    [[ "$name" =~ ^[A-Za-z0-9_-]+$ ]] || release_usage "--environment $name: letters, digits, - and _"
    envs="${FERRETWATCH_ENVIRONMENTS:-$(dirname "${BASH_SOURCE[0]}")/../../deploy/environments}"
    file="$envs/$name.toml"
    [[ -f "$file" ]] || release_usage "no environment $name ($file does not exist)"
    assignments="$(python3 "$release_py" env "$file")" || exit 2
    eval "$assignments"
    local key
    for key in releases_dir state_dir settings blue_ports green_ports nginx_conf access_log; do
        local var="env_$key"
        [[ -n "${!var}" ]] || release_usage "$file has no $key"
    done
    release_env="$name"
    mkdir -p "$env_state_dir/run" || release_fail "cannot create $env_state_dir"
    release_lock
    release_reload_state
}

# release_lock: takes the environment's lock (state_dir/lock, flock on fd 9) and writes
# "PID SCRIPT" of the holder into it; exit 1 when another command holds it. With
# release_preempt=1 (emergency-rollback.sh), a deploy.sh or gradual-rollback.sh holding it
# is sent SIGTERM (its trap exits at once, changing nothing more) and the lock is awaited
# for stop_timeout_seconds + 20 s.
release_lock() {
    local lock="$env_state_dir/lock" holder pid="" script=""
    # Opened without truncating: the holder's PID stays readable.
    exec 9<>"$lock"
    if ! flock -n 9; then
        read -r pid script <"$lock" 2>/dev/null || true
        holder="${script:-an unknown command}${pid:+ (pid $pid)}"
        if [[ "${release_preempt:-0}" != 1 || ! "$script" =~ ^(deploy|gradual-rollback)\.sh$ || ! "$pid" =~ ^[0-9]+$ ]] \
            || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$script"; then
            release_fail "another deployment command is running on $release_env: $holder ($lock)"
        fi
        say "pre-empting $holder: SIGTERM, then waiting for the lock"
        kill -TERM "$pid" 2>/dev/null
        flock -w $((${env_stop_timeout_seconds%.*} + 20)) 9 \
            || release_fail "$holder still holds $lock after SIGTERM and $((${env_stop_timeout_seconds%.*} + 20))s"
        release_log preempt holder="$script" pid="$pid" by="$release_name"
    fi
    echo "$$ $release_name" >"$lock"
}

# release_on_term ACTION: SIGTERM (emergency-rollback.sh pre-empting) ends the command
# between two of its steps, logged as ACTION with result=pre-empted; the lock goes with
# the process.
release_on_term() {
    # shellcheck disable=SC2064 # ACTION now
    trap "say 'SIGTERM: stopping here, another command takes over'; release_log $1 result=pre-empted; exit 143" TERM
}

# pause SECONDS: sleeps, interruptible by the SIGTERM trap (the sleep does not hold the lock).
pause() { sleep "$1" 9>&- & wait $!; }

# release_reload_state: reads the state file into state_* variables.
release_reload_state() {
    local assignments
    assignments="$(python3 "$release_py" state "$env_state_dir")" || exit 2
    eval "$assignments"
}

# release_state KEY=VALUE…: merges into the state file (atomically) and rereads it. With
# event_action=… (and other event_* pairs), also appends that event to its history.
release_state() { python3 "$release_py" state-write "$env_state_dir" "$@" || exit 1; release_reload_state; }

# release_log ACTION KEY=VALUE…: one JSON line in the deployment log.
release_log() {
    python3 "$release_py" log "$env_state_dir" "$1" environment="$release_env" user="${SUDO_USER:-${USER:-$(id -un)}}" "${@:2}"
}

# The ports (and metrics ports) of a set; the other set.
set_ports() { local var="env_$1_ports"; echo "${!var}"; }
set_metrics_port() {
    local var="env_$1_metrics_ports" i=0 port
    # shellcheck disable=SC2206 # space-separated numbers
    local metrics=(${!var})
    for port in $(set_ports "$1"); do
        [[ "$port" == "$2" ]] && { echo "${metrics[$i]:-}"; return; }
        i=$((i + 1))
    done
}
other_set() { if [[ "$1" == blue ]]; then echo green; else echo blue; fi; }

# release_bin VERSION: the release's binary.
release_bin() { echo "$env_releases_dir/$1/ferretwatch"; }

# release_check VERSION: the release exists and its binary reports VERSION (without a
# leading v): `ferretwatch --version` prints "ferretwatch 2.0.9" for v2.0.9.
release_check() {
    local bin reported
    bin="$(release_bin "$1")"
    [[ "$1" =~ ^[A-Za-z0-9._+-]+$ ]] || { echo "release name $1: letters, digits and ._+-"; return 1; }
    [[ -x "$bin" ]] || { echo "no executable $bin"; return 1; }
    reported="$("$bin" --version 2>&1)" || { echo "$bin --version failed: $reported"; return 1; }
    reported="${reported##* }"
    [[ "$reported" == "${1#v}" ]] || { echo "$bin reports version $reported, expected ${1#v}"; return 1; }
    echo "$bin reports $reported"
}

# inst_pid PORT: the pid of the local instance on PORT, if it runs (not a zombie).
inst_pid() {
    local pid
    pid="$(cat "$env_state_dir/run/$1.pid" 2>/dev/null)" || return 1
    [[ -n "$pid" ]] && [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" =~ ^[^Z] ]] && echo "$pid"
}

# inst_running PORT: whether an instance runs on the slot PORT.
inst_running() {
    if [[ "$env_process_manager" == systemd ]]; then
        systemctl is-active --quiet "ferretwatch-slot@$1.service"
    else
        inst_pid "$1" >/dev/null
    fi
}

# inst_version PORT: the release the slot runs (empty when it does not run).
inst_version() {
    inst_running "$1" || return 0
    if [[ "$env_process_manager" == systemd ]]; then
        basename "$(readlink "$env_slots_dir/$1")"
    else
        local pid cmdline
        pid="$(inst_pid "$1")"
        # The process must still be the instance started for the slot (not a reused pid).
        cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
        [[ "$cmdline" == *" serve "*"--listen 127.0.0.1:$1 "* ]] && cat "$env_state_dir/run/$1.version" 2>/dev/null
    fi
}

# inst_start VERSION PORT: starts the release on the slot PORT (without waiting).
inst_start() {
    local version="$1" port="$2" bin metrics
    bin="$(release_bin "$version")"
    if [[ "$env_process_manager" == systemd ]]; then
        mkdir -p "$env_slots_dir" && ln -sfn "$env_releases_dir/$version" "$env_slots_dir/$port.new" && mv -T "$env_slots_dir/$port.new" "$env_slots_dir/$port" \
            && systemctl restart "ferretwatch-slot@$port.service"
        return
    fi
    metrics="$(set_metrics_port blue "$port")"
    [[ -n "$metrics" ]] || metrics="$(set_metrics_port green "$port")"
    [[ -n "$metrics" ]] || release_fail "no metrics port for slot $port (blue_metrics_ports, green_metrics_ports)"
    mkdir -p "$env_state_dir/run/$port"
    echo "$version" >"$env_state_dir/run/$port.version"
    (
        cd "$env_state_dir/run/$port" || exit 1
        if [[ -n "$env_env_file" ]]; then set -a; # shellcheck disable=SC1090
            . "$env_env_file"; set +a; fi
        export FERRETWATCH_METRICS_LISTEN="127.0.0.1:$metrics"
        exec setsid "$bin" serve --config "$env_settings" --listen "127.0.0.1:$port"
    ) >>"$env_state_dir/run/$port/log" 2>&1 </dev/null 9>&- &
    echo "$!" >"$env_state_dir/run/$port.pid"
}

# inst_stop PORT: SIGTERM (in-flight requests finish), SIGKILL after stop_timeout_seconds.
inst_stop() {
    local port="$1" pid
    if [[ "$env_process_manager" == systemd ]]; then
        systemctl stop "ferretwatch-slot@$port.service"
        return
    fi
    pid="$(inst_pid "$port")" || { rm -f "$env_state_dir/run/$port.pid" "$env_state_dir/run/$port.version"; return 0; }
    kill -TERM "$pid" 2>/dev/null
    local waited=0
    while inst_pid "$port" >/dev/null && [[ $waited -lt $((env_stop_timeout_seconds * 10)) ]]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    inst_pid "$port" >/dev/null && kill -KILL "$pid" 2>/dev/null
    rm -f "$env_state_dir/run/$port.pid" "$env_state_dir/run/$port.version"
}

# inst_ready PORT: /ready answers 200 (the instance, its database and its pack).
inst_ready() { curl -sf --max-time 3 -o /dev/null "http://127.0.0.1:$1/ready"; }

# inst_live PORT: /health answers 200 (the process serves HTTP).
inst_live() { curl -sf --max-time 3 -o /dev/null "http://127.0.0.1:$1/health"; }

# What set_start waits for: ready (/ready), or live (/health) for emergency-rollback.sh,
# which must work while the database is down.
start_probe=ready

# set_start VERSION SET: runs VERSION on every slot of SET (restarting a slot that runs
# another release) and waits until each answers /ready (/health with start_probe=live);
# 1 when one does not in time, the reason in last_problem. The
# first slot started must be ready before the others start: it applies the migrations
# (and, with dev_bootstrap, deploys the development pack) on its own.
set_start() {
    local version="$1" set="$2" port deadline first=1
    deadline=$((SECONDS + ${env_ready_timeout_seconds%.*}))
    for port in $(set_ports "$set"); do
        [[ "$(inst_version "$port")" == "$version" ]] && continue
        inst_running "$port" && inst_stop "$port"
        say "starting $version on $port"
        inst_start "$version" "$port"
        if [[ $first -eq 1 ]]; then
            first=0
            wait_ready "$version" "$port" "$deadline" || return 1
        fi
    done
    for port in $(set_ports "$set"); do wait_ready "$version" "$port" "$deadline" || return 1; done
}

# wait_ready VERSION PORT DEADLINE: until PORT answers the start_probe, or SECONDS reaches
# DEADLINE.
wait_ready() {
    until "inst_$start_probe" "$2"; do
        if [[ $SECONDS -ge $3 ]]; then
            last_problem="$1 on $2 is not $start_probe after ${env_ready_timeout_seconds}s"
            echo "$last_problem"
            return 1
        fi
        sleep 0.2
    done
}

# set_stop SET: stops every slot of SET.
set_stop() {
    local port
    for port in $(set_ports "$1"); do
        if inst_running "$port"; then say "stopping $(inst_version "$port") on $port"; inst_stop "$port"; fi
    done
}

# set_health VERSION SET: every slot of SET runs VERSION and answers /ready; prints what is
# wrong and returns 1 otherwise.
set_health() {
    local version="$1" set="$2" port running bad=0
    for port in $(set_ports "$set"); do
        running="$(inst_version "$port")"
        if [[ "$running" != "$version" ]]; then
            echo "slot $port runs ${running:-nothing}, not $version"; bad=1
        elif ! inst_ready "$port"; then
            echo "$version on $port does not answer /ready"; bad=1
        fi
    done
    return $bad
}

# set_stats SET SINCE: "requests 5xx rate p95_ms" of SET's slots in the access log since
# SINCE (epoch seconds); 1 (and why on stderr) when the log cannot be read.
set_stats() {
    # shellcheck disable=SC2046 # the ports, one argument each
    python3 "$release_py" stats "$env_access_log" "$2" $(set_ports "$1")
}

# set_traffic SET SINCE: the 5xx rate and p95 latency of SET's slots since SINCE against
# the environment's bounds; prints the verdict, returns 1 when one is out of bounds, the
# statistics cannot be had, or SET answered fewer than min_requests requests (too little
# traffic to judge).
set_traffic() {
    local set="$1" since="$2" stats requests errors rate p95
    stats="$(set_stats "$set" "$since" 2>&1)" || { echo "no statistics: ${stats:-release.py stats failed}"; return 1; }
    read -r requests errors rate p95 <<<"$stats"
    if ! [[ "$requests" =~ ^[0-9]+$ && -n "$p95" ]]; then
        echo "no statistics: release.py stats printed '${stats}'"
        return 1
    fi
    if [[ $requests -lt ${env_min_requests%.*} ]]; then
        echo "too little traffic to judge: $requests requests to the $set slots (min $env_min_requests) in $env_access_log"
        return 1
    fi
    if above "$rate" "$env_error_rate_threshold"; then
        echo "error rate $rate ($errors of $requests answers 5xx) above $env_error_rate_threshold"
        return 1
    fi
    if above "$p95" "$env_latency_p95_ms"; then
        echo "p95 latency ${p95} ms above ${env_latency_p95_ms} ms ($requests requests)"
        return 1
    fi
    echo "$requests requests, error rate $rate (max $env_error_rate_threshold), p95 ${p95} ms (max ${env_latency_p95_ms} ms)"
}

# above A B: whether the number A is above the number B.
above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }

# set_judge VERSION SET SINCE: health, 5xx rate and p95 latency of VERSION on SET against
# the environment's bounds (set_traffic); prints the verdict, returns 1 when one is out of
# bounds or there is too little traffic to judge.
set_judge() {
    local version="$1" set="$2" since="$3" problem verdict
    problem="$(set_health "$version" "$set")" || { echo "unhealthy: $problem"; return 1; }
    verdict="$(set_traffic "$set" "$since")" || { echo "$verdict"; return 1; }
    echo "healthy, $verdict"
}

# route STABLE_SET CANDIDATE_SET CANDIDATE_PERCENT: the upstream gives the candidate set
# CANDIDATE_PERCENT of the traffic (weights 100-N and N per slot of equal-sized sets; a
# set at 0 is left out), checks the configuration with nginx_test and reloads nginx. When
# the check or the reload fails, the previous file is put back (atomically), so that the
# file and the running nginx agree, and 1 returned with the reason in last_problem.
route() {
    local stable="$1" candidate="$2" percent="$3" port weights=()
    for port in $(set_ports "$stable"); do weights+=("$port:$((100 - percent))"); done
    for port in $(set_ports "$candidate"); do weights+=("$port:$percent"); done
    if ! python3 "$release_py" upstream "$env_nginx_conf" "${weights[@]}"; then
        last_problem="cannot rewrite the upstream of $env_nginx_conf"
    elif ! bash -c "$env_nginx_test"; then
        last_problem="nginx rejects the new configuration ($env_nginx_test); the previous one is back"
    elif ! bash -c "$env_nginx_reload"; then
        last_problem="nginx reload failed ($env_nginx_reload); the previous configuration is back"
    else
        say "nginx: $((100 - percent))% to $stable, $percent% to $candidate"
        return 0
    fi
    if [[ -f "$env_nginx_conf.previous" ]]; then
        cp -p "$env_nginx_conf.previous" "$env_nginx_conf.restore.$$" && mv -f "$env_nginx_conf.restore.$$" "$env_nginx_conf" \
            || last_problem="$last_problem; PUTTING THE PREVIOUS ONE BACK FAILED"
    fi
    echo "$last_problem"
    return 1
}

# switch_all VERSION: every request to VERSION at once: its slots (the set it runs in, or
# the set the stable version does not use) started if needed, the upstream pointed at
# them, everything else stopped after drain_seconds. VERSION becomes the stable version.
# Prints its progress as it goes; returns 1 when VERSION's slots do not come up or nginx
# refuses, with the reason in last_problem.
switch_all() {
    local version="$1" set port old
    set=""
    for port in $(set_ports blue); do [[ "$(inst_version "$port")" == "$version" ]] && set=blue && break; done
    for port in $(set_ports green); do [[ -z "$set" && "$(inst_version "$port")" == "$version" ]] && set=green && break; done
    if [[ -z "$set" ]]; then
        if [[ -n "$state_stable_set" ]]; then set="$(other_set "$state_stable_set")"; else set=blue; fi
    fi
    set_start "$version" "$set" || return 1
    route "$(other_set "$set")" "$set" 100 || return 1
    sleep "$env_drain_seconds" 9>&-
    set_stop "$(other_set "$set")"
    old="$state_stable"
    [[ "$old" == "$version" ]] && old="$state_previous"
    release_state stable="$version" stable_set="$set" candidate= candidate_set= percentage=0 previous="$old" "${@:2}"
}
