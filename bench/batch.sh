#!/usr/bin/env bash
# Throughput of `ferretwatch scan --batch` end to end (read, scan on all cores, write JSON):
# 1 million URLs of mixed traffic, three runs; prints the median in URLs per second.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
cargo build --release -p ferretwatch-cli >/dev/null 2>&1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/gen_urls.py "$N" > "$work/urls.txt"
runs=()
for i in 1 2 3; do
  start=$(date +%s.%N)
  ./target/release/ferretwatch scan --batch "$work/urls.txt" > "$work/out.jsonl"
  end=$(date +%s.%N)
  runs+=("$(echo "$end - $start" | bc -l)")
done
lines=$(wc -l < "$work/out.jsonl")
[ "$lines" -eq "$N" ] || { echo "expected $N output lines, got $lines" >&2; exit 1; }
median=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)
printf 'batch: %d URLs, runs %s s; median %.2f s = %.0f URLs/s (%s cores)\n' \
  "$N" "$(printf '%.2f ' "${runs[@]}")" "$median" "$(echo "$N / $median" | bc -l)" "$(nproc)"
