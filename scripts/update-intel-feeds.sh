#!/usr/bin/env bash
# Runbook 5.1 (daily): refresh URLhaus, PhishTank and Feodo Tracker into intel/ (ETag / If-Modified-Since aware).
set -euo pipefail
exec ferretwatch intel update "$@"
