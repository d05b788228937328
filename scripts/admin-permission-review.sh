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
# shellcheck source=lib/wrapper.sh
source "$(dirname "$0")/lib/wrapper.sh"
ferretwatch_wrap "$0" admin permission-review -- "$@"
