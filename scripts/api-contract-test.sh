#!/usr/bin/env bash
# CI: the API contract. Builds `ferretwatch`, starts `ferretwatch serve` on free ports with
# a temporary data directory, waits for /ready, and runs schemathesis against its own
# /openapi.json with every check: no 5xx, status codes, content types, headers and bodies
# as documented. Exits non-zero on any failure.
#
# Rate limits are raised through FERRETWATCH_LIMITS_* for the run (schemathesis sends
# thousands of requests from one address); the limits themselves are covered by the
# server's tests. Requests carry a valid install token and a viewer admin token, so the
# generated bodies reach validation and the authenticated route answers 200.
# Needs: python3 -m pip install 'schemathesis==4.*' (done by .ci/run; 4.x because utoipa
# writes OpenAPI 3.1, which 3.x supports only experimentally).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
cargo build --quiet -p ferretwatch-cli --bin ferretwatch
bin="$(cd "$target/debug" && pwd)/ferretwatch"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
metrics_port="$(free_port)"
work="$(mktemp -d)"
base="http://127.0.0.1:$port"

(
    cd "$work"
    export FERRETWATCH_LISTEN="127.0.0.1:$port" FERRETWATCH_METRICS_LISTEN="127.0.0.1:$metrics_port"
    export FERRETWATCH_LIMITS_IP_PER_MINUTE=10000000 FERRETWATCH_LIMITS_IP_PER_DAY=10000000
    export FERRETWATCH_LIMITS_INSTALL_PER_MINUTE=10000000 FERRETWATCH_LIMITS_INSTALL_PER_DAY=10000000
    export FERRETWATCH_LOG=warn
    exec "$bin" serve
) >"$work/server.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$base/ready" && break
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "api-contract-test: the server exited:" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
    sleep 0.2
done
curl -sf -o /dev/null "$base/ready" || { echo "api-contract-test: not ready after 120 s" >&2; cat "$work/server.log" >&2; exit 1; }

install_token="$(curl -sf -X POST "$base/v1/install" | python3 -c 'import json, sys; print(json.load(sys.stdin)["install_token"])')"
admin_token="$(cd "$work" && "$bin" admin token create --role viewer --name contract-test 2>/dev/null)"

# Every check runs on every operation (schemathesis 4 enables all by default; a CLI
# --checks would override the per-operation setting below), except positive_data_acceptance ("a schema-valid
# request must be accepted") on the two report operations: their rules span fields and
# meaning (reason "other" needs reason_text; the URL must be http(s) with a host; the
# timestamp a real date no more than a day ahead), which the JSON Schema does not express,
# so schema-valid bodies are rightly refused with 422. Negative data must still be refused.
# A schema-violating body may also be refused as too large (413: the 10 KB limit comes
# before parsing).
cat >"$work/schemathesis.toml" <<'TOML'
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]

[[operations]]
include-path-regex = "^/v1/(report|false-positive)$"
checks.positive_data_acceptance.enabled = false
TOML

status=0
# From the temporary directory, so schemathesis' example database stays out of the tree.
cd "$work"
schemathesis --no-color --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
    --header "X-Install-Token: $install_token" \
    --header "Authorization: Bearer $admin_token" \
    --max-examples "${CONTRACT_MAX_EXAMPLES:-100}" \
    --seed 1 \
    --workers 2 || status=$?

if grep -q '"level":"ERROR"' "$work/server.log"; then
    echo "api-contract-test: the server logged errors:" >&2
    grep '"level":"ERROR"' "$work/server.log" | head -20 >&2
    status=1
fi
exit "$status"
