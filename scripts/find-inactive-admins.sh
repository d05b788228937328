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
# shellcheck source=lib/wrapper.sh
source "$(dirname "$0")/lib/wrapper.sh"
ferretwatch_wrap "$0" admin inactive -- "$@"
