#!/usr/bin/env bash
# Point-in-time recovery of the report database's PostgreSQL cluster from the archive
# host's base backups and streamed WAL (docs/disaster-recovery.md). Run as the postgres
# user on the new database host; dr-test.sh runs it in the drill.
#   1. copies the newest base backup under ARCHIVE/base (or --base STAMP) into --pgdata,
#      which must be empty or absent;
#   2. makes the segment pg_receivewal was writing when the primary died (its `.partial`
#      file, which holds the last acknowledged commits) readable under its full name;
#   3. drops the primary's synchronous_standby_names (nothing streams from the new cluster
#      yet: start a WAL receiver against it, then set it again), and configures recovery:
#      `restore_command` from ARCHIVE/wal, the latest timeline, and --target-time for a
#      point before an operator's mistake;
#   4. with --start PORT, starts the cluster and waits until recovery has replayed the
#      whole archive and the cluster is promoted (accepts writes).
# Exit 1 when a step fails.
#
#   deploy/postgresql/pitr-restore.sh --archive DIR --pgdata DIR [--base STAMP]
#       [--target-time 'YYYY-MM-DD HH:MM:SS+00'] [--start PORT [--socket-dir DIR]]
set -euo pipefail
archive="" pgdata="" base="" target="" port="" sockdir=/tmp
while [[ $# -gt 0 ]]; do
    case "$1" in
        --archive) archive="$2"; shift 2 ;;
        --pgdata) pgdata="$2"; shift 2 ;;
        --base) base="$2"; shift 2 ;;
        --target-time) target="$2"; shift 2 ;;
        --start) port="$2"; shift 2 ;;
        --socket-dir) sockdir="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -n "$archive" && -n "$pgdata" ]] || { echo "--archive and --pgdata are required (see --help)" >&2; exit 2; }
pgbin="${PGBIN:-$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")}"
if [[ -z "$base" ]]; then
    base="$(find "$archive/base" -mindepth 1 -maxdepth 1 -type d -regex '.*/[0-9]+T[0-9]+Z' -printf '%f\n' | sort | tail -1)"
fi
[[ -n "$base" && -f "$archive/base/$base/backup_label" ]] || { echo "no complete base backup in $archive/base" >&2; exit 1; }
if [[ -e "$pgdata" && -n "$(ls -A "$pgdata")" ]]; then
    echo "$pgdata is not empty: refusing to restore over it" >&2
    exit 1
fi
mkdir -p -m 700 "$pgdata"
cp -a "$archive/base/$base/." "$pgdata/"
for partial in "$archive"/wal/*.partial; do
    [[ -e "$partial" ]] || continue
    cp "$partial" "${partial%.partial}.tmp" && mv "${partial%.partial}.tmp" "${partial%.partial}"
    echo "the unfinished segment $(basename "${partial%.partial}") is readable for recovery"
done
sed -i '/^synchronous_standby_names/d' "$pgdata/postgresql.auto.conf"
{
    echo "restore_command = 'cp \"$archive/wal/%f\" \"%p\"'"
    echo "recovery_target_timeline = 'latest'"
    [[ -n "$target" ]] && echo "recovery_target_time = '$target'" && echo "recovery_target_action = 'promote'"
} >> "$pgdata/postgresql.auto.conf"
touch "$pgdata/recovery.signal"
echo "restored base backup $base into $pgdata; recovery is configured"
if [[ -n "$port" ]]; then
    "$pgbin/pg_ctl" -D "$pgdata" -l "$pgdata/recovery.log" -w -t 3600 \
        -o "-p $port -k $sockdir -c listen_addresses=127.0.0.1" start >/dev/null
    for _ in $(seq 1 18000); do
        [[ "$("$pgbin/psql" -X -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc 'SELECT pg_is_in_recovery()' 2>/dev/null)" == f ]] \
            && { echo "recovered and promoted: the cluster accepts writes on port $port"; exit 0; }
        sleep 0.2
    done
    echo "the cluster on port $port is still recovering after an hour" >&2
    exit 1
fi
