#!/usr/bin/env bash
# The CPU a refusal costs the server under a flood: a release `ferretwatch serve` with its
# default limits (SQLite, limits in memory, or in Redis with --redis), flooded by wrk with
# valid reports from one address and one install token for DURATION. Nearly every request
# is refused (429). The server's CPU time (user + system, from /proc) over the flood,
# divided by the requests wrk completed, is the average cost of a request, refusals being
# all but the first few. RUNS runs; medians printed last. Also printed: the log lines the
# flood produced.
#
#   bench/refusal-cost.sh [--redis]
#
# Needs wrk (apt-get install wrk); with --redis, Redis on 127.0.0.1:6379.
# Knobs: RUNS (3), DURATION (10s), CONNECTIONS (32).
set -euo pipefail
cd "$(dirname "$0")/.."

redis=""
while [ $# -gt 0 ]; do
    case "$1" in
        --redis) redis="redis://127.0.0.1:6379"; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "bench/refusal-cost.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
command -v wrk >/dev/null || { echo "bench/refusal-cost.sh: install wrk" >&2; exit 2; }
if [ -z "${FERRETWATCH_BIN:-}" ]; then
    cargo build --release --quiet -p ferretwatch-cli
    FERRETWATCH_BIN="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/ferretwatch"
fi
work="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ticks="$(getconf CLK_TCK)"
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: >"$work/results.txt"
for run in $(seq 1 "$RUNS"); do
    port="$(free_port)"
    rm -rf "$work/data"
    mkdir -p "$work/data"
    (
        cd "$work/data"
        export FERRETWATCH_METRICS_LISTEN="127.0.0.1:$(free_port)" FERRETWATCH_LOG=info
        # A connection cap above wrk's connections: every request is a refused request,
        # not a refused connection.
        export FERRETWATCH_LIMITS_MAX_CONNECTIONS_PER_IP=$((CONNECTIONS + 8))
        [ -n "$redis" ] && export FERRETWATCH_LIMITS_REDIS="$redis" FERRETWATCH_LIMITS_REDIS_PREFIX="bench:$$:$run:"
        exec "$FERRETWATCH_BIN" serve --listen "127.0.0.1:$port"
    ) >"$work/server.log" 2>&1 &
    pid=$!
    base="http://127.0.0.1:$port"
    for _ in $(seq 1 300); do curl -sf -o /dev/null "$base/ready" && break; sleep 0.1; done
    token="$(curl -sf -X POST "$base/v1/install" | python3 -c 'import json, sys; print(json.load(sys.stdin)["install_token"])')"
    cat >"$work/flood.lua" <<LUA
local n = 0
request = function()
    n = n + 1
    local body = '{"url":"https://flood.example/' .. n .. '","reason":"phishing_login","timestamp":"2026-01-02T03:04:05Z",'
        .. '"extension_version":"1.4.2","pack_version":"2026.01.02.03","score":87,"findings":[]}'
    return wrk.format("POST", "/v1/report", {["Content-Type"] = "application/json", ["X-Install-Token"] = "$token"}, body)
end
LUA
    lines_before="$(wc -l <"$work/server.log")"
    cpu_before="$(awk '{ print $14 + $15 }' "/proc/$pid/stat")"
    requests="$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$work/flood.lua" "$base" | awk '/requests in/ { print $1 }')"
    cpu_after="$(awk '{ print $14 + $15 }' "/proc/$pid/stat")"
    sleep 11 # one summary interval, so the flood's summary line is in the log
    lines="$(( $(wc -l <"$work/server.log") - lines_before ))"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    us="$(awk -v c=$((cpu_after - cpu_before)) -v t="$ticks" -v r="$requests" 'BEGIN { printf "%.1f", c / t * 1e6 / r }')"
    echo "run $run: $requests requests in $DURATION, server CPU $(( (cpu_after - cpu_before) * 1000 / ticks )) ms = $us µs per request; $lines log lines"
    echo "$us $requests $lines" >>"$work/results.txt"
done
echo
echo "== median of $RUNS runs ($DURATION floods, $CONNECTIONS connections, limits ${redis:+in Redis at $redis}${redis:-in memory}; $(nproc) cores shared by wrk and the server)"
echo "CPU per refused request: $(cut -d' ' -f1 "$work/results.txt" | median) µs; requests per flood: $(cut -d' ' -f2 "$work/results.txt" | median); log lines per flood: $(cut -d' ' -f3 "$work/results.txt" | median)"
