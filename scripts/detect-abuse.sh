#!/usr/bin/env bash
# Runbook 7.1, suspicious report patterns: ./scripts/detect-abuse.sh --threshold 10 --window 3600
#
#   --threshold N       alert at N or more reports (for an install farm: install tokens)
#   --window SECONDS    over the last SECONDS seconds (at most 90 days)
#   -h, --help          this text
#
# Runs `ferretwatch abuse detect`: over the window, one URL with N or more reports (reports
# and false-positive reports counted apart: many false positives of one URL are an attempt
# to get a phishing page allow-listed), one install token or one client network with N or
# more reports, and one URL reported by N or more install tokens from at most 2 networks
# (an install farm). Each finding is printed on an ALERT line with its kind, key (install
# tokens shortened to 8 characters), count, first and last time. Other flags of the
# command pass through (--format json). Exit 0 nothing found; 1 a finding; 2 bad usage or
# configuration.
#
# Environment: FERRETWATCH_CONFIG (the server's configuration file, passed as --config),
# FERRETWATCH_DB (the database, sqlite://PATH or postgres://…; overrides the file's),
# FERRETWATCH_DATA_DIR (default ./data: the default SQLite database), FERRETWATCH_BIN (the
# ferretwatch binary; default: ferretwatch on PATH).
set -euo pipefail
# shellcheck source=lib/wrapper.sh
source "$(dirname "$0")/lib/wrapper.sh"
ferretwatch_wrap "$0" abuse detect -- "$@"
