#!/usr/bin/env bash
# Runbook 9.2: ./scripts/monitor-canary.sh --duration 3600 --alert-threshold 0.02
#
# Watches the running canary (recorded at FERRETWATCH_ORIGIN or --from) for at most
# --duration seconds: every --poll-interval seconds (default 60) it counts, in the
# service's database (FERRETWATCH_CONFIG or --config, or --db), the reports and the
# false-positive reports sent by installs running the canary's pack version and the
# control's since the canary started, and tests whether the canary's false-positive share
# exceeds the control's by more than --alert-threshold (an absolute increase: 0.02 is two
# percentage points). It stops as soon as the test decides.
# Exit 0 promote, 1 rollback, 3 inconclusive (too little data), 2 no canary runs or bad
# input. --format json prints the figures as JSON.
set -euo pipefail
# shellcheck source=lib/wrapper.sh
source "$(dirname "$0")/lib/wrapper.sh"
ferretwatch_wrap "$0" canary monitor -- "$@"
