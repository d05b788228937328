# shellcheck shell=bash
# Sourced by the runbook wrappers that pass their flags straight to one `ferretwatch`
# command: against the server's database (the admin, review and canary-monitor commands,
# through ferretwatch_wrap), or, for the canary commands that take no --config, with only
# the help handled here (wrapper_help).

# wrapper_help SCRIPT ARGS...: with -h or --help among ARGS, prints SCRIPT's leading
# comment (its usage) and exits 0; otherwise returns.
wrapper_help() {
    local script="$1"
    shift
    for a in "$@"; do
        case "$a" in
            -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$script"; exit 0 ;;
        esac
    done
}

# ferretwatch_wrap SCRIPT COMMAND... -- ARGS...: with -h or --help among ARGS, prints
# SCRIPT's leading comment (its usage) and exits 0; otherwise runs
# `${FERRETWATCH_BIN:-ferretwatch} COMMAND... [--config "$FERRETWATCH_CONFIG"] ARGS...` in
# place of the shell, so its exit status is the wrapper's.
ferretwatch_wrap() {
    local script="$1"
    shift
    local command=()
    while [[ $# -gt 0 && "$1" != -- ]]; do
        command+=("$1")
        shift
    done
    shift
    wrapper_help "$script" "$@"
    local config=()
    if [[ -n "${FERRETWATCH_CONFIG:-}" ]]; then config=(--config "$FERRETWATCH_CONFIG"); fi
    exec "${FERRETWATCH_BIN:-ferretwatch}" "${command[@]}" ${config[@]+"${config[@]}"} "$@"
}
