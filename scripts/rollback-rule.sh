#!/usr/bin/env bash
# Runbook 5.2: ./scripts/rollback-rule.sh --version 2025.09.24.15  (republishes that version under a new, higher one and deploys it; origin from FERRETWATCH_ORIGIN, keys from FERRETWATCH_SIGNING_KEY)
set -euo pipefail
exec ferretwatch pack rollback --deploy "$@"
