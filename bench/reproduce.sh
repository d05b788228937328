#!/usr/bin/env bash
# A reproduction of a page on loopback, end to end: `ferretwatch reproduce` (headless
# Chromium behind the egress guard, screenshot, DOM hash, then the page scanned with the
# reporter's pack version from the origin's history and with the current pack) against a
# corpus phishing page served on 127.0.0.1. A `ferretwatch serve` on a scratch data
# directory provides the development origin and root. Runs it RUNS times and prints each
# wall time, the median and the maximum; exits 1 when the median exceeds LIMIT_S (10).
#
#   bench/reproduce.sh
#
# Knobs: RUNS (10), LIMIT_S (10), PAGE (a file under tests/corpus/phishing/),
# FERRETWATCH_BIN (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-10}"
LIMIT_S="${LIMIT_S:-10}"
PAGE="${PAGE:-001-paypal-signin-php-gate.html}"
if [[ -n "${FERRETWATCH_BIN:-}" ]]; then
    bin="$FERRETWATCH_BIN"
else
    cargo build --release --quiet -p ferretwatch-cli
    bin="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/ferretwatch"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port="$(free_port)"; metrics="$(free_port)"; site="$(free_port)"
cat > "$work/ferretwatch.toml" <<TOML
listen = "127.0.0.1:$port"
metrics_listen = "127.0.0.1:$metrics"
data_dir = "$work/data"
log = "warn"
TOML
"$bin" serve --config "$work/ferretwatch.toml" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/ready" >/dev/null || { cat "$work/serve.log" >&2; exit 1; }
version="$(curl -sf "http://127.0.0.1:$port/v1/targets.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["signed"]["custom"]["pack_version"])')"
python3 -m http.server "$site" --bind 127.0.0.1 --directory tests/corpus/phishing >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$site/$PAGE" >/dev/null && break; sleep 0.1; done

echo "== reproduce http://127.0.0.1:$site/$PAGE with pack $version, $RUNS runs ($(nproc) cores, $(chromium --version 2>/dev/null | head -1))"
times=()
for i in $(seq 1 "$RUNS"); do
    start="$(date +%s%N)"
    "$bin" reproduce --url "http://127.0.0.1:$site/$PAGE" --allow-loopback --origin "$work/data/origin" \
        --root "$work/data/dev-keys/root.json" --pack-version "$version" --artifacts "file://$work/artifacts" \
        --format json >"$work/run-$i.json" || status=$?
    # 0, 10 or 20: the current pack's level (green, yellow, red); anything else failed.
    [[ "${status:-0}" =~ ^(0|10|20)$ ]] || { echo "run $i exited ${status}" >&2; exit 1; }
    status=0
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    times+=("$ms")
    echo "run $i: $ms ms ($(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d["reproduction"]
print("timed out" if r.get("timed_out") else "complete", "- current pack:", (d.get("current") or {}).get("level"))
' "$work/run-$i.json"))"
done
read -r median max < <(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print m, a[NR]}')
echo "median ${median} ms, max ${max} ms (limit ${LIMIT_S} s)"
awk -v m="$median" -v l="$LIMIT_S" 'BEGIN { exit !(m <= l * 1000) }' || { echo "FAIL: the median is above ${LIMIT_S} s" >&2; exit 1; }
