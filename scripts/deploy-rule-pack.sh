#!/usr/bin/env bash
# Runbook 5.2: ./scripts/deploy-rule-pack.sh dist/rules.json  (origin from --to or FERRETWATCH_ORIGIN: file:///srv/origin or s3://bucket/prefix; root from --root or FERRETWATCH_ROOT)
set -euo pipefail
exec ferretwatch pack deploy "$@"
