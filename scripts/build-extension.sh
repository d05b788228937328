#!/usr/bin/env bash
# Builds the browser extension package from the repository: the engine compiled to
# WebAssembly (Debian's rustc-web, installed when missing), the extension's files, and a
# config.json naming the origin's mirrors, the report service and the trusted root. The
# same commit and the same flags give the same bytes (paths are remapped in the module, and
# the zip has sorted entries with fixed times and modes).
#
#   ./scripts/build-extension.sh --root ROOT.json --mirror URL [--mirror URL ...]
#                                --report-url URL [--interval SECS] [--scan-limit-ms MS]
#                                [--out DIR]
#
#   --root FILE        the trusted root.json the updater starts from (required)
#   --mirror URL       where the packs are served, e.g. https://packs.example/v1 (required)
#   --report-url URL   the report service, e.g. https://reports.example (required)
#   --interval SECS    how often the updater polls (default 3600)
#   --scan-limit-ms MS the longest one scan may take before YARA is left out (default 1000)
#   --out DIR          where to write (default dist): DIR/extension/ (load it unpacked) and
#                      DIR/ferretwatch-extension-VERSION.zip
#
# WASM_TARGET_DIR (default target/wasm) keeps the WebAssembly build between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
root="" report_url="" interval=3600 scan_limit=1000 out="dist"
mirrors=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --root) root="$2"; shift 2 ;;
        --mirror) mirrors+=("$2"); shift 2 ;;
        --report-url) report_url="$2"; shift 2 ;;
        --interval) interval="$2"; shift 2 ;;
        --scan-limit-ms) scan_limit="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -n "$root" && -n "$report_url" && ${#mirrors[@]} -gt 0 ]] || { usage >&2; exit 2; }
[[ -r "$root" ]] || { echo "cannot read the root: $root" >&2; exit 2; }
[[ "$interval" =~ ^[0-9]+$ && "$scan_limit" =~ ^[0-9]+$ ]] || { echo "--interval and --scan-limit-ms take whole numbers" >&2; exit 2; }

# shellcheck source=scripts/lib/wasm.sh
source scripts/lib/wasm.sh
wasm_toolchain
target_dir="${WASM_TARGET_DIR:-$(pwd -P)/target/wasm}"
mkdir -p "$target_dir"
echo "== the engine for wasm32-unknown-unknown (crates/wasm), release"
wasm_build "$target_dir" --release -p ferretwatch-wasm
wasm="$target_dir/wasm32-unknown-unknown/release/ferretwatch_wasm.wasm"

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
package="$out/extension"
rm -rf "$package"
mkdir -p "$package"
cp -r extension/. "$package/"
rm -rf "$package/test"
cp crates/wasm/js/engine.mjs "$package/engine.mjs"
cp "$wasm" "$package/ferretwatch_wasm.wasm"
python3 - "$package" "$version" "$root" "$report_url" "$interval" "$scan_limit" "${mirrors[@]}" <<'PY'
import json, sys
package, version, root, report_url, interval, scan_limit, *mirrors = sys.argv[1:]
manifest_path = f"{package}/manifest.json"
manifest = json.load(open(manifest_path))
manifest["version"] = version
json.dump(manifest, open(manifest_path, "w"), indent=2, sort_keys=False)
config = {
    "mirrors": [m.rstrip("/") for m in mirrors],
    "report_url": report_url.rstrip("/"),
    "interval_secs": int(interval),
    "scan_limit_ms": int(scan_limit),
    "root": open(root).read(),
}
json.dump(config, open(f"{package}/config.json", "w"), indent=2, sort_keys=True)
PY
zip_path="$out/ferretwatch-extension-$version.zip"
python3 - "$package" "$zip_path" <<'PY'
import os, sys, zipfile
package, zip_path = sys.argv[1:]
names = sorted(
    os.path.relpath(os.path.join(d, f), package) for d, _, files in os.walk(package) for f in files
)
with zipfile.ZipFile(zip_path, "w") as z:
    for name in names:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(package, name), "rb") as f:
            z.writestr(info, f.read(), compresslevel=9)
PY
echo "ok: $package (load unpacked) and $zip_path"
echo "   sha256 $(sha256sum "$zip_path" | cut -d' ' -f1), $(stat -c %s "$zip_path") bytes"
