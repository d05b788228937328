#!/usr/bin/env bash
# Favicon hashes for the built-in brands, from the simple-icons set (CC0-1.0, npm),
# rendered with resvg (npm, prebuilt) at 16, 32 and 64 pixels in the brand's colour on
# white and hashed with `ferretwatch rules phash`. Every other icon of the set is hashed as
# the false-positive population: bench/icon_hashes.py reports, per Hamming distance, how
# many other logos would match a brand, and with --write stores the hashes in brands.json.
#
#   bench/brand-icons.sh [--write]
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/icons
mkdir -p "$out"
if [ ! -d "$out/node_modules/simple-icons" ] || [ ! -d "$out/node_modules/@resvg/resvg-js" ]; then
    (cd "$out" && npm install --silent --no-save --no-package-lock simple-icons@16.37.0 @resvg/resvg-js@2.6.2 >/dev/null)
fi
rm -rf "$out/png"
node bench/render_icons.js crates/detect/data/brands.json "$out/node_modules" "$out/png"
bin=${FERRETWATCH:-target/debug/ferretwatch}
"$bin" rules phash "$out"/png/brand/*.png > "$out/brand.txt"
"$bin" rules phash "$out"/png/other/*.png > "$out/other.txt"
python3 bench/icon_hashes.py crates/detect/data/brands.json "$out/brand.txt" "$out/other.txt" "$@"
