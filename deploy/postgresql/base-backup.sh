#!/usr/bin/env bash
# A base backup of the report database's PostgreSQL cluster into the WAL archive host's
# backup directory, for point-in-time recovery with the WAL that pg_receivewal streams
# (docs/disaster-recovery.md). Run as the postgres user on the archive host, daily
# (deploy/systemd/ferretwatch-base-backup.timer); dr-test.sh runs it in the drill.
#   1. `pg_basebackup -Fp -X none -c fast` into DEST/base/STAMP.partial, renamed to
#      DEST/base/STAMP once complete and checked (`pg_verifybackup`, its backup manifest),
#      so an interrupted backup is never taken for a whole one;
#   2. keeps the newest --keep base backups (default 7) and removes older ones;
#   3. removes the archived WAL that the oldest kept base backup no longer needs
#      (`pg_archivecleanup` on DEST/wal).
# The WAL itself must already be streaming into DEST/wal: without it the base backup alone
# cannot be restored (-X none). Exit 1 when a step fails.
#
#   deploy/postgresql/base-backup.sh --conninfo 'host=… user=…' --dest DIR [--keep N]
set -euo pipefail
conninfo="" dest="" keep=7
while [[ $# -gt 0 ]]; do
    case "$1" in
        --conninfo) conninfo="$2"; shift 2 ;;
        --dest) dest="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -n "$conninfo" && -n "$dest" ]] || { echo "--conninfo and --dest are required (see --help)" >&2; exit 2; }
[[ "$keep" =~ ^[1-9][0-9]*$ ]] || { echo "--keep: a positive whole number" >&2; exit 2; }
pgbin="${PGBIN:-$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_basebackup | sort -V | tail -1)")}"
[[ -d "$dest/wal" ]] || { echo "$dest/wal does not exist: start the WAL receiver first" >&2; exit 1; }
mkdir -p "$dest/base"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
"$pgbin/pg_basebackup" -d "$conninfo" -D "$dest/base/$stamp.partial" -Fp -X none -c fast
"$pgbin/pg_verifybackup" -n "$dest/base/$stamp.partial" >/dev/null
mv "$dest/base/$stamp.partial" "$dest/base/$stamp"
echo "base backup $dest/base/$stamp ($(du -sh "$dest/base/$stamp" | cut -f1))"

mapfile -t kept < <(find "$dest/base" -mindepth 1 -maxdepth 1 -type d -regex '.*/[0-9]+T[0-9]+Z' -printf '%f\n' | sort -r)
for old in "${kept[@]:$keep}"; do
    rm -rf "${dest:?}/base/$old"
    echo "removed base backup $old (keeping $keep)"
done
oldest="$(find "$dest/base" -mindepth 1 -maxdepth 1 -type d -regex '.*/[0-9]+T[0-9]+Z' -printf '%f\n' | sort | head -1)"
# The backup_label names the first WAL segment the backup needs: everything before it goes.
first="$(sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]\{24\}\))$/\1/p' "$dest/base/$oldest/backup_label")"
[[ -n "$first" ]] || { echo "no START WAL LOCATION in $dest/base/$oldest/backup_label" >&2; exit 1; }
"$pgbin/pg_archivecleanup" "$dest/wal" "$first"
echo "the WAL archive keeps segments from $first on"
