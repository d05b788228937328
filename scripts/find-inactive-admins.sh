#!/usr/bin/env bash
# Runbook 7.2, check for stale admin accounts: ./scripts/find-inactive-admins.sh --inactive-days 90
#
#   --inactive-days N  list active console accounts without a sign-in for N days (an
#                      account never signed in: since it was created); required
#   -h, --help         this text
#
# Runs `ferretwatch admin inactive`. Exit 0 none; 1 one or more, each named (disable them
# in the console, or record why they stay); 2 bad usage or configuration.
#
# Environment: FERRETWATCH_CONFIG (the server's configuration file, passed as --config),
# FERRETWATCH_DB (the database, sqlite://PATH or postgres://…; overrides the file's),
# FERRETWATCH_DATA_DIR (default ./data: the default SQLite database), FERRETWATCH_BIN (the
# ferretwatch binary; default: ferretwatch on PATH).
set -euo pipefail
for a in "$@"; do
    case "$a" in
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    esac
done
config=()
if [[ -n "${FERRETWATCH_CONFIG:-}" ]]; then config=(--config "$FERRETWATCH_CONFIG"); fi
exec "${FERRETWATCH_BIN:-ferretwatch}" admin inactive ${config[@]+"${config[@]}"} "$@"
