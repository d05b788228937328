#!/usr/bin/env bash
# Runbook 7.1, monitor admin access: ./scripts/audit-admin-access.sh --alert-threshold 5
#
#   --alert-threshold N  alert on an address with N or more failed sign-ins in the last
#                        7 days (default 5)
#   -h, --help           this text
#
# Runs `ferretwatch admin access-audit`: the runbook's review query (per address: attempts,
# failures, first and last sign-in over 7 days) and its anomaly query (per address and
# client network, more than 50 attempts in 24 hours). Exit 0 no alert; 1 an address at the
# threshold or an anomaly, each named on an ALERT line; 2 bad usage or configuration.
#
# Environment: FERRETWATCH_CONFIG (the server's configuration file, passed as --config),
# FERRETWATCH_DB (the database, sqlite://PATH or postgres://…; overrides the file's),
# FERRETWATCH_DATA_DIR (default ./data: the default SQLite database), FERRETWATCH_BIN (the
# ferretwatch binary; default: ferretwatch on PATH).
set -euo pipefail
# shellcheck source=lib/wrapper.sh
source "$(dirname "$0")/lib/wrapper.sh"
ferretwatch_wrap "$0" admin access-audit -- "$@"
