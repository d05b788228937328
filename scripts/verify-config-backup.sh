#!/usr/bin/env bash
# Runbook "Verify configuration backup":
#
#   ./scripts/verify-config-backup.sh --backup-date 2026-12-05
#
# The newest configuration backup of that day (UTC): every object's SHA-256 against its
# manifest, the configuration file loaded as the service loads one, and a diff against
# the live configuration (FERRETWATCH_CONFIG) and the files it names: each difference is
# printed as a "drift:" line. Drift is reported, not a failure (the live configuration
# moves on after a backup).
# Exit 0 when the backup checks out; 1 when there is no configuration backup that day, an
# object is damaged, or the backed-up configuration does not load; 2 on bad usage or
# without FERRETWATCH_CONFIG.
#
# Environment: FERRETWATCH_CONFIG (required: the live configuration, with its [backup]
# section), FERRETWATCH_BACKUP_DESTINATION, FERRETWATCH_BACKUP_IDENTITY, FERRETWATCH_BIN.
set -uo pipefail
# shellcheck source=lib/backup.sh
source "$(dirname "$0")/lib/backup.sh"
date=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --backup-date)
            [[ $# -ge 2 && -n "$2" ]] || backup_usage "--backup-date needs a value (YYYY-MM-DD)"
            date="$2"; shift 2 ;;
        -h|--help) backup_help "$0"; exit 0 ;;
        *) backup_usage "unknown argument: $1" ;;
    esac
done
[[ -n "$date" ]] || backup_usage "--backup-date is required"
[[ "$date" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || backup_usage "--backup-date $date: want YYYY-MM-DD"
[[ -n "${FERRETWATCH_CONFIG:-}" ]] || backup_usage "FERRETWATCH_CONFIG must name the live configuration"
exec "$bin" backup check-config --date "$date" "${config[@]}"
