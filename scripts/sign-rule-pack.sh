#!/usr/bin/env bash
# Runbook 5.2: ./scripts/sign-rule-pack.sh dist/rules.json  (each publisher in turn; key from --key or FERRETWATCH_SIGNING_KEY, root from --root or FERRETWATCH_ROOT)
set -euo pipefail
exec ferretwatch pack sign "$@"
