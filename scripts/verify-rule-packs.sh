#!/usr/bin/env bash
# Runbook 5.1 daily: ./scripts/verify-rule-packs.sh [ORIGIN]  (default FERRETWATCH_ORIGIN or dist; root from FERRETWATCH_ROOT or root.json; exit 40-49 names the refusal)
set -euo pipefail
exec ferretwatch pack verify "$@"
