#!/usr/bin/env bash
# Runbook 5.2: ./scripts/validate-rule-pack.sh dist/rules.json  (the pack directory or any file in it; exit 0 valid, 1 problems listed, 2 unreadable)
set -euo pipefail
exec ferretwatch pack validate "$@"
