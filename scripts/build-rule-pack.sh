#!/usr/bin/env bash
# Runbook 5.2: ./scripts/build-rule-pack.sh --version $(date -u +%Y.%m.%d.%H) [--rules rules.json] [--feeds intel] [--yara DIR] [--out dist]
set -euo pipefail
exec ferretwatch pack build "$@"
