#!/usr/bin/env bash
# Reports accepted per second by `ferretwatch serve` on PostgreSQL, side by side with its
# reference: pgbench running the same one-row report append (the moderation upsert and
# the log insert of one report, as the server's one-statement append writes them) with
# the same number of clients, against the same database, in the same run, alternating.
#
#   bench/report-rate.sh [--instances N]
#
# With --instances N (default 1), N servers share the database and Redis (rate limits),
# behind nginx (deploy/local-cluster.sh runs deploy/ as it is), and wrk drives nginx. Every server runs with rate limits raised for the run.
#
# Needs: wrk and pgbench (apt-get install wrk postgresql-client), PostgreSQL on
# 127.0.0.1:5432 with trust auth; for N > 1, nginx and Redis.
# Knobs: RUNS (3), DURATION (10s), CONNECTIONS (32).
set -euo pipefail
cd "$(dirname "$0")/.."

instances=1
while [ $# -gt 0 ]; do
    case "$1" in
        --instances) instances="$2"; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "bench/report-rate.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
PG="${FERRETWATCH_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
for tool in wrk pgbench psql; do
    command -v "$tool" >/dev/null || { echo "bench/report-rate.sh: install $tool" >&2; exit 2; }
done

cargo build --release --quiet -p ferretwatch-cli
target="${CARGO_TARGET_DIR:-target}"
bin="$(cd "$target/release" && pwd)/ferretwatch"
work="$(mktemp -d)"
dbname="fw_rate_$$"
psql "$PG" -qAt -c "CREATE DATABASE $dbname"
dburl="${PG%/*}/$dbname"
cleanup() {
    [ -n "${cluster_pid:-}" ] && { kill "$cluster_pid" 2>/dev/null || true; wait "$cluster_pid" 2>/dev/null || true; }
    psql "$PG" -qAt -c "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export FERRETWATCH_LIMITS_IP_PER_MINUTE=100000000 FERRETWATCH_LIMITS_IP_PER_DAY=100000000
export FERRETWATCH_LIMITS_INSTALL_PER_MINUTE=100000000 FERRETWATCH_LIMITS_INSTALL_PER_DAY=100000000
export FERRETWATCH_LOG="${FERRETWATCH_LOG:-warn}"
FERRETWATCH_BIN="$bin" bash deploy/local-cluster.sh --instances "$instances" --db "$dburl" --dir "$work/cluster" \
    >"$work/cluster.log" 2>&1 &
cluster_pid=$!
for _ in $(seq 1 600); do [ -f "$work/cluster/base" ] && break; sleep 0.2; done
[ -f "$work/cluster/base" ] || { cat "$work/cluster.log" >&2; exit 1; }
base="$(cat "$work/cluster/base")"

token="$(curl -sf -X POST "$base/v1/install" | python3 -c 'import json, sys; print(json.load(sys.stdin)["install_token"])')"
cat >"$work/report.lua" <<LUA
local counter = 0
local thread_id = 0
setup = function(thread) thread:set("thread_id", counter); counter = counter + 1 end
request = function()
    counter = counter + 1
    local body = '{"url":"https://rate-' .. thread_id .. '.example/p/' .. counter .. '?s=' .. math.random(1, 1000000000) .. '",'
        .. '"reason":"phishing_login","timestamp":"2026-01-02T03:04:05Z","extension_version":"1.4.2",'
        .. '"pack_version":"2026.01.02.03","score":87,"findings":[{"key":"idn_homograph_high",'
        .. '"evidence":"xn--pypal-4ve.com is displayed as paypal.com"}]}'
    return wrk.format("POST", "/v1/report", {["Content-Type"] = "application/json", ["X-Install-Token"] = "$token"}, body)
end
LUA

# The same append, one report per transaction: a new URL each time (as wrk sends).
cat >"$work/append.sql" <<'SQL'
\set r random(1, 2000000000)
WITH entry AS (
    INSERT INTO moderation AS m (url_hash, url, state, first_seen, last_seen, report_count, false_positive_count, max_score)
    VALUES (sha256(convert_to('pgbench-' || :client_id || '-' || :r || '-' || clock_timestamp()::text, 'UTF8')),
            'https://rate.example/p', 'queued', 1790000000000, 1790000000000, 1, 0, 87)
    ON CONFLICT (url_hash) DO UPDATE SET report_count = m.report_count + 1, last_seen = GREATEST(m.last_seen, EXCLUDED.last_seen)
    RETURNING m.report_count, m.url_hash
), logged AS (
    INSERT INTO reports (received_at, kind, url, url_hash, reason, reason_text, client_timestamp, extension_version,
                         pack_version, score, findings, screenshot_hash, install_token_id, client_net)
    SELECT 1790000000000, 'report', 'https://rate.example/p', entry.url_hash, 'phishing_login', NULL, 1789999999000,
           '1.4.2', '2026.01.02.03', 87,
           '[{"key":"idn_homograph_high","evidence":"xn--pypal-4ve.com is displayed as paypal.com"}]'::jsonb,
           NULL, 'bench-token', '127.0.0.0/24'
    FROM entry
    RETURNING id
)
SELECT logged.id, entry.report_count FROM logged CROSS JOIN entry;
SQL

parse_wrk() {
    awk '
        /Requests\/sec/ { rps = $2 }
        /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 } p99 = v }
        /Non-2xx/ { bad = $NF }
        END { printf "%s %s %s\n", rps, p99, (bad == "" ? 0 : bad) }'
}
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
secs="${DURATION%s}"

: >"$work/rates.txt"
for run in $(seq 1 "$RUNS"); do
    read -r rps p99 bad < <(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/report.lua" "$base" | parse_wrk)
    tps="$(pgbench -n -c "$CONNECTIONS" -j 2 -T "$secs" -M prepared -f "$work/append.sql" "$dburl" 2>/dev/null \
        | awk '/^tps/ { print $3; exit }')"
    ratio="$(awk -v a="$rps" -v b="$tps" 'BEGIN { printf "%.2f", a / b }')"
    echo "run $run: server $rps reports/s (p99 $p99 ms, non-2xx $bad), pgbench $tps tps, ratio $ratio"
    echo "$rps $p99 $bad $tps $ratio" >>"$work/rates.txt"
done
rows="$(psql "$dburl" -qAt -c "SELECT count(*) FROM reports WHERE install_token_id <> 'bench-token'")"

echo
echo "== medians of $RUNS runs ($DURATION each, $CONNECTIONS connections, $instances instance(s); $(nproc) cores shared by wrk, servers, nginx, Redis and PostgreSQL)"
echo "server: $(cut -d' ' -f1 "$work/rates.txt" | median) reports/s, p99 $(cut -d' ' -f2 "$work/rates.txt" | median) ms; non-2xx in all runs: $(awk '{ s += $3 } END { print s }' "$work/rates.txt"); server rows in the log: $rows"
echo "pgbench, same append: $(cut -d' ' -f4 "$work/rates.txt" | median) tps"
echo "ratio server / pgbench: $(cut -d' ' -f5 "$work/rates.txt" | median)"
