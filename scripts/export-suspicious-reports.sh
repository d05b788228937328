#!/usr/bin/env bash
# Runbook 7.3, export suspicious reports:
#   ./scripts/export-suspicious-reports.sh --threshold-score 90 --output-format json --anonymize
#
#   --threshold-score S        reports scored S (0 to 100) or more
#   --output-format csv|json   CSV with a header (default), or one JSON array
#   --anonymize                no install tokens, networks coarsened to IPv4 /16 or IPv6
#                              /32, URLs without their query string and fragment
#   --keep-query               with --anonymize, keep the URLs' query strings
#   --since TIME               only reports received at or after TIME (RFC 3339 UTC or Unix
#                              seconds; default: all time)
#   -h, --help                 this text
#
# Runs `ferretwatch reports export-suspicious` and writes to standard output, newest
# first, one row per report: id, received_at, kind, url, reason, reason_text, score,
# findings (keys), pack_version, extension_version, moderation_state, install_token_id
# (left out with --anonymize), client_net. Reads the database a page at a time, so any
# size of log exports in constant memory. Notes go to standard error. Exit 0 exported; 1
# the database or the output failed part-way (the JSON array is then left unclosed); 2 bad
# usage or configuration.
#
# Environment: FERRETWATCH_CONFIG (the server's configuration file, passed as --config),
# FERRETWATCH_DB (the database, sqlite://PATH or postgres://…; overrides the file's),
# FERRETWATCH_DATA_DIR (default ./data: the default SQLite database), FERRETWATCH_BIN (the
# ferretwatch binary; default: ferretwatch on PATH).
set -euo pipefail
# shellcheck source=lib/wrapper.sh
source "$(dirname "$0")/lib/wrapper.sh"
ferretwatch_wrap "$0" reports export-suspicious -- "$@"
