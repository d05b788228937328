#!/usr/bin/env bash
# The client crate (verification, the updater state machine, recovery, loading a pack) must
# build for WebAssembly, because the browser extension runs the same code, and the engine
# built for WebAssembly (crates/wasm) must give byte for byte the verdicts of the native
# engine on the whole corpus, under Node. Rustup cannot add the wasm32 target on this
# machine kind, so this uses Debian's rustc-web (1.96, with its std sources in
# rust-web-src) and lld-22, installed here when missing, and builds std itself
# (-Zbuild-std). The workspace's own toolchain is not touched.
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
if [[ ! -x /usr/bin/rustc || ! -d /usr/lib/rustlib/src ]] || ! /usr/bin/rustc --print target-list | grep -qx wasm32-unknown-unknown; then
    echo "== installing rustc-web, rust-web-src and lld-22 (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q rustc-web rust-web-src lld-22 >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q rustc-web rust-web-src lld-22 >/dev/null; }
fi
target_dir="${WASM_TARGET_DIR:-}"
if [[ -z "$target_dir" ]]; then
    target_dir="$(mktemp -d)"
    trap 'rm -rf "$target_dir"' EXIT
fi
echo "== ferretwatch-pack-client for wasm32-unknown-unknown ($(/usr/bin/rustc --version))"
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$target_dir" CARGO_INCREMENTAL=0 \
    cargo build --quiet -p ferretwatch-pack-client --lib --target wasm32-unknown-unknown \
    -Zbuild-std=std,panic_abort
ls "$target_dir"/wasm32-unknown-unknown/debug/libferretwatch_pack_client.rlib >/dev/null
echo "ok: ferretwatch-pack-client builds for wasm32-unknown-unknown"

echo "== the engine for wasm32-unknown-unknown (crates/wasm), release"
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$target_dir" CARGO_INCREMENTAL=0 \
    CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true \
    cargo build --quiet --release -p ferretwatch-wasm --lib --target wasm32-unknown-unknown \
    -Zbuild-std=std,panic_abort
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
