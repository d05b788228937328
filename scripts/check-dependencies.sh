#!/usr/bin/env bash
# Runbook 7.1 "Dependency vulnerability check": ./scripts/check-dependencies.sh --security-only
#
#   --security-only  vulnerabilities only: no unmaintained, unsound or notice advisories
#   -h, --help       this text
#
# Runs `ferretwatch security deps`: Cargo.lock against the RustSec advisory database (each
# vulnerability with its advisory id, CVSS severity and fixed versions; without
# --security-only also the informational advisories, as warnings), then npm audit
# --audit-level=moderate of the browser extension when extension/package-lock.json exists
# (a SKIP line says why when it cannot run: it never counts as passed). One line per
# finding: ok, note, WARN, FAIL or SKIP. Exit 0 no vulnerability (warnings allowed); 1 a
# vulnerability applies; 2 bad usage, or no advisory database could be fetched or found.
#
# Environment: FERRETWATCH_ADVISORY_DB (a local copy of the database; default: cloned,
# then pulled, with git from FERRETWATCH_ADVISORY_DB_URL, default
# https://github.com/rustsec/advisory-db, into ${XDG_CACHE_HOME:-$HOME/.cache}/ferretwatch/advisory-db),
# FERRETWATCH_ADVISORY_EXCEPTIONS (accepted advisories with a review date and a reason;
# default deploy/security/advisory-exceptions.tsv), FERRETWATCH_ADVISORY_MAX_AGE_DAYS (warn when the database is older; default 7),
# FERRETWATCH_LOCKFILE (default: this repository's Cargo.lock), FERRETWATCH_NPM (npm),
# FERRETWATCH_BIN (the ferretwatch binary; default: ferretwatch on PATH).
set -uo pipefail
here="$(dirname "$0")"
root="$(cd "$here/.." && pwd)"
# shellcheck source=lib/advisory-db.sh
source "$here/lib/advisory-db.sh"
flags=()
for a in "$@"; do
    case "$a" in
        --security-only) flags+=(--security-only) ;;
        -h|--help) usage "$0"; exit 0 ;;
        *) echo "unknown argument: $a (see --help)" >&2; exit 2 ;;
    esac
done
security_exec deps "$root" ${flags[@]+"${flags[@]}"}
