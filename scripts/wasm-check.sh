#!/usr/bin/env bash
# The client crate (verification, the updater state machine, recovery, loading a pack) must
# build for WebAssembly, because the browser extension runs the same code. Rustup cannot
# add the wasm32 target on this machine kind, so this uses Debian's rustc-web (1.96, with
# its std sources in rust-web-src) and lld-22, installed here when missing, and builds
# std itself (-Zbuild-std). The workspace's own toolchain is not touched.
#
#   ./scripts/wasm-check.sh          build ferretwatch-pack-client for wasm32-unknown-unknown
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
