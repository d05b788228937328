#!/usr/bin/env bash
# Runbook 5.2: ./scripts/test-rule-pack.sh dist/rules.json tests/corpus/ [--urls LIST.tsv]... [--previous DIR] [--min-detection 0.95] [--max-fp 0.02]  (exit 1: below the limits, a gate of the pack failed, or a known false positive came back)
set -euo pipefail
exec ferretwatch pack test "$@"
