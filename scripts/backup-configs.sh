#!/usr/bin/env bash
# Runbook "Back up configurations":
#
#   ./scripts/backup-configs.sh --destination s3://ferretwatch-backups/config
#
# Backs up the server's configuration file (FERRETWATCH_CONFIG) and the files it names
# (TLS certificate, root of trust; with [backup] encrypt_to also the private keys and the
# secret settings, which are otherwise left out and listed as skipped) to DESTINATION
# (file:///DIR, a directory or s3://BUCKET/PREFIX), checksummed, with a manifest.
# Exit 0 when written; 1 when the destination or a file fails; 2 on bad usage or without
# FERRETWATCH_CONFIG.
#
# Environment: FERRETWATCH_CONFIG (required), AWS_* and FERRETWATCH_S3_ENDPOINT /
# FERRETWATCH_S3_REGION for an S3 destination, FERRETWATCH_BIN.
set -uo pipefail
# shellcheck source=lib/backup.sh
source "$(dirname "$0")/lib/backup.sh"
destination=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --destination)
            [[ $# -ge 2 && -n "$2" ]] || backup_usage "--destination needs a URL"
            destination="$2"; shift 2 ;;
        -h|--help) backup_help "$0"; exit 0 ;;
        *) backup_usage "unknown argument: $1" ;;
    esac
done
[[ -n "$destination" ]] || backup_usage "--destination is required"
[[ -n "${FERRETWATCH_CONFIG:-}" ]] || backup_usage "FERRETWATCH_CONFIG must name the configuration to back up"
exec "$bin" backup create --only config --to "$destination" "${config[@]}"
