#!/usr/bin/env bash
# Runbook 7.2, validate two-factor authentication: ./scripts/validate-2fa.sh --require-all-admins
#
#   --require-all-admins  fail when any active console account, whatever its role, has no
#                         TOTP enrolled (without it, only accounts that hold or may elevate
#                         to the admin role count)
#   -h, --help            this text
#
# Runs `ferretwatch admin validate-2fa`, which lists every active account without TOTP.
# Exit 0 none that counts; 1 one or more, each named; 2 bad usage or configuration.
#
# Environment: FERRETWATCH_CONFIG (the server's configuration file, passed as --config),
# FERRETWATCH_DB (the database, sqlite://PATH or postgres://…; overrides the file's),
# FERRETWATCH_DATA_DIR (default ./data: the default SQLite database), FERRETWATCH_BIN (the
# ferretwatch binary; default: ferretwatch on PATH).
set -euo pipefail
# shellcheck source=lib/wrapper.sh
source "$(dirname "$0")/lib/wrapper.sh"
ferretwatch_wrap "$0" admin validate-2fa -- "$@"
