# Sourced by the scripts that build for WebAssembly (wasm-check.sh, build-extension.sh).
# Rustup cannot add the wasm32 target on this machine kind, so the build uses Debian's
# rustc-web (with its std sources in rust-web-src) and lld-22, installed here when missing,
# and builds std itself (-Zbuild-std). The workspace's own toolchain is not touched.

wasm_toolchain() { # installs rustc-web, rust-web-src and lld-22 when missing (idempotent)
    if [[ ! -x /usr/bin/rustc || ! -d /usr/lib/rustlib/src ]] || ! /usr/bin/rustc --print target-list | grep -qx wasm32-unknown-unknown; then
        echo "== installing rustc-web, rust-web-src and lld-22 (Debian)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q rustc-web rust-web-src lld-22 >/dev/null \
            || { apt-get update -q >/dev/null && apt-get install -y -q rustc-web rust-web-src lld-22 >/dev/null; }
    fi
}

# wasm_build TARGET_DIR CARGO-BUILD-ARGS...: with Debian's rustc, building std for the
# target. Paths are remapped so that the module's bytes do not depend on where the
# repository or the registry sit: the same commit builds the same module.
wasm_build() {
    local target_dir="$1"
    shift
    local repo
    repo="$(pwd -P)"
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$target_dir" CARGO_INCREMENTAL=0 \
        CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true \
        RUSTFLAGS="--remap-path-prefix=$target_dir=/target --remap-path-prefix=$repo=/ferretwatch --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo --remap-path-prefix=/usr/lib/rustlib/src/rust=/rust" \
        cargo build --quiet --lib --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort "$@"
}
