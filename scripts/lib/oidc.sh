# Sourced by the scripts that run the admin console's OpenID Connect tests
# (crates/server/tests/oidc.rs): they sign in at a real provider, npm's oidc-provider,
# run by tests/oidc-provider/provider.mjs on a loopback port.

# oidc_provider_install: Debian's nodejs and npm when node or npm is missing, then
# `npm ci` in tests/oidc-provider when its node_modules is missing or older than
# package-lock.json (idempotent; run from anywhere inside the repository).
oidc_provider_install() {
    local dir
    dir="$(git rev-parse --show-toplevel 2>/dev/null || pwd)/tests/oidc-provider"
    [[ -f "$dir/package-lock.json" ]] || { echo "oidc_provider_install: no $dir/package-lock.json" >&2; return 1; }
    local missing=()
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    if [[ ${#missing[@]} -gt 0 ]]; then
        echo "== installing ${missing[*]} (Debian)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q "${missing[@]}" >/dev/null \
            || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
    fi
    # npm ci writes node_modules/.package-lock.json last: it is the mark of a finished install.
    local mark="$dir/node_modules/.package-lock.json"
    if [[ ! -f "$mark" || "$dir/package-lock.json" -nt "$mark" || ! -f "$dir/node_modules/oidc-provider/package.json" ]]; then
        echo "== installing the OpenID Connect test provider (npm ci in tests/oidc-provider)"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
}
