#!/usr/bin/env bash
# Runbook 5.1 monthly "Certificate renewal check": ./scripts/cert-renewal-check.sh
#
# Checks the TLS certificate and key the service is configured with (the [tls] section of
# FERRETWATCH_CONFIG, or FERRETWATCH_TLS_CERT_FILE and FERRETWATCH_TLS_KEY_FILE), one line
# each, `ok` or `FAIL`:
#   certificate  its subject, serial, end and days left; FAIL with fewer than
#                FERRETWATCH_CERT_RENEW_DAYS days left (default 30): renewal due
#   key          the private key is the certificate's
#   chain        the file's chain leads to a CA of FERRETWATCH_TLS_CA (default: the
#                system's CAs): an intermediate missing from the file fails here
#   served       the running service (FERRETWATCH_URL, https; default: the configured
#                listen address on this machine) presents the certificate in the file
#                (SHA-256 fingerprints): a renewal that was not picked up fails here
# Runs `ferretwatch tls check`; its flags pass through (--format json, --renew-days N).
# Exit 0 when every check passes, 1 when one fails, 2 on bad usage or no [tls] configured.
#
# Environment: FERRETWATCH_CONFIG, FERRETWATCH_URL, FERRETWATCH_CERT_RENEW_DAYS,
# FERRETWATCH_TLS_CA, FERRETWATCH_BIN (the ferretwatch binary; default: ferretwatch on PATH).
set -euo pipefail
# shellcheck source=lib/wrapper.sh
source "$(dirname "$0")/lib/wrapper.sh"
ferretwatch_wrap "$0" tls check -- "$@"
