#!/usr/bin/env bash
# Runbook 5.2: ./scripts/emergency-rule-deploy.sh --rule-id PHISH-2025-001 --severity critical  (rule file from --rule or FERRETWATCH_EMERGENCY_RULE; keys from --key or FERRETWATCH_SIGNING_KEY; origin from FERRETWATCH_ORIGIN)
set -euo pipefail
exec ferretwatch pack emergency "$@"
