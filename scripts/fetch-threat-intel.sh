#!/usr/bin/env bash
# Runbook 5.2: fetch URLhaus, PhishTank and Feodo Tracker into intel/ (ETag / If-Modified-Since aware).
set -euo pipefail
exec ferretwatch intel update "$@"
