#!/usr/bin/env bash
# Resident memory: the engine with the default rules inside a bench process (VmRSS deltas),
# and the whole `ferretwatch scan` process (peak RSS) for a URL and for a 200 KB page.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p ferretwatch-detect --bench memory 2>/dev/null | grep VmRSS
cargo build --release -p ferretwatch-cli >/dev/null 2>&1
/usr/bin/time -f 'ferretwatch scan --url: peak RSS %M KiB' ./target/release/ferretwatch scan --url https://paypa1.com/ >/dev/null || true
/usr/bin/time -f "ferretwatch scan --html (largest benign corpus page): peak RSS %M KiB" \
  ./target/release/ferretwatch scan --url https://example.com/ --html "$(ls -S tests/corpus/benign/*.html | head -1)" >/dev/null || true
