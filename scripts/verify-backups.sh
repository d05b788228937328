#!/usr/bin/env bash
# Runbook, weekly "Verify backups":
#
#   ./scripts/verify-backups.sh
#
# Verifies the newest backup at the destination: every object's size and SHA-256 against
# its manifest, decryption (with [backup] identity), a restore of its database part into a
# scratch database that is dropped afterwards, the restored rows compared with the counts
# and content checksums taken when the backup was made, and the backup's database identity
# compared with the live database's (a backup of another database fails).
# Exit 0 when the backup verifies; 1 when an object is damaged, truncated or missing, the
# restored rows differ, or the backup is of another database; 2 on bad usage or settings.
#
# Environment: FERRETWATCH_CONFIG (the server's configuration: its database and [backup]
# section), FERRETWATCH_DB, FERRETWATCH_BACKUP_DESTINATION, FERRETWATCH_BACKUP_IDENTITY,
# FERRETWATCH_SCRATCH_DB (a PostgreSQL URL whose user may CREATE DATABASE; default the
# live database's server), FERRETWATCH_BIN (default: ferretwatch on PATH).
set -uo pipefail
# shellcheck source=lib/backup.sh
source "$(dirname "$0")/lib/backup.sh"
for a in "$@"; do
    case "$a" in
        -h|--help) backup_help "$0"; exit 0 ;;
        *) backup_usage "unknown argument: $a" ;;
    esac
done
exec "$bin" backup verify --backup latest --compare-source ${config[@]+"${config[@]}"}
