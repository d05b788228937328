#!/usr/bin/env bash
# Runbook "Test rule pack backup":
#
#   ./scripts/test-rule-pack-backup.sh --verify-signatures
#
# Restores the packs of the newest backup that holds them into a scratch directory (every
# object checked against the manifest's SHA-256 first), then verifies them as a client
# would, signatures and all, against the root of trust (`ferretwatch pack verify`). The
# scratch directory is removed afterwards.
# Exit 0 when the restored packs verify; 1 when the backup is damaged or tampered with,
# holds no packs, or the packs do not verify (the pack refusal's own status, 40-50, is
# printed); 2 on bad usage or without a root of trust.
#
# Environment: FERRETWATCH_ROOT (required: root.json), FERRETWATCH_CONFIG,
# FERRETWATCH_BACKUP_DESTINATION, FERRETWATCH_BIN.
set -uo pipefail
# shellcheck source=lib/backup.sh
source "$(dirname "$0")/lib/backup.sh"
signatures=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --verify-signatures) signatures=1; shift ;;
        -h|--help) backup_help "$0"; exit 0 ;;
        *) backup_usage "unknown argument: $1" ;;
    esac
done
[[ -n "$signatures" ]] || backup_usage "--verify-signatures is required (it is what this test does)"
[[ -n "${FERRETWATCH_ROOT:-}" && -f "${FERRETWATCH_ROOT}" ]] \
    || backup_usage "FERRETWATCH_ROOT must name the root of trust (root.json)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"$bin" backup extract --part packs --backup latest --out "$scratch/origin" ${config[@]+"${config[@]}"} || exit 1
"$bin" pack verify "file://$scratch/origin" --root "$FERRETWATCH_ROOT"
status=$?
if [[ $status != 0 ]]; then
    echo "FAIL the restored packs do not verify (pack verify exit $status)" >&2
    exit 1
fi
echo "ok    the packs of the newest pack backup restore and verify against $FERRETWATCH_ROOT"
