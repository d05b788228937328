#!/usr/bin/env bash
# Runbook "Restore database":
#
#   ./scripts/restore-database.sh --backup-file latest_backup.sql.gz --target-env staging [--force]
#
# Restores a backup's database into the database of environment ENV, described by
# deploy/environments/ENV.toml (or $FERRETWATCH_ENVIRONMENTS/ENV.toml): a `db = "URL"` line
# and, optionally, `backup_destination = "URL"`. A target that holds data is refused
# without --force, and the refusal lists what it holds (tables and row counts). After the
# restore the rows are compared with the backup's checksums and the store opens it.
# --backup-file as in test-db-restore.sh (latest, latest_backup.sql.gz, an id, a
# manifest, a dump file).
# Then the deletion ledger (tombstones.jsonl at the destination) is re-applied, so that
# deletions honoured after the backup was taken stay deleted; it needs the service's
# tombstone key (FERRETWATCH_CONFIG's lifecycle.tombstone_key_file).
# Exit 0 when restored; 1 when refused or failed; 2 on bad usage or an unknown ENV.
#
# Environment: FERRETWATCH_ENVIRONMENTS (default deploy/environments beside the scripts),
# FERRETWATCH_CONFIG, FERRETWATCH_BACKUP_DESTINATION, FERRETWATCH_BACKUP_IDENTITY,
# FERRETWATCH_BIN.
set -uo pipefail
# shellcheck source=lib/backup.sh
source "$(dirname "$0")/lib/backup.sh"
file="" env="" force=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --backup-file)
            [[ $# -ge 2 && -n "$2" ]] || backup_usage "--backup-file needs a value"
            file="$2"; shift 2 ;;
        --target-env)
            [[ $# -ge 2 && -n "$2" ]] || backup_usage "--target-env needs a value"
            env="$2"; shift 2 ;;
        --force) force=(--force); shift ;;
        -h|--help) backup_help "$0"; exit 0 ;;
        *) backup_usage "unknown argument: $1" ;;
    esac
done
[[ -n "$file" ]] || backup_usage "--backup-file is required"
[[ -n "$env" ]] || backup_usage "--target-env is required"
[[ "$env" =~ ^[A-Za-z0-9_-]+$ ]] || backup_usage "--target-env $env: letters, digits, - and _"
envs="${FERRETWATCH_ENVIRONMENTS:-$(dirname "$0")/../deploy/environments}"
described="$envs/$env.toml"
[[ -f "$described" ]] || backup_usage "no environment $env ($described does not exist)"
value() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"\(.*\)\"[[:space:]]*$/\1/p" "$described" | head -n1; }
db="$(value db)"
[[ -n "$db" ]] || backup_usage "$described has no db = \"URL\" line"
from=()
destination="$(value backup_destination)"
[[ -n "$destination" ]] && from=(--from "$destination")

echo "== restoring into $env"
"$bin" backup restore --backup "$(backup_name "$file")" --db "$db" ${from[@]+"${from[@]}"} \
    ${force[@]+"${force[@]}"} ${config[@]+"${config[@]}"} || exit 1
