#!/usr/bin/env bash
# Rebuilds this subset of the RustSec advisory database from a full copy of it:
#
#   tests/data/rustsec-advisory-db/refresh.sh FULL_ADVISORY_DB_DIR
#
# It keeps the licences and SNAPSHOT.txt, the advisories of every crates.io package in the
# workspace's Cargo.lock, and those of the crates the tests pin on purpose (TEST_CRATES).
# Run it after a dependency change or to move to a newer snapshot, then run the tests.
set -euo pipefail
[[ $# -eq 1 && -d "$1/crates" ]] || { echo "usage: $0 FULL_ADVISORY_DB_DIR (a directory with crates/)" >&2; exit 2; }
full="$1"
here="$(cd "$(dirname "$0")" && pwd)"
lock="$here/../../../Cargo.lock"
# smallvec 1.6.0: a vulnerability with a CVSS score; proc-macro-error: unmaintained;
# dirs: a withdrawn advisory (an unmaintained notice, every version).
TEST_CRATES="smallvec proc-macro-error dirs"

rm -rf "$here/crates" "$here/LICENSES"
mkdir -p "$here/crates" "$here/LICENSES"
cp "$full/LICENSE.txt" "$here/"
cp "$full"/LICENSES/*.txt "$here/LICENSES/"
if [[ -f "$full/SNAPSHOT.txt" ]]; then
    cp "$full/SNAPSHOT.txt" "$here/SNAPSHOT.txt"
else
    echo "snapshot of the RustSec advisory database (CC0-1.0), commit $(git -C "$full" rev-parse HEAD), $(git -C "$full" log -1 --format=%cs)" >"$here/SNAPSHOT.txt"
fi
names="$(awk '/^name = /{name=$3} /^source = "registry\+/{gsub(/"/, "", name); print name}' "$lock")"
for name in $names $TEST_CRATES; do
    if [[ -d "$full/crates/$name" && ! -d "$here/crates/$name" ]]; then
        cp -r "$full/crates/$name" "$here/crates/$name"
    fi
done
echo "$(find "$here/crates" -name '*.md' | wc -l) advisories for $(ls "$here/crates" | wc -l) crates"
