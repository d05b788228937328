#!/usr/bin/env bash
# Server benchmarks, with wrk on loopback against a release `ferretwatch serve`:
#   1. report submission on PostgreSQL: accepted reports/s and p99 latency (distinct URLs,
#      rate limits raised through FERRETWATCH_LIMITS_* for the run);
#   2. conditional GET of /v1/manifest.json answered 304: requests/s;
#   3. server RSS at rest (after start-up, before any load) and after the load.
# Each load runs RUNS times (default 3); the medians are printed last.
# Needs: wrk (apt-get install wrk), PostgreSQL on 127.0.0.1:5432 with trust auth.
# Knobs: RUNS, DURATION (default 15s), REPORT_CONNECTIONS (32), MANIFEST_CONNECTIONS (64).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-3}"
DURATION="${DURATION:-15s}"
REPORT_CONNECTIONS="${REPORT_CONNECTIONS:-32}"
MANIFEST_CONNECTIONS="${MANIFEST_CONNECTIONS:-64}"
PG="${FERRETWATCH_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
command -v wrk >/dev/null || { echo "bench/server.sh: install wrk (apt-get install wrk)" >&2; exit 2; }

cargo build --release --quiet -p ferretwatch-cli
target="${CARGO_TARGET_DIR:-target}"
bin="$(cd "$target/release" && pwd)/ferretwatch"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
base="http://127.0.0.1:$port"
work="$(mktemp -d)"
dbname="fw_bench_$$"
psql "$PG" -qAt -c "CREATE DATABASE $dbname"
dburl="${PG%/*}/$dbname"

(
    cd "$work"
    export FERRETWATCH_LISTEN="127.0.0.1:$port" FERRETWATCH_METRICS_LISTEN="127.0.0.1:$(free_port)"
    export FERRETWATCH_LIMITS_IP_PER_MINUTE=100000000 FERRETWATCH_LIMITS_IP_PER_DAY=100000000
    export FERRETWATCH_LIMITS_INSTALL_PER_MINUTE=100000000 FERRETWATCH_LIMITS_INSTALL_PER_DAY=100000000
    export FERRETWATCH_LOG="${FERRETWATCH_LOG:-warn}"
    exec "$bin" serve --db "$dburl"
) >"$work/server.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    psql "$PG" -qAt -c "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 600); do curl -sf -o /dev/null "$base/ready" && break; sleep 0.2; done
curl -sf -o /dev/null "$base/ready" || { cat "$work/server.log" >&2; exit 1; }

rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
sleep 2
rss_rest="$(rss)"
echo "RSS at rest: $rss_rest MB"

token="$(curl -sf -X POST "$base/v1/install" | python3 -c 'import json, sys; print(json.load(sys.stdin)["install_token"])')"
export FW_TOKEN="$token"

# Requests/s, p99 (ms), non-2xx count from a wrk --latency output.
parse() {
    awk '
        /Requests\/sec/ { rps = $2 }
        /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 } p99 = v }
        /Non-2xx/ { bad = $NF }
        END { printf "%s %s %s\n", rps, p99, (bad == "" ? 0 : bad) }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: >"$work/reports.txt"
for run in $(seq 1 "$RUNS"); do
    read -r rps p99 bad < <(wrk -t2 -c"$REPORT_CONNECTIONS" -d"$DURATION" --latency -s bench/report.lua "$base" | parse)
    echo "reports run $run: $rps accepted/s, p99 $p99 ms, non-2xx $bad"
    echo "$rps $p99 $bad" >>"$work/reports.txt"
done

etag="$(curl -sfI "$base/v1/manifest.json" | awk -F': ' 'tolower($1) == "etag" { sub(/\r$/, "", $2); print $2 }')"
status="$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base/v1/manifest.json")"
[ "$status" = 304 ] || { echo "conditional GET answered $status, not 304" >&2; exit 1; }
: >"$work/manifest.txt"
for run in $(seq 1 "$RUNS"); do
    read -r rps p99 bad < <(wrk -t2 -c"$MANIFEST_CONNECTIONS" -d"$DURATION" --latency -H "If-None-Match: $etag" "$base/v1/manifest.json" | parse)
    echo "manifest 304 run $run: $rps req/s, p99 $p99 ms"
    echo "$rps $p99" >>"$work/manifest.txt"
done
rss_load="$(rss)"
stored="$(psql "${dburl}" -qAt -c 'SELECT count(*) FROM reports' 2>/dev/null || echo '?')"

echo
echo "== medians of $RUNS runs ($DURATION each; wrk -t2; $(nproc) cores shared by wrk, server and PostgreSQL)"
echo "report submission (PostgreSQL, $REPORT_CONNECTIONS connections): $(cut -d' ' -f1 "$work/reports.txt" | median) accepted/s, p99 $(cut -d' ' -f2 "$work/reports.txt" | median) ms; non-2xx in all runs: $(awk '{ s += $3 } END { print s }' "$work/reports.txt"); rows in the log: $stored"
echo "conditional manifest GET, 304 ($MANIFEST_CONNECTIONS connections): $(cut -d' ' -f1 "$work/manifest.txt" | median) req/s, p99 $(cut -d' ' -f2 "$work/manifest.txt" | median) ms"
echo "server RSS: $rss_rest MB at rest, $rss_load MB after the load"
