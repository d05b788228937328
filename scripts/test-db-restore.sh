#!/usr/bin/env bash
# Runbook "Test database restore":
#
#   ./scripts/test-db-restore.sh --backup-file latest_backup.sql.gz
#
# Restores a backup's database into a scratch database (never the live one), compares the
# restored rows with the counts and checksums the backup recorded, and drops the scratch
# database. --backup-file names the backup:
#   latest, or a name starting with "latest" that is no file here (the runbook's
#   latest_backup.sql.gz): the newest backup at the destination;
#   a backup id (20261205T030000123Z);
#   a manifest.json, or a backup folder holding one;
#   a dump file (database.dump, database.sqlite.gz): restored and counted, with no
#   manifest to compare against.
# Exit 0 when it restores and matches; 1 when it does not (damaged, truncated, other rows);
# 2 on bad usage.
#
# Environment: FERRETWATCH_CONFIG, FERRETWATCH_DB, FERRETWATCH_BACKUP_DESTINATION,
# FERRETWATCH_BACKUP_IDENTITY, FERRETWATCH_SCRATCH_DB (PostgreSQL: where the scratch
# database is made; default the live database's server), FERRETWATCH_BIN.
set -uo pipefail
# shellcheck source=lib/backup.sh
source "$(dirname "$0")/lib/backup.sh"
file=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --backup-file)
            [[ $# -ge 2 && -n "$2" ]] || backup_usage "--backup-file needs a value"
            file="$2"; shift 2 ;;
        -h|--help) backup_help "$0"; exit 0 ;;
        *) backup_usage "unknown argument: $1" ;;
    esac
done
[[ -n "$file" ]] || backup_usage "--backup-file is required"
exec "$bin" backup verify --backup "$(backup_name "$file")" ${config[@]+"${config[@]}"}
