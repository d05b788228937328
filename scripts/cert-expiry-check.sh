#!/usr/bin/env bash
# Runbook 7.1 "Certificate monitoring": the TLS certificate each public endpoint presents,
# read with openssl over a real connection, and how many days it has left.
#
#   ./scripts/cert-expiry-check.sh [--days-warning N]     (default 30)
#
# Endpoints: FERRETWATCH_TLS_ENDPOINTS, space-separated HOST:PORT (default: the hosts of
# FERRETWATCH_RULES_URL, FERRETWATCH_API_URL and FERRETWATCH_ADMIN_URL, else of
# FERRETWATCH_URL, that are https). FERRETWATCH_TLS_CA: a CA file to verify the chain with
# (default: the system's). One line per endpoint: `ok` (days left), `WARN` (fewer than N
# days left) or `FAIL` (expired, not yet valid, no TLS, unreachable, or a chain or name that
# does not verify). Exit 1 on any WARN or FAIL, 2 on bad usage.
set -uo pipefail
days=30
while [[ $# -gt 0 ]]; do
    case "$1" in
        --days-warning)
            days="${2:-}"
            [[ "$days" =~ ^[0-9]+$ ]] || { echo "--days-warning needs a whole number of days" >&2; exit 2; }
            shift 2 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
command -v openssl >/dev/null || { echo "openssl is needed (apt-get install openssl)" >&2; exit 2; }

endpoints="${FERRETWATCH_TLS_ENDPOINTS:-}"
if [[ -z "$endpoints" ]]; then
    for url in "${FERRETWATCH_RULES_URL:-}" "${FERRETWATCH_API_URL:-}" "${FERRETWATCH_ADMIN_URL:-}" "${FERRETWATCH_URL:-}"; do
        [[ "$url" == https://* ]] || continue
        hostport="${url#https://}"; hostport="${hostport%%/*}"
        [[ "$hostport" == *:* ]] || hostport="$hostport:443"
        [[ " $endpoints " == *" $hostport "* ]] || endpoints="$endpoints $hostport"
    done
fi
[[ -n "${endpoints// /}" ]] || { echo "no https endpoint to check: set FERRETWATCH_TLS_ENDPOINTS or an https FERRETWATCH_URL" >&2; exit 2; }

failed=0
now="$(date +%s)"
for endpoint in $endpoints; do
    host="${endpoint%:*}"
    ca=()
    [[ -n "${FERRETWATCH_TLS_CA:-}" ]] && ca=(-CAfile "$FERRETWATCH_TLS_CA")
    out="$(timeout 15 openssl s_client -connect "$endpoint" -servername "$host" -verify_hostname "$host" \
        -verify_return_error "${ca[@]}" </dev/null 2>&1)"
    status=$?
    cert="$(printf '%s\n' "$out" | sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p')"
    if [[ -z "$cert" ]]; then
        reason="$(printf '%s\n' "$out" | grep -m1 -E 'verify error' | cut -c1-200)"
        if [[ -n "$reason" ]]; then
            echo "FAIL $endpoint: the certificate does not verify ($reason)"
        else
            echo "FAIL $endpoint: no certificate (no TLS, or unreachable): $(printf '%s' "$out" | grep -m1 -iE 'error|refused|unable' | cut -c1-200)"
        fi
        failed=1
        continue
    fi
    end="$(printf '%s\n' "$cert" | openssl x509 -noout -enddate | cut -d= -f2)"
    end_s="$(date -d "$end" +%s)"
    left=$(( (end_s - now) / 86400 ))
    if [[ $status != 0 ]]; then
        reason="$(printf '%s\n' "$out" | grep -m1 -E 'verify error|Verification error' | cut -c1-200)"
        echo "FAIL $endpoint: the certificate does not verify (${reason:-openssl exit $status}); it ends $end"
        failed=1
    elif (( end_s <= now )); then
        echo "FAIL $endpoint: the certificate expired on $end"
        failed=1
    elif (( left < days )); then
        echo "WARN $endpoint: the certificate ends $end, in $left day(s): renew it (warning at $days days)"
        failed=1
    else
        echo "ok   $endpoint: the certificate ends $end, in $left days"
    fi
done
exit "$failed"
