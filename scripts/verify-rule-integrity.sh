#!/usr/bin/env bash
# Runbook 7.1 "Check for unauthorized rule modifications": what the origin, the public URL
# clients use (the CDN) and every mirror the signed pack lists serve is verified against the
# root of trust, as a client verifies it, and compared with the origin's pack.
#
#   ./scripts/verify-rule-integrity.sh [--alert-on-mismatch]
#
# Settings from the environment:
#   FERRETWATCH_ORIGIN     the origin store (file:///DIR, DIR or s3://BUCKET[/PREFIX]; default dist)
#   FERRETWATCH_RULES_URL  the public pack URL (default $FERRETWATCH_URL/v1/ when FERRETWATCH_URL is set)
#   FERRETWATCH_ROOT       the root of trust (default root.json)
#   FERRETWATCH_BIN        the ferretwatch binary (default: ferretwatch on PATH)
# One line per source: `ok`, `ALERT` (it does not verify: tampered, unsigned, expired, a
# rollback…; or, with --alert-on-mismatch, it serves another pack than the origin) or
# `WARN` (another verified pack than the origin's, without the flag: a CDN still caching
# the previous version). Exit 1 on any ALERT, 2 on bad usage.
set -euo pipefail
alert_on_mismatch=0
case "${1:-}" in
    --alert-on-mismatch) alert_on_mismatch=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
[[ $# -le 1 ]] || { echo "at most one argument (see --help)" >&2; exit 2; }
bin="${FERRETWATCH_BIN:-ferretwatch}"
origin="${FERRETWATCH_ORIGIN:-dist}"
root="${FERRETWATCH_ROOT:-root.json}"
public="${FERRETWATCH_RULES_URL:-}"
if [[ -z "$public" && -n "${FERRETWATCH_URL:-}" ]]; then public="${FERRETWATCH_URL%/}/v1/"; fi

# Verifies one source: its JSON report in $report, or, when it is refused, why in $refusal.
verify() {
    local status=0
    report="$("$bin" pack verify "$1" --root "$root" --format json 2>"$work/err")" || status=$?
    if [[ $status != 0 ]]; then
        refusal="$(tr '\n' ' ' <"$work/err" | cut -c1-300)(exit $status)"
        return 1
    fi
}
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("\n".join(v) if isinstance(v, list) else v)' "$1" "$2"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
alerts=0
refusal=""
report=""
if ! verify "$origin"; then
    echo "ALERT origin $origin: does not verify: $refusal"
    exit 1
fi
reference="$report"
version="$(field "$reference" pack_version)"
digest="$(field "$reference" content_sha256)"
echo "ok    origin $origin: pack $version verified (content ${digest:0:16})"

sources=()
[[ -n "$public" ]] && sources+=("public:$public")
while IFS= read -r mirror; do
    [[ -n "$mirror" ]] && sources+=("mirror:${mirror%/}/")
done < <(field "$reference" mirrors)
[[ ${#sources[@]} -gt 0 ]] || echo "WARN  no public URL (FERRETWATCH_RULES_URL or FERRETWATCH_URL) and no mirror to compare with"

for source in "${sources[@]}"; do
    kind="${source%%:*}"
    url="${source#*:}"
    if ! verify "$url"; then
        echo "ALERT $kind $url: does not verify: $refusal"
        alerts=$((alerts + 1))
        continue
    fi
    seen="$report"
    seen_version="$(field "$seen" pack_version)"
    seen_digest="$(field "$seen" content_sha256)"
    if [[ "$seen_digest" == "$digest" ]]; then
        echo "ok    $kind $url: the same pack $version"
    elif [[ $alert_on_mismatch == 1 ]]; then
        echo "ALERT $kind $url: serves pack $seen_version (content ${seen_digest:0:16}), the origin $version"
        alerts=$((alerts + 1))
    else
        echo "WARN  $kind $url: serves pack $seen_version, the origin $version (a cache not yet refreshed?)"
    fi
done
if [[ $alerts -gt 0 ]]; then
    echo "$alerts alert(s): the rules served are not what the origin holds and the publishers signed"
    exit 1
fi
echo "the packs served match what was signed"
