# shellcheck shell=bash
# Sourced (from the repository's root) by scripts/memory-profile.sh,
# scripts/detect-memory-leaks.sh, scripts/cpu-profile.sh and bench/extension.sh.
#
# profile_run FROM MODE ARGS...: runs extension/test/profile.mjs MODE ARGS with Chromium
# installed (scripts/lib/chromium.sh), FERRETWATCH_PROFILE_DIR made absolute against FROM
# (the directory the script was started in; default FROM/profiles), and every Chromium the
# run starts killed when it ends, however it ends. Returns the run's exit status.

profile_run() {
    local from="$1"
    shift
    # shellcheck source=scripts/lib/chromium.sh
    source scripts/lib/chromium.sh
    chromium_installed
    FERRETWATCH_PROFILE_DIR="$(cd "$from" && realpath -m "${FERRETWATCH_PROFILE_DIR:-profiles}")"
    export FERRETWATCH_PROFILE_DIR
    profile_work="$(mktemp -d -t ferretwatch-profile.XXXXXX)"
    trap profile_cleanup EXIT
    local status=0
    FERRETWATCH_WORK="$profile_work" node --experimental-websocket --no-warnings extension/test/profile.mjs "$@" || status=$?
    return "$status"
}

# Kills what is left of the Chromiums the run started (profile.mjs writes "PID PROFILE-DIR"
# for each into chromium.pids, and closes them itself unless it was killed), then removes
# their profiles and the work directory.
profile_cleanup() {
    local pid profile
    if [[ -f "$profile_work/chromium.pids" ]]; then
        while read -r pid profile; do
            # Only a process that is still that Chromium (pids are reused).
            if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--user-data-dir=$profile"; then
                profile_kill_tree "$pid"
            fi
            [[ "$profile" == */ferretwatch-chromium-* ]] && rm -rf "$profile"
        done <"$profile_work/chromium.pids"
    fi
    rm -rf "$profile_work"
}

profile_kill_tree() { # PID: the process and everything below it
    local child
    kill -STOP "$1" 2>/dev/null || true
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do profile_kill_tree "$child"; done
    kill -KILL "$1" 2>/dev/null || true
}
