#!/usr/bin/env bash
# The client crate (verification, the updater state machine, recovery, loading a pack) must
# build for WebAssembly, because the browser extension runs the same code, and the engine
# built for WebAssembly (crates/wasm) must give byte for byte the verdicts of the native
# engine on the whole corpus, under Node. The toolchain is Debian's rustc-web, installed
# when missing (scripts/lib/wasm.sh).
#
#   ./scripts/wasm-check.sh          build both for wasm32-unknown-unknown, compare verdicts
#
# WASM_TARGET_DIR (default: a temporary directory, removed afterwards) keeps the build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
# shellcheck source=scripts/lib/wasm.sh
source scripts/lib/wasm.sh
wasm_toolchain
target_dir="${WASM_TARGET_DIR:-}"
if [[ -z "$target_dir" ]]; then
    target_dir="$(mktemp -d)"
    trap 'rm -rf "$target_dir"' EXIT
fi
echo "== ferretwatch-pack-client for wasm32-unknown-unknown ($(/usr/bin/rustc --version))"
wasm_build "$target_dir" -p ferretwatch-pack-client
ls "$target_dir"/wasm32-unknown-unknown/debug/libferretwatch_pack_client.rlib >/dev/null
echo "ok: ferretwatch-pack-client builds for wasm32-unknown-unknown"

echo "== the engine for wasm32-unknown-unknown (crates/wasm), release"
wasm_build "$target_dir" --release -p ferretwatch-wasm
wasm="$target_dir/wasm32-unknown-unknown/release/ferretwatch_wasm.wasm"
echo "   $(stat -c %s "$wasm") bytes, $(gzip -9c "$wasm" | wc -c) gzipped"
command -v node >/dev/null || { echo "node is missing (Debian: apt-get install nodejs)" >&2; exit 1; }

echo "== the corpus: the wasm engine under Node (in a worker, 2 s limit) against the native engine"
cargo build --quiet -p ferretwatch-cli
native_bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/debug/ferretwatch"
out="$target_dir/verdicts"
mkdir -p "$out"
node crates/wasm/js/corpus.mjs "$wasm" tests/corpus 2000 >"$out/wasm.jsonl"
python3 -c 'import json,sys
for page in json.load(open("tests/corpus/manifest.json")): print(page["url"] + "\t" + page["file"])' |
    while IFS=$'\t' read -r url file; do
        "$native_bin" scan --url "$url" --html "tests/corpus/$file" --format json --yara-timeout-ms 2000 || true
    done >"$out/native.jsonl"
pages="$(wc -l <"$out/native.jsonl")"
if ! cmp -s "$out/native.jsonl" "$out/wasm.jsonl"; then
    echo "FAILED: the wasm engine's verdicts differ from the native engine's:" >&2
    diff "$out/native.jsonl" "$out/wasm.jsonl" | head -20 >&2
    exit 1
fi
echo "ok: $pages corpus pages, byte-identical verdicts from the wasm and the native engine"
echo "== YARA's time limit in the wasm engine (the worker is terminated at the limit)"
node crates/wasm/js/limit-check.mjs "$wasm"

echo "== the updater in the wasm module, driven by Node's fetch() against ferretwatch serve"
work="$target_dir/updater"
rm -rf "$work" && mkdir -p "$work"
server_pid=""
stop_server() { if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi; }
trap 'stop_server; [[ -z "${WASM_TARGET_DIR:-}" ]] && rm -rf "$target_dir"' EXIT
fw() { "$native_bin" "$@" >/dev/null; }
for who in alice bob; do fw keys generate --out "$work/$who"; done
fw root create --key "$work/alice.pub" --key "$work/bob.pub" --threshold 2 \
    --expires "$(date -u -d '+1 year' +%Y-%m-%dT%H:%M:%SZ)" --out "$work/root.json"
for who in alice bob; do fw root sign "$work/root.json" --key "$work/$who.key"; done
fw intel fetch --source urlhaus --from tests/fixtures/feeds/urlhaus.csv --out "$work/intel"
hour="$(date -u +%Y.%m.%d.%H)"
deploy() { # VERSION: build, sign by both publishers, deploy
    fw pack build --version "$1" --feeds "$work/intel" --out "$work/dist-$1"
    for who in alice bob; do fw pack sign "$work/dist-$1" --key "$work/$who.key" --root "$work/root.json"; done
    fw pack deploy "$work/dist-$1" --to "file://$work/origin" --root "$work/root.json"
}
deploy "$hour"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
FERRETWATCH_LISTEN="127.0.0.1:$port" FERRETWATCH_METRICS_LISTEN="127.0.0.1:0" FERRETWATCH_ORIGIN="file://$work/origin" \
    FERRETWATCH_DATA_DIR="$work/data" FERRETWATCH_SERVER_REVALIDATE_MS=0 FERRETWATCH_LOG=warn \
    "$native_bin" serve --db "sqlite://$work/fw.db" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/v1/timestamp.json" >/dev/null 2>&1 && break; sleep 0.1; done
cycle() { node crates/wasm/js/update-cycle.mjs "$wasm" "$work/root.json" "http://127.0.0.1:$port/v1" "$work/client"; }
expect() { # WHAT JSON PYTHON-CONDITION
    if ! python3 -c "import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if ($3) else 1)" "$2"; then
        echo "FAILED: $1: $2" >&2
        exit 1
    fi
    echo "   $1: ok"
}
first="$(cycle)"
expect "a first cycle installs the pack" "$first" "r['outcome']['result'] == 'updated' and r['status']['pack_version'] == '$hour' and r['loaded'] == '$hour'"
test -s "$work/client/files/manifest.json" || { echo "FAILED: no manifest installed" >&2; exit 1; }
again="$(cycle)"
expect "a second cycle finds nothing new" "$again" "r['outcome']['result'] == 'unchanged'"
deploy "$hour.1"
next="$(cycle)"
expect "a new pack is taken" "$next" "r['outcome']['result'] == 'updated' and r['status']['pack_version'] == '$hour.1'"
deploy "$hour.2"
for file in "$work"/origin/*rules.*.json; do python3 - "$file" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
data[10] ^= 0x20
open(path, "wb").write(bytes(data))
PY
done
refused="$(cycle)"
expect "a tampered pack is refused and the last good one kept" "$refused" \
    "r['outcome']['result'] == 'failed' and r['outcome']['code'] == 'tampered' and r['status']['pack_version'] == '$hour.1' and r['loaded'] == '$hour.1'"
stop_server
echo "ok: the wasm updater installs, finds nothing new, takes a new pack and refuses a tampered one"
