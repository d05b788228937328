#!/usr/bin/env bash
# Runbook 5.2: ./scripts/create-bulletin.sh --severity critical --message "Critical phishing campaign detected"  (keys from FERRETWATCH_SIGNING_KEY; published when FERRETWATCH_ORIGIN or --to is set)
set -euo pipefail
exec ferretwatch bulletin create "$@"
