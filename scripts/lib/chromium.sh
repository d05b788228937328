# Sourced by the scripts that drive the extension in Chromium.
chromium_installed() { # Debian's chromium and chromium-driver, openssl and sqlite3 (idempotent)
    local missing=()
    command -v chromium >/dev/null || missing+=(chromium chromium-driver)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v sqlite3 >/dev/null || missing+=(sqlite3)
    command -v node >/dev/null || missing+=(nodejs)
    if [[ ${#missing[@]} -gt 0 ]]; then
        echo "== installing ${missing[*]} (Debian)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q "${missing[@]}" >/dev/null \
            || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
    fi
}
