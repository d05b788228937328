#!/usr/bin/env bash
# Backup and restore times on PostgreSQL with REPORTS reports (1 million by default): a
# scratch database bulk-loaded with SQL (generate_series; rows shaped like real reports:
# ten reports per URL, two JSON findings each, install token, client network), then RUNS
# timed `ferretwatch backup create` (pg_dump of an exported snapshot plus the per-table
# counts and checksums in that snapshot, uploaded to a local destination) and RUNS timed
# `ferretwatch backup restore --force` into a second database (pg_restore -j JOBS, then the
# restored rows compared with the manifest and the store opened). Prints each run and the
# medians; the targets are 60 s for a backup and 120 s for a restore.
#
#   bench/backup.sh
#
# Needs PostgreSQL on 127.0.0.1:5432 with trust auth (FERRETWATCH_TEST_POSTGRES names a
# database to connect to for CREATE DATABASE) and its client tools (pg_dump, pg_restore).
# Knobs: REPORTS (1000000), RUNS (3), COMPRESSION (1, the pg_dump level), JOBS (2,
# pg_restore connections; a list such as 1,2 restores once per value in each run, in
# turn, for a side-by-side comparison on the same dump). FERRETWATCH_BIN: a binary to measure instead of building this
# checkout's (release).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    "") ;;
    *) echo "bench/backup.sh: unknown argument $1" >&2; exit 2 ;;
esac
REPORTS="${REPORTS:-1000000}"
RUNS="${RUNS:-3}"
COMPRESSION="${COMPRESSION:-1}"
JOBS="${JOBS:-2}"
PG="${FERRETWATCH_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
command -v psql >/dev/null || { echo "bench/backup.sh: install the PostgreSQL client (psql)" >&2; exit 2; }
if [ -z "${FERRETWATCH_BIN:-}" ]; then
    cargo build --release --quiet -p ferretwatch-cli
    target="${CARGO_TARGET_DIR:-target}"
    FERRETWATCH_BIN="$(cd "$target/release" && pwd)/ferretwatch"
fi
work="$(mktemp -d)"
source_db="fw_bench_backup_$$"
target_db="fw_bench_restore_$$"
cleanup() {
    psql "$PG" -qAt -c "DROP DATABASE IF EXISTS $source_db WITH (FORCE)" >/dev/null || true
    psql "$PG" -qAt -c "DROP DATABASE IF EXISTS $target_db WITH (FORCE)" >/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
psql "$PG" -qAt -c "CREATE DATABASE $source_db" -c "CREATE DATABASE $target_db"
source_url="${PG%/*}/$source_db"
target_url="${PG%/*}/$target_db"
# The store's own migrations make the schema.
"$FERRETWATCH_BIN" incident list --db "$source_url" >/dev/null

urls=$(( (REPORTS + 9) / 10 ))
echo "loading $REPORTS reports of $urls URLs into $source_db ..."
loaded_at=$(date +%s)
psql "$source_url" -qAt -v ON_ERROR_STOP=1 <<SQL
INSERT INTO moderation (url_hash, url, state, first_seen, last_seen, report_count, false_positive_count, max_score)
SELECT sha256(('https://login-' || g || '.example.com/verify')::bytea),
       'https://login-' || g || '.example.com/verify',
       (ARRAY['queued', 'verified', 'rejected', 'benign'])[1 + g % 4],
       1790000000000 + g * 1000, 1790000000000 + g * 1000 + 9000, 10, g % 2, 50 + g % 50
FROM generate_series(1, $urls) AS g;
INSERT INTO reports (received_at, kind, url, url_hash, reason, reason_text, client_timestamp, extension_version,
                     pack_version, score, findings, screenshot_hash, install_token_id, client_net)
SELECT 1790000000000 + n * 10,
       CASE WHEN n % 20 = 0 THEN 'false_positive' ELSE 'report' END,
       'https://login-' || (1 + n % $urls) || '.example.com/verify',
       sha256(('https://login-' || (1 + n % $urls) || '.example.com/verify')::bytea),
       CASE WHEN n % 50 = 0 THEN 'other' ELSE 'phishing_login' END,
       CASE WHEN n % 50 = 0 THEN 'looked like my bank' END,
       1790000000000 + n * 10 - 1000, '1.4.2', '2026.11.27.01', 40 + n % 60,
       jsonb_build_array(
           jsonb_build_object('key', 'idn_homograph_high',
                              'evidence', 'xn--pypal-4ve.com is displayed as paypal.com (' || n || ')'),
           jsonb_build_object('key', 'password_form_offsite',
                              'evidence', '<form action="https://collect-' || n % 997 || '.example/p.php">')),
       CASE WHEN n % 3 = 0 THEN sha256(n::text::bytea) END,
       'it_' || md5((n % 50000)::text),
       '198.51.' || (n % 256) || '.0/24'
FROM generate_series(1, $REPORTS) AS n;
VACUUM ANALYZE;
SQL
echo "loaded in $(( $(date +%s) - loaded_at )) s; database size $(psql "$source_url" -qAt -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
elapsed() { local start=$1; printf "%.2f" "$(echo "$(date +%s.%N) - $start" | bc)"; }
backups=()
declare -A restores
IFS=, read -r -a job_counts <<<"$JOBS"
for run in $(seq 1 "$RUNS"); do
    start=$(date +%s.%N)
    "$FERRETWATCH_BIN" backup create --to "file://$work/backups" --db "$source_url" --compression "$COMPRESSION" \
        --format json >"$work/create.json" 2>/dev/null
    t=$(elapsed "$start")
    backups+=("$t")
    bytes=$(sed -n 's/.*"bytes":\([0-9]*\).*/\1/p' "$work/create.json")
    echo "backup  run $run: ${t} s, ${bytes} bytes"
    for jobs in "${job_counts[@]}"; do
        start=$(date +%s.%N)
        "$FERRETWATCH_BIN" backup restore --from "file://$work/backups" --backup latest --db "$target_url" --force \
            --jobs "$jobs" >/dev/null 2>&1
        t=$(elapsed "$start")
        restores[$jobs]="${restores[$jobs]:-} $t"
        echo "restore run $run (jobs $jobs): ${t} s"
    done
done
echo "reports=$REPORTS runs=$RUNS compression=$COMPRESSION jobs=$JOBS cores=$(nproc)"
echo "backup  median: $(printf '%s\n' "${backups[@]}" | median) s (target 60 s)"
for jobs in "${job_counts[@]}"; do
    # shellcheck disable=SC2086
    echo "restore median (jobs $jobs): $(printf '%s\n' ${restores[$jobs]} | median) s (target 120 s)"
done
