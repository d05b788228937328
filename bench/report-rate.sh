#!/usr/bin/env bash
# Reports accepted per second on PostgreSQL, each configuration side by side with its
# reference in the same run, in turn (round-robin, RUNS rounds):
#   one      one `ferretwatch serve`, limits in memory, reached directly;
#   redis    one instance with its limits in Redis (the round trip's cost on latency);
#   proxied  one instance with its limits in Redis behind nginx (the deployment's shape);
#   three    three instances sharing Redis behind nginx (deploy/, via deploy/local-cluster.sh);
#   pgbench  PostgreSQL itself running the same one-report append (the moderation upsert
#            and the log insert, one transaction per report), with as many clients.
# Every configuration writes to the same fresh database. wrk sends distinct URLs (a new
# moderation entry each time: the heavier case) on CONNECTIONS connections as fast as they
# go; a second, light load (LIGHT connections, each pausing PAUSE_MS between requests)
# measures latency away from saturation.
#
#   bench/report-rate.sh [--only one,redis,proxied,three,pgbench]
#
# Needs: wrk, pgbench, nginx, redis-server (Debian packages), PostgreSQL on
# 127.0.0.1:5432 with trust auth. Knobs: RUNS (3), DURATION (10s), CONNECTIONS (32),
# LIGHT (4), PAUSE_MS (5). FERRETWATCH_BIN: a binary to measure instead of building this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."

only="one,redis,proxied,three,pgbench"
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only="$2"; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "bench/report-rate.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
LIGHT="${LIGHT:-4}"
PAUSE_MS="${PAUSE_MS:-5}"
PG="${FERRETWATCH_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
for tool in wrk pgbench psql nginx redis-server; do
    command -v "$tool" >/dev/null || { echo "bench/report-rate.sh: install $tool" >&2; exit 2; }
done

if [ -z "${FERRETWATCH_BIN:-}" ]; then
    cargo build --release --quiet -p ferretwatch-cli
    target="${CARGO_TARGET_DIR:-target}"
    FERRETWATCH_BIN="$(cd "$target/release" && pwd)/ferretwatch"
fi
export FERRETWATCH_BIN
work="$(mktemp -d)"
dbname="fw_rate_$$"
psql "$PG" -qAt -c "CREATE DATABASE $dbname"
dburl="${PG%/*}/$dbname"
cluster_pids=()
cleanup() {
    for pid in "${cluster_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql "$PG" -qAt -c "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export FERRETWATCH_LIMITS_IP_PER_MINUTE=100000000 FERRETWATCH_LIMITS_IP_PER_DAY=100000000
export FERRETWATCH_LIMITS_INSTALL_PER_MINUTE=100000000 FERRETWATCH_LIMITS_INSTALL_PER_DAY=100000000
export FERRETWATCH_LOG="${FERRETWATCH_LOG:-warn}"
export FERRETWATCH_INSTALL_SECRET="bench-install-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"

start() { # NAME INSTANCES REDIS [--proxy]
    bash deploy/local-cluster.sh --instances "$2" --redis "$3" ${4:-} --db "$dburl" --dir "$work/$1" >"$work/$1.log" 2>&1 &
    cluster_pids+=("$!")
}
configs=()
for c in one redis proxied three; do
    case ",$only," in *",$c,"*) configs+=("$c") ;; esac
done
for c in "${configs[@]}"; do
    case "$c" in
        one) start one 1 none ;;
        redis) start redis 1 own ;;
        proxied) start proxied 1 own --proxy ;;
        three) start three 3 own ;;
    esac
done
for c in "${configs[@]}"; do
    for _ in $(seq 1 900); do [ -f "$work/$c/base" ] && break; sleep 0.2; done
    [ -f "$work/$c/base" ] || { cat "$work/$c.log" >&2; exit 1; }
done
case ",$only," in *",pgbench,"*) configs+=(pgbench) ;; esac

token=""
for c in "${configs[@]}"; do
    [ "$c" = pgbench ] && continue
    token="$(curl -sf -X POST "$(cat "$work/$c/base")/v1/install" | python3 -c 'import json, sys; print(json.load(sys.stdin)["install_token"])')"
    break
done
export FW_TOKEN="$token"
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

# "rate p99_ms non2xx" from wrk --latency; "tps p99_ms 0" from pgbench.
wrk_run() { # BASE CONNECTIONS [PAUSE_MS]
    FW_PAUSE_MS="${3:-}" wrk -t2 -c"$2" -d"$DURATION" --latency -s bench/report.lua "$1" | awk '
        /Requests\/sec/ { rps = $2 }
        /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 } p99 = v }
        /Non-2xx/ { bad = $NF }
        END { printf "%s %s %s\n", rps, p99, (bad == "" ? 0 : bad) }'
}
pgbench_run() { # CONNECTIONS
    pgbench -n -c "$1" -j 2 -T "${DURATION%s}" -M prepared -f "$work/append.sql" -r "$dburl" 2>/dev/null \
        | awk '/^tps/ { tps = $3 } /latency average/ { lat = $4 } END { printf "%s %s 0\n", tps, lat }'
}
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: >"$work/results.txt"
for run in $(seq 1 "$RUNS"); do
    for c in "${configs[@]}"; do
        for load in "$CONNECTIONS" "$LIGHT"; do
            if [ "$c" = pgbench ]; then
                [ "$load" = "$LIGHT" ] && continue
                read -r rate p99 bad < <(pgbench_run "$load")
                echo "run $run: pgbench, $load clients: $rate tps (mean latency $p99 ms)"
            else
                pause=""
                [ "$load" = "$LIGHT" ] && pause="$PAUSE_MS"
                read -r rate p99 bad < <(wrk_run "$(cat "$work/$c/base")" "$load" "$pause")
                echo "run $run: $c, $load connections: $rate reports/s, p99 $p99 ms, non-2xx $bad"
            fi
            echo "$c $load $rate $p99 $bad" >>"$work/results.txt"
        done
    done
done

echo
echo "== medians of $RUNS rounds ($DURATION each; $(nproc) cores shared by wrk, servers, nginx, Redis and PostgreSQL)"
med() { awk -v c="$1" -v l="$2" -v f="$3" '$1 == c && $2 == l { print $f }' "$work/results.txt" | median; }
for c in "${configs[@]}"; do
    if [ "$c" = pgbench ]; then
        echo "pgbench ($CONNECTIONS clients): $(med pgbench "$CONNECTIONS" 3) tps"
    else
        echo "$c ($CONNECTIONS connections): $(med "$c" "$CONNECTIONS" 3) reports/s, p99 $(med "$c" "$CONNECTIONS" 4) ms; ($LIGHT connections): $(med "$c" "$LIGHT" 3) reports/s, p99 $(med "$c" "$LIGHT" 4) ms; non-2xx in all runs: $(awk -v c="$c" '$1 == c { s += $5 } END { print s + 0 }' "$work/results.txt")"
    fi
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
has() { case ",$only," in *",$1,"*) return 0 ;; esac; return 1; }
if has one && has pgbench; then echo "one / pgbench: $(ratio "$(med one "$CONNECTIONS" 3)" "$(med pgbench "$CONNECTIONS" 3)")"; fi
if has three && has one; then echo "three / one: $(ratio "$(med three "$CONNECTIONS" 3)" "$(med one "$CONNECTIONS" 3)")"; fi
if has three && has proxied; then echo "three / proxied one: $(ratio "$(med three "$CONNECTIONS" 3)" "$(med proxied "$CONNECTIONS" 3)")"; fi
if has redis && has one; then
    echo "Redis limits, p99 added: $(awk -v a="$(med redis "$LIGHT" 4)" -v b="$(med one "$LIGHT" 4)" 'BEGIN { printf "%.2f", a - b }') ms at $LIGHT connections, $(awk -v a="$(med redis "$CONNECTIONS" 4)" -v b="$(med one "$CONNECTIONS" 4)" 'BEGIN { printf "%.2f", a - b }') ms at $CONNECTIONS"
fi
rows="$(psql "$dburl" -qAt -c "SELECT count(*) FROM reports WHERE install_token_id IS DISTINCT FROM 'bench-token'")"
echo "rows the servers wrote: $rows"
