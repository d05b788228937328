#!/usr/bin/env bash
# Console page latency on PostgreSQL with a million reports (the triage inbox included): a release `ferretwatch serve`
# on a fresh database filled with SQL (1,000,000 reports over 90 days on 200,000 URLs,
# 100,000 audit entries, 100,000 sign-in attempts over 7 days, 50 accounts), then wrk on
# every console page with a signed-in Admin's cookie (4 connections: a team at work, not a
# flood). Prints p50, p95 and p99 per page in milliseconds, each the median of RUNS runs,
# and fails when any page's p95 exceeds LIMIT_MS (default 100), or, for the inbox's text
# search (a scan of the moderation table, no index), SCAN_LIMIT_MS (default 500).
#
#   bench/console.sh
#
# Needs: wrk (apt-get install wrk), psql, python3, PostgreSQL on 127.0.0.1:5432 with trust
# auth. Knobs: RUNS (3), DURATION (10s), CONNECTIONS (4), REPORTS (1000000), LIMIT_MS (100).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-4}"
REPORTS="${REPORTS:-1000000}"
LIMIT_MS="${LIMIT_MS:-100}"
SCAN_LIMIT_MS="${SCAN_LIMIT_MS:-500}"
PG="${FERRETWATCH_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
command -v wrk >/dev/null || { echo "bench/console.sh: install wrk (apt-get install wrk)" >&2; exit 2; }

cargo build --release --quiet -p ferretwatch-cli
target="${CARGO_TARGET_DIR:-target}"
bin="$(cd "$target/release" && pwd)/ferretwatch"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
base="http://127.0.0.1:$port"
work="$(mktemp -d)"
dbname="fw_console_bench_$$"
psql "$PG" -qAt -c "CREATE DATABASE $dbname"
dburl="${PG%/*}/$dbname"
(
    cd "$work"
    export FERRETWATCH_LISTEN="127.0.0.1:$port" FERRETWATCH_METRICS_LISTEN="127.0.0.1:$(free_port)"
    export FERRETWATCH_LOG="${FERRETWATCH_LOG:-warn}"
    exec "$bin" serve --db "$dburl"
) >"$work/server.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    psql "$PG" -qAt -c "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 600); do curl -sf -o /dev/null "$base/ready" && break; sleep 0.2; done
curl -sf -o /dev/null "$base/ready" || { cat "$work/server.log" >&2; exit 1; }

# The Admin's session: a known cookie whose SHA-256 is stored, as the server stores it.
cookie="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
cookie_hash="$(python3 -c 'import hashlib, sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())' "$cookie")"
# And a Reviewer's, for the triage inbox.
reviewer="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
reviewer_hash="$(python3 -c 'import hashlib, sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())' "$reviewer")"
now_ms="$(python3 -c 'import time; print(int(time.time() * 1000))')"

echo "== filling the database ($REPORTS reports)"
start=$(date +%s)
psql "$dburl" -q -v ON_ERROR_STOP=1 <<SQL
ALTER TABLE reports DISABLE TRIGGER reports_append_only;
INSERT INTO moderation (url_hash, url, first_seen, last_seen, report_count, max_score)
SELECT decode(md5('u' || g) || md5('v' || g), 'hex'), 'https://phish-' || g || '.example.test/login',
       $now_ms - 90::bigint * 86400000, $now_ms - (g % 90)::bigint * 86400000, 5, g % 100
FROM generate_series(1, 200000) g;
INSERT INTO reports (received_at, kind, url, url_hash, reason, client_timestamp, extension_version, pack_version,
                     score, findings, install_token_id, client_net)
SELECT $now_ms - (g::bigint * 7776000000 / $REPORTS), CASE WHEN g % 10 = 0 THEN 'false_positive' ELSE 'report' END,
       'https://phish-' || (g % 200000 + 1) || '.example.test/login', decode(md5('u' || (g % 200000 + 1)) || md5('v' || (g % 200000 + 1)), 'hex'),
       'phishing_login', $now_ms, '0.1.0', '2026.12.04.00', g % 100, '[{"key":"idn_homograph_high","evidence":"x"}]'::jsonb,
       md5('t' || (g % 5000)), '203.0.' || (g % 250) || '.0/24'
FROM generate_series(1, $REPORTS) g;
INSERT INTO admin_accounts (email, role, password_hash, totp_secret, created_at, created_by, last_login_at)
SELECT 'admin' || g || '@example.test', (ARRAY['viewer','reviewer','publisher','admin','auditor'])[g % 5 + 1],
       '\$argon2id\$v=19\$m=19456,t=2,p=1\$c2FsdHNhbHQ\$aGFzaGhhc2hoYXNoaGFzaA', '\x00', $now_ms, 'bench', $now_ms
FROM generate_series(1, 50) g;
INSERT INTO admin_sessions (id_hash, account_id, stage, created_at, last_seen_at, expires_at)
SELECT decode('$cookie_hash', 'hex'), id, 'full', $now_ms, $now_ms, $now_ms + 86400000
FROM admin_accounts WHERE email = 'admin3@example.test';
INSERT INTO admin_sessions (id_hash, account_id, stage, created_at, last_seen_at, expires_at)
SELECT decode('$reviewer_hash', 'hex'), id, 'full', $now_ms, $now_ms, $now_ms + 86400000
FROM admin_accounts WHERE email = 'admin1@example.test';
INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash, key_id, signature)
SELECT g, $now_ms - (100000 - g)::bigint * 60000, 'admin' || (g % 50) || '@example.test',
       (ARRAY['account.invited','settings.changed','session.elevated','account.role_changed'])[g % 4 + 1],
       'target' || g, '{"note":"bench"}', decode(md5('p' || g) || md5('q' || g), 'hex'),
       decode(md5('h' || g) || md5('i' || g), 'hex'), 'bench', decode(md5('s' || g) || md5('s' || g), 'hex')
FROM generate_series(1, 100000) g;
INSERT INTO admin_access_logs (login_time, admin_email, ip_address, method, outcome, user_agent)
SELECT $now_ms - (g::bigint * 604800000 / 100000), 'admin' || (g % 60) || '@example.test', '198.51.' || (g % 200) || '.0/24',
       'password', CASE WHEN g % 7 = 0 THEN 'bad_password' ELSE 'success' END, 'Mozilla/5.0 bench'
FROM generate_series(1, 100000) g;
ALTER TABLE reports ENABLE TRIGGER reports_append_only;
VACUUM ANALYZE;
SQL
echo "   filled in $(( $(date +%s) - start )) s"

pages=(/admin/reports "/admin/reports?state=queued&sort=report_count" "/admin/reports?reason=phishing_login&min_score=90" "/admin/reports?q=phish-1234" "/admin/reports/$(python3 -c 'import hashlib; print(hashlib.md5(b"u7").hexdigest() + hashlib.md5(b"v7").hexdigest())')" /admin /admin/accounts /admin/settings /admin/audit "/admin/audit?before=50000" "/admin/audit?actor=admin7%40example.test" /admin/access /admin/account /admin/login)
# The sign-in page is measured signed out (signed in, it redirects to the dashboard).
cookie_for() {
    case "$1" in
        /admin/login) echo "none=1" ;;
        /admin/reports*) echo "__Host-fw_session=$reviewer" ;;
        *) echo "__Host-fw_session=$cookie" ;;
    esac
}
for page in "${pages[@]}"; do
    status="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $(cookie_for "$page")" "$base$page")"
    [ "$status" = 200 ] || { echo "$page answered $status" >&2; cat "$work/server.log" >&2; exit 1; }
done

cat >"$work/page.lua" <<'LUA'
wrk.headers["Cookie"] = os.getenv("FW_COOKIE")
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout
  io.write(string.format("RESULT %.2f %.2f %.2f %d %d\n", latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.requests, bad))
end
LUA

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo
echo "| page | p50 ms | p95 ms | p99 ms | requests/run |"
echo "|------|-------:|-------:|-------:|-------------:|"
failed=0
for page in "${pages[@]}"; do
    : >"$work/runs.txt"
    for _ in $(seq 1 "$RUNS"); do
        FW_COOKIE="$(cookie_for "$page")" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$work/page.lua" "$base$page" | awk '/^RESULT/ { print $2, $3, $4, $5, $6 }' >>"$work/runs.txt"
    done
    if awk '$5 > 0 { bad = 1 } END { exit !bad }' "$work/runs.txt"; then
        echo "$page: non-2xx responses or socket errors" >&2
        failed=1
    fi
    p50="$(awk '{ print $1 }' "$work/runs.txt" | median)"
    p95="$(awk '{ print $2 }' "$work/runs.txt" | median)"
    p99="$(awk '{ print $3 }' "$work/runs.txt" | median)"
    n="$(awk '{ print $4 }' "$work/runs.txt" | median)"
    echo "| \`$page\` | $p50 | $p95 | $p99 | $n |"
    limit="$LIMIT_MS"
    case "$page" in *q=*) limit="$SCAN_LIMIT_MS" ;; esac
    if awk -v p="$p95" -v l="$limit" 'BEGIN { exit !(p > l) }'; then
        echo "$page: p95 $p95 ms is over $limit ms" >&2
        failed=1
    fi
done
echo
echo "machine: $(nproc) cores; $RUNS runs of $DURATION, $CONNECTIONS connections; $REPORTS reports"
exit "$failed"
