#!/usr/bin/env bash
# Runbook 5.1 weekly "Security scan and vulnerability check" and 7.1 "Automated security
# scanning":
#
#   ./scripts/security-scan.sh [--sarif-output FILE]
#
#   --sarif-output FILE  also write the findings as SARIF 2.1.0 to FILE
#   -h, --help           this text
#
# Runs `ferretwatch security scan`, one line per check (ok, note, WARN, FAIL or SKIP):
#   1. dependencies, as scripts/check-dependencies.sh without --security-only: Cargo.lock
#      against the RustSec advisory database, npm audit of the extension;
#   2. the service's configuration (FERRETWATCH_CONFIG, then FERRETWATCH_… settings, of
#      the running server FERRETWATCH_PID when given, read from /proc/PID/environ):
#      private key and secret files not readable by group or others, secrets held in the
#      environment, TLS on or a proxy declared in front, no TLS below 1.2, the configured
#      certificate's days left;
#   3. with FERRETWATCH_URL, the running service: the certificate it serves, and the
#      security headers of /health, /status and the console's /admin/login.
# Exit 0 when no check fails (warnings allowed); 1 on any FAIL (a vulnerability, a key
# file others can read, TLS below 1.2, a console that may be framed, an expired
# certificate, the service unreachable…); 2 bad usage, or no advisory database could be
# fetched or found.
#
# Environment: as scripts/check-dependencies.sh (FERRETWATCH_ADVISORY_DB,
# FERRETWATCH_ADVISORY_DB_URL, FERRETWATCH_ADVISORY_EXCEPTIONS,
# FERRETWATCH_ADVISORY_MAX_AGE_DAYS, FERRETWATCH_LOCKFILE,
# FERRETWATCH_NPM, FERRETWATCH_BIN), and FERRETWATCH_CONFIG, FERRETWATCH_PID,
# FERRETWATCH_URL, FERRETWATCH_TLS_CA (the CA to fetch the service's pages over https with;
# default the public roots).
set -uo pipefail
here="$(dirname "$0")"
root="$(cd "$here/.." && pwd)"
# shellcheck source=lib/advisory-db.sh
source "$here/lib/advisory-db.sh"
flags=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --sarif-output)
            [[ -n "${2:-}" ]] || { echo "--sarif-output needs a file" >&2; exit 2; }
            flags+=(--sarif-output "$2"); shift 2 ;;
        -h|--help) usage "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
security_exec scan "$root" ${flags[@]+"${flags[@]}"}
