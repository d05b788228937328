#!/usr/bin/env bash
# Runbook 8.2 "User acceptance testing": the user flows, end to end through the public API
# of the running service, as a browser's extension walks them. With --critical-paths only
# the flows that protect and hear users:
#   1. health: `POST /health {"check":"health"}` answers ok and `/ready` is 200 (the
#      database answers and a pack is served);
#   2. install: `POST /v1/install` issues an install token;
#   3. pack: the served pack downloads and verifies against the root of trust, as a client
#      verifies it (`ferretwatch pack verify $FERRETWATCH_URL/v1/ --root $FERRETWATCH_ROOT`),
#      and the manifest revalidates (`If-None-Match` with its ETag gives 304);
#   4. scan: a page scanned with the served pack gets a verdict (`ferretwatch scan --pack`);
#   5. report: a report is accepted and committed (`POST /v1/report`, 201 with its id),
#      about a URL under the reserved `.invalid` domain so that it never points anywhere real.
# Without --critical-paths, also: a false-positive report (201), client telemetry (204) and
# the public status page (`/status.json`).
# Settings: FERRETWATCH_URL (default http://127.0.0.1:8080), FERRETWATCH_ROOT (default
# root.json), FERRETWATCH_BIN (default ferretwatch). One line per check (`ok` or `FAIL`,
# with the time it took); exit 1 if any fails, 2 on bad usage.
#
#   ./scripts/smoke-test-user-flows.sh [--critical-paths]
set -uo pipefail
critical=0
case "${1:-}" in
    --critical-paths) critical=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    "") ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
[[ $# -le 1 ]] || { echo "at most one argument (see --help)" >&2; exit 2; }
bin="${FERRETWATCH_BIN:-ferretwatch}"
base="${FERRETWATCH_URL:-http://127.0.0.1:8080}"
root="${FERRETWATCH_ROOT:-root.json}"
failed=0
clock() { date +%s%N; }
since() { echo "$(( ($(clock) - $1) / 1000000 )) ms"; }
line() { if [[ "$1" == ok ]]; then echo "ok   $2"; else echo "FAIL $2"; failed=1; fi; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2" 2>/dev/null; }
# post PATH BODY [HEADER…]: prints the body, a newline and the status code.
post() {
    local path="$1" body="$2"
    shift 2
    curl -sS --max-time 10 -o /dev/stdout -w '\n%{http_code}' -X POST "$base$path" \
        -H "Content-Type: application/json" "$@" -d "$body"
}

echo "== user flows against $base$([[ $critical == 1 ]] && echo " (critical paths)")"
t="$(clock)"
health="$(post /health '{"check":"health"}')"
ready="$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$base/ready")"
if [[ "${health##*$'\n'}" == 200 && "$(field "${health%$'\n'*}" status)" == ok && "$ready" == 200 ]]; then
    line ok "health: the report API and the database answer, a pack is served ($(since "$t"))"
else
    line fail "health: POST /health gave HTTP ${health##*$'\n'} (${health%$'\n'*}), /ready $ready"
fi

t="$(clock)"
install="$(post /v1/install '{}')"
token="$(field "${install%$'\n'*}" install_token)"
if [[ -n "$token" ]]; then line ok "install: an install token is issued ($(since "$t"))"; else line fail "install: no token (HTTP ${install##*$'\n'}): ${install:0:200}"; fi

t="$(clock)"
verified="$("$bin" pack verify "$base/v1/" --root "$root" --format json 2>&1)"
if [[ $? == 0 ]]; then
    version="$(field "$verified" pack_version)"
    etag="$(curl -sS --max-time 10 -D - -o /dev/null "$base/v1/manifest.json" | tr -d '\r' | awk 'tolower($1) == "etag:" { print $2 }')"
    revalidated="$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base/v1/manifest.json")"
    if [[ -n "$etag" && "$revalidated" == 304 ]]; then
        line ok "pack: $version downloads, verifies against $root and revalidates with 304 ($(since "$t"))"
    else
        line fail "pack: $version verifies, but the manifest does not revalidate (ETag '${etag}', HTTP $revalidated)"
    fi
else
    line fail "pack: the served pack does not verify against $root: ${verified:0:300}"
fi

t="$(clock)"
scan="$("$bin" scan --url "https://smoke-test.invalid/login" --pack "$base/v1/" --root "$root" --format json 2>&1)"
status=$?
if [[ $status == 0 || $status == 10 || $status == 20 ]]; then
    line ok "scan: a page scanned with the served pack is $(field "$scan" level) ($(since "$t"))"
else
    line fail "scan: the scan with the served pack failed (exit $status): ${scan:0:300}"
fi

now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
report_body() {
    echo "{\"url\":\"https://smoke-test.invalid/$1\",\"reason\":\"other\",\"reason_text\":\"user flow smoke test\",\"timestamp\":\"$now\",\"extension_version\":\"0.0.0\",\"pack_version\":\"${version:-2000.01.01.00}\",\"score\":0,\"findings\":[]}"
}
t="$(clock)"
answer="$(post /v1/report "$(report_body report)" -H "X-Install-Token: $token")"
if [[ "${answer##*$'\n'}" == 201 && -n "$(field "${answer%$'\n'*}" id)" ]]; then
    line ok "report: accepted and committed as report $(field "${answer%$'\n'*}" id) ($(since "$t"))"
else
    line fail "report: not accepted (HTTP ${answer##*$'\n'}): ${answer:0:300}"
fi

if [[ $critical == 0 ]]; then
    t="$(clock)"
    answer="$(post /v1/false-positive "$(report_body false-positive)" -H "X-Install-Token: $token")"
    if [[ "${answer##*$'\n'}" == 201 ]]; then line ok "false positive: accepted ($(since "$t"))"; else line fail "false positive: HTTP ${answer##*$'\n'}: ${answer:0:300}"; fi

    t="$(clock)"
    answer="$(post /v1/telemetry '{"format":1,"period_seconds":3600,"extension_version":"0.0.0","sessions":1,"crashes":0,"page_loads":1,"detections":{"green":1,"yellow":0,"red":0},"detection_failures":0,"detection_latency_ms":{"10":1},"errors":{"pack_download":0,"pack_verify":0,"engine":0,"report_submit":0,"storage":0},"false_positive_reports":1,"pack_age_seconds":60,"memory_peak_mb":40,"cpu_mean_percent":1.0}' -H "X-Install-Token: $token")"
    if [[ "${answer##*$'\n'}" == 204 ]]; then line ok "telemetry: accepted ($(since "$t"))"; else line fail "telemetry: HTTP ${answer##*$'\n'}: ${answer:0:300}"; fi

    t="$(clock)"
    page="$(curl -sS --max-time 10 "$base/status.json")"
    if [[ -n "$(field "$page" services)" ]]; then line ok "status page: answers ($(since "$t"))"; else line fail "status page: ${page:0:200}"; fi
fi
if [[ $failed == 0 ]]; then echo "== every flow passed"; else echo "== a flow failed: see FAIL above"; fi
exit "$failed"
