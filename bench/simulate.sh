#!/usr/bin/env bash
# The fleet simulator end to end: two publishers' keys, an online key (snapshot and
# timestamp) and an automated intel key; a root of trust with online roles; the previous
# and the new pack built (delegating intel/* to the intel key), signed by both publishers
# and deployed with the online key (the previous one to a "before" origin, both to the
# live origin); a copy of the live origin where fresh intel is then published by the intel
# role alone; a copy of that whose timestamp the online key re-signs at a degradation
# level (DEGRADED_LEVEL, default 2); five real `ferretwatch serve` processes (before, two
# mirrors of the live origin, the intel origin, the degraded origin); then `ferretwatch
# simulate` driving the clients against them.
#
#   bench/simulate.sh [SIMULATE ARGS...]      e.g. --clients 10000 --hours 24 --format json
#
# INTEL_AT (virtual seconds, default 32400) is when the fresh intel appears, DEGRADED_AT
# (default 36000) when the level changes. FERRETWATCH_BIN
# runs that binary instead of building a release one. Everything lives in a temporary
# directory that is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

bin="${FERRETWATCH_BIN:-}"
if [[ -z "$bin" ]]; then
    cargo build --release --quiet -p ferretwatch-cli
    bin="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/ferretwatch"
fi
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fw() { "$bin" "$@" >/dev/null; }

for who in alice bob online intel-bot; do fw keys generate --out "$work/$who"; done
fw root create --key "$work/alice.pub" --key "$work/bob.pub" --threshold 2 --online-key "$work/online.pub" \
    --expires "$(date -u -d '+1 year' +%Y-%m-%dT%H:%M:%SZ)" --out "$work/root.json"
for who in alice bob; do fw root sign "$work/root.json" --key "$work/$who.key"; done
fw intel fetch --source urlhaus --from tests/fixtures/feeds/urlhaus.csv --out "$work/intel"

previous="$(date -u -d '1 hour ago' +%Y.%m.%d.%H)"
current="$(date -u +%Y.%m.%d.%H)"
for version in "$previous" "$current"; do
    fw pack build --version "$version" --feeds "$work/intel" --out "$work/dist-$version" \
        --delegate-intel "$work/intel-bot.pub"
    for who in alice bob; do fw pack sign "$work/dist-$version" --key "$work/$who.key" --root "$work/root.json"; done
done
export FERRETWATCH_ONLINE_KEY="$work/online.key"
# The servers here renew nothing (their renewal runs on the wall clock, the clients on a
# virtual one), so the timestamps are made to outlive the simulated day.
export FERRETWATCH_TIMESTAMP_TTL=$((7 * 86400))
fw pack deploy "$work/dist-$previous" --to "file://$work/origin-before" --root "$work/root.json"
fw pack deploy "$work/dist-$previous" --to "file://$work/origin-live" --root "$work/root.json"
fw pack deploy "$work/dist-$current" --to "file://$work/origin-live" --root "$work/root.json"
cp -r "$work/origin-live" "$work/origin-intel"
fw intel fetch --source urlhaus --from tests/fixtures/feeds/urlhaus.csv --out "$work/intel-fresh"
fw intel publish --feeds "$work/intel-fresh" --to "file://$work/origin-intel" --root "$work/root.json" \
    --intel-key "$work/intel-bot.key"
# The on-call engineer's level change: the same content, the timestamp re-signed by the
# online key with the degradation level.
cp -r "$work/origin-intel" "$work/origin-degraded"
fw pack timestamp --origin "file://$work/origin-degraded" --root "$work/root.json" --degradation "${DEGRADED_LEVEL:-2}"
unset FERRETWATCH_ONLINE_KEY FERRETWATCH_TIMESTAMP_TTL

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
url=""
serve() { # NAME ORIGIN_DIR: starts a server, sets $url (not in a subshell, so $pids keeps it)
    local port
    port="$(free_port)"
    (
        export FERRETWATCH_LISTEN="127.0.0.1:$port" FERRETWATCH_METRICS_LISTEN="127.0.0.1:0"
        export FERRETWATCH_ORIGIN="file://$2" FERRETWATCH_DATA_DIR="$work/data-$1"
        export FERRETWATCH_LIMITS_IP_PER_MINUTE=100000000 FERRETWATCH_LIMITS_IP_PER_DAY=100000000
        export FERRETWATCH_LOG="${FERRETWATCH_LOG:-warn}"
        exec "$bin" serve --db "sqlite://$work/$1.db"
    ) >"$work/$1.log" 2>&1 &
    pids+=($!)
    url="http://127.0.0.1:$port"
}
serve before "$work/origin-before"; before="$url"
serve mirror0 "$work/origin-live"; mirror0="$url"
serve mirror1 "$work/origin-live"; mirror1="$url"
serve intel "$work/origin-intel"; intel="$url"
serve degraded "$work/origin-degraded"; degraded="$url"
for base in "$before" "$mirror0" "$mirror1" "$intel" "$degraded"; do
    for _ in $(seq 1 300); do curl -sf -o /dev/null "$base/ready" && break; sleep 0.2; done
    curl -sf -o /dev/null "$base/ready" || { cat "$work"/*.log >&2; exit 1; }
done

"$bin" simulate --root "$work/root.json" --before "$before/v1" --mirror "$mirror0/v1" --mirror "$mirror1/v1" \
    --intel "$intel/v1" --intel-at "${INTEL_AT:-32400}" \
    --degraded "$degraded/v1" --degraded-at "${DEGRADED_AT:-36000}" "$@"
