#!/usr/bin/env bash
# The incident drill, end to end on this machine with real parts: a `ferretwatch serve` on
# a PostgreSQL cluster of its own, a real Prometheus scraping it with the alert rules of
# deploy/prometheus/, and a real Alertmanager delivering to FerretWatch's webhook. The drill
# stops the database under the running server and checks, in order:
#   1. FerretWatchDatabaseDown fires and reaches POST /api/alerts: a P1 incident opens
#      (its time from the stop is printed: the time to detect);
#   2. the status page shows every service in outage;
#   3. nobody acknowledges it: it escalates, and the notification webhook hears both;
#   4. the database comes back: the alert's resolution reaches the incident's timeline;
#   5. `ferretwatch incident resolve` closes it into a post-mortem skeleton due in 48 h.
# Meanwhile `daily-health-check.sh` (with the metrics and Prometheus) must fail while the
# database is down, naming it and the firing P1, and pass once it is back; then
# `post-recovery-health-check.sh --comprehensive` must pass.
# Durations are shortened, never faked: the rules' `for:` to 2 s, scrapes and evaluations
# every second, the P1 response time to 10 s. Exits 1 when a step fails.
#
#   ./scripts/incident-drill.sh
#
# Needs Debian's prometheus, prometheus-alertmanager and postgresql (installed when
# missing; no system service is started). FERRETWATCH_BIN: a ferretwatch binary to use.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet 'pyyaml==6.*'
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "== installing ${missing[*]} (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi
pgbin="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
if [[ -n "${FERRETWATCH_BIN:-}" ]]; then
    bin="$FERRETWATCH_BIN"
else
    cargo build --quiet -p ferretwatch-cli
    bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/debug/ferretwatch"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work="$(mktemp -d)"
chmod 755 "$work"
pids=()
as_postgres() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    as_postgres "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
# Interrupted, or with its output closed: still stop everything it started.
trap 'exit 130' INT TERM HUP
trap '' PIPE
started="$(date +%s)"
step() { echo "== [$(( $(date +%s) - started )) s] $*"; }
fail() { echo "FAIL: $*" >&2; for f in serve alertmanager prometheus; do echo "--- $f.log (tail)" >&2; tail -20 "$work/$f.log" >&2 || true; done; exit 1; }

pgport="$(free_port)"; port="$(free_port)"; metrics="$(free_port)"; prom="$(free_port)"; am="$(free_port)"; sink="$(free_port)"
token="drill-webhook-token-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"

step "a PostgreSQL cluster of its own on 127.0.0.1:$pgport"
mkdir -p "$work/pg" "$work/pgsock" && chown postgres "$work/pg" "$work/pgsock" 2>/dev/null || true
as_postgres "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
start_pg() {
    as_postgres "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w \
        -o "-p $pgport -k $work/pgsock -c listen_addresses=127.0.0.1" start >/dev/null
}
start_pg
as_postgres "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -q -c 'CREATE DATABASE fw' >/dev/null

step "the notification webhook, ferretwatch serve, Alertmanager and Prometheus"
python3 - "$sink" "$work/notified" <<'PY' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with open(out, "ab") as f:
            f.write(body + b"\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Hook).serve_forever()
PY
pids+=($!)
cat > "$work/ferretwatch.toml" <<TOML
listen = "127.0.0.1:$port"
metrics_listen = "127.0.0.1:$metrics"
data_dir = "$work/data"
db = "postgres://postgres@127.0.0.1:$pgport/fw"
log = "warn"

[pool]
acquire_timeout_ms = 500

[limits]
ip_per_minute = 100000
ip_per_day = 1000000

[incidents]
webhook_token = "$token"
notify_url = "http://127.0.0.1:$sink/hook"
escalation_check_secs = 1
response_secs = [10, 3600, 14400, 86400]
TOML
"$bin" serve --config "$work/ferretwatch.toml" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/ready" >/dev/null || fail "ferretwatch serve did not become ready"

printf '%s' "$token" > "$work/webhook-token"
cat > "$work/alertmanager.yml" <<YAML
route:
  receiver: ferretwatch
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1m
receivers:
  - name: ferretwatch
    webhook_configs:
      - url: http://127.0.0.1:$port/api/alerts
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: $work/webhook-token
YAML
prometheus-alertmanager --config.file="$work/alertmanager.yml" --storage.path="$work/am" \
    --web.listen-address="127.0.0.1:$am" --cluster.listen-address= >"$work/alertmanager.log" 2>&1 &
pids+=($!)
# The rules as deployed, with every `for:` shortened to 2 s.
python3 - deploy/prometheus/rules/ferretwatch.rules.yml "$work/rules.yml" <<'PY'
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
for group in rules["groups"]:
    group["interval"] = "1s"
    for rule in group["rules"]:
        if "for" in rule:
            rule["for"] = "2s"
yaml.safe_dump(rules, open(sys.argv[2], "w"), sort_keys=False)
PY
cat > "$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [$work/rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:$am"]}]
scrape_configs:
  - job_name: ferretwatch
    static_configs: [{targets: ["127.0.0.1:$metrics"]}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom" >"$work/prometheus.log" 2>&1 &
pids+=($!)
query() { curl -sf "http://127.0.0.1:$prom/api/v1/query" --data-urlencode "query=$1"; }
for _ in $(seq 1 60); do
    query 'ferretwatch_store_up' 2>/dev/null | grep -q '"1"\]' && break
    sleep 0.5
done
query 'ferretwatch_store_up' | grep -q '"1"\]' || fail "Prometheus does not see ferretwatch_store_up 1"
admin_token="$("$bin" admin token create --role viewer --name drill --config "$work/ferretwatch.toml")"
export FERRETWATCH_HEALTH_WINDOW=1
health() {
    FERRETWATCH_URL="http://127.0.0.1:$port" FERRETWATCH_METRICS_URL="http://127.0.0.1:$metrics/metrics" \
        FERRETWATCH_PROMETHEUS_URL="http://127.0.0.1:$prom" ADMIN_TOKEN="$admin_token" \
        bash scripts/daily-health-check.sh
}
# Before the first scrape, the shortened rules may briefly see no pack: wait for a clean start.
passed=0
for _ in $(seq 1 30); do health >"$work/health.txt" && { passed=1; break; }; sleep 0.5; done
[[ $passed == 1 ]] || fail "the daily health check fails before the drill: $(cat "$work/health.txt")"
incidents() { "$bin" incident list --all --db "sqlite://$work/data/incidents.db" --format json; }
[[ "$(incidents | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["incidents"]))')" == 0 ]] || fail "an incident before the drill"

step "stopping the database under the running server"
as_postgres "$pgbin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null
stopped="$(date +%s.%N)"

id=""
for _ in $(seq 1 120); do
    id="$(incidents | python3 -c '
import json, sys
for i in json.load(sys.stdin)["incidents"]:
    if i["title"].startswith("FerretWatchDatabaseDown") and i["priority"] == "P1":
        print(i["id"]); break
')"
    [[ -n "$id" ]] && break
    sleep 0.5
done
[[ -n "$id" ]] || fail "no P1 incident for FerretWatchDatabaseDown within 60 s"
detect="$(python3 -c "import time; print(round(time.time() - $stopped, 1))")"
step "1. P1 incident #$id opened, $detect s after the database stopped"

page="$(curl -sf "http://127.0.0.1:$port/status.json")"
python3 -c '
import json, sys
page = json.loads(sys.argv[1])
assert page["status"] == "outage", page
assert all(s["status"] == "outage" for s in page["services"]), page
' "$page" || fail "the status page does not show the outage: $page"
curl -sf "http://127.0.0.1:$port/status" | grep -q 'id="service-reports">outage<' || fail "the HTML status page does not show the outage"
step "2. the status page shows every service in outage"
if health >"$work/health.txt"; then fail "the daily health check passed with the database down"; fi
grep -q "ferretwatch_store_up is \[0.0\]" "$work/health.txt" && grep -q "FerretWatchDatabaseDown (P1)" "$work/health.txt" \
    || fail "the daily health check does not name the database and the firing P1: $(cat "$work/health.txt")"
step "   the daily health check fails, naming the database and the firing P1"
if FERRETWATCH_URL="http://127.0.0.1:$port" FERRETWATCH_METRICS_URL="http://127.0.0.1:$metrics/metrics" \
    ADMIN_TOKEN="$admin_token" FERRETWATCH_BIN="$bin" FERRETWATCH_ROOT="$work/data/dev-keys/root.json" \
    bash scripts/post-recovery-health-check.sh --comprehensive >"$work/recovery.txt" 2>&1; then
    fail "the post-recovery health check passed with the database down"
fi
grep -q "FAIL report: not accepted" "$work/recovery.txt" || fail "no failed report flow: $(cat "$work/recovery.txt")"
step "   post-recovery-health-check.sh --comprehensive fails too: the report flow is down"

escalated=0
for _ in $(seq 1 60); do
    escalated="$("$bin" incident show "$id" --db "sqlite://$work/data/incidents.db" --format json \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["incident"]["escalations"])')"
    [[ "$escalated" -ge 1 ]] && break
    sleep 0.5
done
[[ "$escalated" -ge 1 ]] || fail "the unacknowledged P1 did not escalate within 30 s"
grep -q "opened" "$work/notified" && grep -q "ESCALATION 1" "$work/notified" \
    || fail "the notification webhook did not hear the opening and the escalation: $(cat "$work/notified" 2>/dev/null)"
step "3. unacknowledged, it escalated; the webhook heard: $(wc -l <"$work/notified") message(s)"

start_pg
resolved=""
for _ in $(seq 1 120); do
    resolved="$("$bin" incident show "$id" --db "sqlite://$work/data/incidents.db" --format json \
        | python3 -c 'import json,sys; print(any(e["kind"] == "alert_resolved" for e in json.load(sys.stdin)["timeline"]))')"
    [[ "$resolved" == True ]] && break
    sleep 0.5
done
[[ "$resolved" == True ]] || fail "the alert's resolution did not reach the incident within 60 s"
step "4. the database is back; the alert's resolution is on the timeline"
# The outage's 503s also raised the admin and report error rates; ordinary traffic after
# recovery brings them back under their thresholds (as users would).
for _ in $(seq 1 150); do
    curl -s -o /dev/null -H "Authorization: Bearer $admin_token" "http://127.0.0.1:$port/api/health"
    curl -s -o /dev/null -X POST "http://127.0.0.1:$port/v1/install"
done
passed=0
for _ in $(seq 1 120); do health >"$work/health.txt" && { passed=1; break; }; sleep 0.5; done
[[ $passed == 1 ]] || fail "the daily health check still fails with the database back: $(cat "$work/health.txt")"
step "   the daily health check passes again"
if ! FERRETWATCH_URL="http://127.0.0.1:$port" FERRETWATCH_METRICS_URL="http://127.0.0.1:$metrics/metrics" \
    FERRETWATCH_PROMETHEUS_URL="http://127.0.0.1:$prom" ADMIN_TOKEN="$admin_token" FERRETWATCH_BIN="$bin" \
    FERRETWATCH_ROOT="$work/data/dev-keys/root.json" FERRETWATCH_CONFIG="$work/ferretwatch.toml" \
    bash scripts/post-recovery-health-check.sh --comprehensive >"$work/recovery.txt" 2>&1; then
    fail "the post-recovery health check fails: $(cat "$work/recovery.txt")"
fi
grep -q "report: accepted and committed as report" "$work/recovery.txt" && grep -q "the audit chain verifies" "$work/recovery.txt" \
    || fail "the post-recovery health check skipped a check: $(cat "$work/recovery.txt")"
step "   post-recovery-health-check.sh --comprehensive: $(grep -c '^ok ' "$work/recovery.txt") checks passed"

out="$("$bin" incident resolve "$id" --summary "database stopped by the drill; restarted" \
    --postmortem-dir "$work/postmortems" --db "sqlite://$work/data/incidents.db")"
# The outage's other alerts (error rates of the services that needed the database) opened
# incidents of their own: the same outage, resolved with it.
others="$(incidents | python3 -c '
import json, sys
print(" ".join(str(i["id"]) for i in json.load(sys.stdin)["incidents"] if i["state"] != "resolved"))')"
for other in $others; do
    "$bin" incident resolve "$other" --summary "consequence of incident $id (database stopped)" \
        --postmortem-dir "$work/postmortems" --db "sqlite://$work/data/incidents.db" >/dev/null \
        || fail "could not resolve incident $other"
done
[[ -z "$others" ]] || step "   the outage's other incidents (#${others// /, #}: error rates of the services) resolved with it"
pm="$work/postmortems/INCIDENT-$id-postmortem.md"
[[ -f "$pm" ]] || fail "no post-mortem skeleton: $out"
grep -Eq "^# Post-mortem: INC-[0-9]{4}-0*$id \(incident $id\) — FerretWatchDatabaseDown" "$pm" && grep -q "escalated" "$pm" \
    && grep -q "^Due: " "$pm" || fail "the post-mortem skeleton lacks its facts: $(head -20 "$pm")"
[[ "$(curl -sf "http://127.0.0.1:$port/status.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" == operational ]] \
    || fail "the status page is not back to operational"
step "5. resolved into $(basename "$pm") (due $(grep '^Due: ' "$pm" | awk '{print $2}')); the status page is operational"

# The runbook's §7.3 security timeline of the drill's incident, by the name the runbook uses,
# and the §10 figures from the records.
reference="$(incidents | python3 -c 'import json,sys; print(next(i["reference"] for i in json.load(sys.stdin)["incidents"] if i["id"] == '"$id"'))')"
FERRETWATCH_CONFIG="$work/ferretwatch.toml" FERRETWATCH_BIN="$bin" \
    bash scripts/security-timeline.sh --incident-id "$reference" >"$work/timeline.txt" 2>&1 \
    || fail "security-timeline.sh --incident-id $reference failed: $(cat "$work/timeline.txt")"
grep -q "alert_firing" "$work/timeline.txt" && grep -q "alert_resolved" "$work/timeline.txt" \
    && grep -q "escalated" "$work/timeline.txt" || fail "the security timeline lacks the incident's events: $(cat "$work/timeline.txt")"
stats="$("$bin" incident stats --days 1 --config "$work/ferretwatch.toml" --format json)" || fail "incident stats failed"
figures="$(python3 -c '
import json, sys
s = json.loads(sys.argv[1]); p1 = next(p for p in s["priorities"] if p["priority"] == "P1"); c = s["changes"]
print("P1 MTTD %s s, MTTR %s s; %s pack deploy(s), change failure rate %s"
      % (p1["mttd_seconds"], p1["mttr_seconds"], c["deploys"], c["change_failure_rate"]))' "$stats")" \
    || fail "incident stats lacks its figures: $stats"
step "6. security-timeline.sh --incident-id $reference: $(grep -c '^  ' "$work/timeline.txt") lines; $figures"
echo "== the incident drill passed: time to detect $detect s (scrape 1 s, for 2 s, Alertmanager group_wait 1 s)"
