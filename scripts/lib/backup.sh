# shellcheck shell=bash
# Sourced by the backup runbook wrappers (verify-backups.sh, test-db-restore.sh,
# restore-database.sh, verify-config-backup.sh, test-rule-pack-backup.sh,
# backup-configs.sh): the binary, the configuration flag, usage, and the runbook's names
# for a backup.

bin="${FERRETWATCH_BIN:-ferretwatch}"
config=()
[[ -n "${FERRETWATCH_CONFIG:-}" ]] && config=(--config "$FERRETWATCH_CONFIG")

# backup_help SCRIPT: prints SCRIPT's leading comment (its usage).
backup_help() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$1"; }

# backup_usage MESSAGE: bad usage, exit 2.
backup_usage() { echo "$1 (see --help)" >&2; exit 2; }

# backup_name F: the `--backup` value for the runbook's --backup-file F. `latest`, and any
# name starting with `latest` that is no file here (the runbook's `latest_backup.sql.gz`),
# mean the newest backup; a backup id, a manifest.json, a backup folder or a dump file
# (database.dump, database.sqlite.gz) are passed on as they are.
backup_name() {
    local f="$1"
    if [[ ! -e "$f" && "$(basename "$f")" == latest* ]]; then
        echo latest
    else
        echo "$f"
    fi
}
