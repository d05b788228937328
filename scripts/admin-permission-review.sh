#!/usr/bin/env bash
# Runbook 7.2, review admin permissions quarterly: ./scripts/admin-permission-review.sh --output-format csv
#
#   --output-format csv|json|text  how to print the review (default text)
#   -h, --help                     this text
#
# Runs `ferretwatch admin permission-review`: one row per console account with id, email,
# role, eligible_role, permissions (from the console's permission table; ';'-joined in
# CSV), totp_enrolled, oidc_linked, status (active, disabled, locked), created_at,
# created_by and last_login_at (RFC 3339 UTC). Exit 0 printed; 1 the database failed;
# 2 bad usage or configuration.
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
exec "${FERRETWATCH_BIN:-ferretwatch}" admin permission-review ${config[@]+"${config[@]}"} "$@"
