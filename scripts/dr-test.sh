#!/usr/bin/env bash
# Runbook 5.1 monthly "Disaster recovery test": a full recovery of the report database,
# measured, on this machine with real parts. No system service is touched: the drill makes
# its own PostgreSQL clusters on free loopback ports.
#   1. the primary: a fresh PostgreSQL cluster, `ferretwatch serve` on it, and
#      FERRETWATCH_DR_REPORTS reports (default 1,000,000) loaded into its report log;
#   2. the backups, as production takes them (docs/backups.md):
#      - WAL archiving on (the default): `pg_receivewal --synchronous` streams the WAL to
#        the archive, and the primary waits for it before a commit returns
#        (synchronous_standby_names), then a base backup (`pg_basebackup`);
#      - FERRETWATCH_DR_WAL=off: only the hourly logical backup
#        (`ferretwatch backup create`);
#   3. load: clients submit reports through the API; every acknowledged one (201 and its
#      id) is written down with the time it was acknowledged;
#   4. the loss: the primary is killed (SIGKILL) and its data directory deleted, under load;
#   5. the recovery: a new cluster restored from the base backup and the archived WAL (or
#      from the latest logical backup), `ferretwatch serve` started against it, then
#      `smoke-test-user-flows.sh --critical-paths` and
#      `post-recovery-health-check.sh --comprehensive`;
#   6. the figures: RTO (from the loss until the critical user flows pass again), RPO (the
#      time between the last report acknowledged before the loss and the newest
#      acknowledged report recovered), and the acknowledged reports lost.
# A report is written to FERRETWATCH_DR_REPORT_DIR (default ./dr-reports) as JSON and
# Markdown. Exit 1 when a step fails, when the RTO or the RPO is over its target
# (FERRETWATCH_DR_RTO_TARGET, default 14400 s; FERRETWATCH_DR_RPO_TARGET, default 3600 s:
# the runbook's four hours and one hour), or when WAL archiving is on and an acknowledged
# report was lost.
# Other settings: FERRETWATCH_DR_LOAD_SECONDS (load before the loss, default 20),
# FERRETWATCH_DR_WAL (on or off), FERRETWATCH_BIN (a ferretwatch binary; default: built).
#
#   ./scripts/dr-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    "") ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
reports="${FERRETWATCH_DR_REPORTS:-1000000}"
wal="${FERRETWATCH_DR_WAL:-on}"
load_seconds="${FERRETWATCH_DR_LOAD_SECONDS:-20}"
rto_target="${FERRETWATCH_DR_RTO_TARGET:-14400}"
rpo_target="${FERRETWATCH_DR_RPO_TARGET:-3600}"
report_dir="${FERRETWATCH_DR_REPORT_DIR:-dr-reports}"
for n in reports load_seconds rto_target rpo_target; do
    [[ "${!n}" =~ ^[0-9]+$ ]] || { echo "FERRETWATCH_DR_${n^^}: a whole number, not '${!n}'" >&2; exit 2; }
done
[[ "$wal" == on || "$wal" == off ]] || { echo "FERRETWATCH_DR_WAL: on or off, not '$wal'" >&2; exit 2; }

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "== installing postgresql (Debian; no system service is started)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends postgresql >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends postgresql >/dev/null; }
fi
pgbin="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
if [[ -n "${FERRETWATCH_BIN:-}" ]]; then
    bin="$FERRETWATCH_BIN"
else
    cargo build --quiet -p ferretwatch-cli
    bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/debug/ferretwatch"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_postgres() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
work="$(mktemp -d /tmp/ferretwatch-dr.XXXXXX)"
chmod 755 "$work"
mkdir -p "$work/archive/wal" "$work/sock" "$work/pglog"
[[ "$(id -u)" == 0 ]] && chown postgres "$work/archive" "$work/archive/wal" "$work/sock" "$work/pglog"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for d in primary restored; do
        [[ -d "$work/$d" ]] && as_postgres "$pgbin/pg_ctl" -D "$work/$d" -m immediate stop >/dev/null 2>&1
    done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
started="$(date +%s)"
now() { date +%s.%N; }
step() { echo "== [$(( $(date +%s) - started )) s] $*"; }
fail() {
    echo "FAIL: $*" >&2
    for f in serve.log serve-restored.log pglog/primary.log pglog/restored.log receivewal.log load.err; do
        [[ -f "$work/$f" ]] && { echo "--- $f (tail)" >&2; tail -15 "$work/$f" >&2; }
    done
    exit 1
}
psql_at() { as_postgres "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "${2:-postgres}" -Atc "$3"; }
new_cluster() { # DIR PORT: initdb and start an empty cluster
    mkdir -p "$work/$1" && [[ "$(id -u)" == 0 ]] && chown postgres "$work/$1"
    as_postgres "$pgbin/initdb" -D "$work/$1" -A trust -U postgres >/dev/null
    start_cluster "$1" "$2"
}
start_cluster() { # DIR PORT
    as_postgres "$pgbin/pg_ctl" -D "$work/$1" -l "$work/pglog/$1.log" -w -t 300 \
        -o "-p $2 -k $work/sock -c listen_addresses=127.0.0.1 -c max_wal_senders=4 -c wal_level=replica" start >/dev/null
}
start_serve() { # DB_PORT LOG
    cat > "$work/ferretwatch.toml" <<TOML
listen = "127.0.0.1:$port"
metrics_listen = "127.0.0.1:$metrics"
data_dir = "$work/service"
db = "postgres://postgres@127.0.0.1:$1/fw"
log = "warn"

[pool]
acquire_timeout_ms = 1000

[limits]
ip_per_minute = 1000000
ip_per_day = 100000000
install_per_minute = 1000000
install_per_day = 100000000

[captcha]
after_per_minute = 1000000
TOML
    "$bin" serve --config "$work/ferretwatch.toml" >"$work/$2" 2>&1 &
    serve_pid=$!
    pids+=("$serve_pid")
    for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && return 0; sleep 0.2; done
    return 1
}

pgport="$(free_port)"; port="$(free_port)"; metrics="$(free_port)"
step "1. the primary: a new PostgreSQL cluster on 127.0.0.1:$pgport and ferretwatch serve on it"
new_cluster primary "$pgport"
psql_at "$pgport" postgres 'CREATE DATABASE fw'
start_serve "$pgport" serve.log || fail "ferretwatch serve did not become ready"

step "   loading $reports reports into the report log"
t="$(now)"
# Shaped like real reports: a URL reported ten times on average, findings, tokens, nets,
# received over the last 80 days (inside the retention period).
psql_at "$pgport" fw "
INSERT INTO moderation (url_hash, url, first_seen, last_seen, report_count, max_score)
SELECT sha256(convert_to('https://loaded-' || g || '.example.invalid/login', 'UTF8')),
       'https://loaded-' || g || '.example.invalid/login',
       (extract(epoch FROM now()) * 1000)::bigint - 80::bigint * 86400000, (extract(epoch FROM now()) * 1000)::bigint,
       10, 90
FROM generate_series(0, greatest($reports / 10, 1) - 1) AS g;
INSERT INTO reports (received_at, kind, url, url_hash, reason, reason_text, client_timestamp,
                     extension_version, pack_version, score, findings, install_token_id, client_net)
SELECT (extract(epoch FROM now()) * 1000)::bigint - (g::bigint * 6911) % (80::bigint * 86400000),
       CASE WHEN g % 20 = 0 THEN 'false_positive' ELSE 'report' END,
       'https://loaded-' || (g % greatest($reports / 10, 1)) || '.example.invalid/login',
       sha256(convert_to('https://loaded-' || (g % greatest($reports / 10, 1)) || '.example.invalid/login', 'UTF8')),
       (ARRAY['phishing_login','payment_fraud','malware_download','brand_impersonation','data_exfiltration'])[1 + g % 5],
       NULL,
       (extract(epoch FROM now()) * 1000)::bigint - (g::bigint * 6911) % (80::bigint * 86400000) - 1500,
       '1.4.2', '2026.12.01.00', 40 + g % 60,
       jsonb_build_array(jsonb_build_object('key', 'brand.lookalike', 'evidence', 'loaded-' || g),
                         jsonb_build_object('key', 'form.password', 'evidence', '<input type=password>')),
       'inst_' || (g % 5000), '198.51.100.0/24'
FROM generate_series(0, $reports - 1) AS g;
ANALYZE;"
loaded="$(psql_at "$pgport" fw 'SELECT count(*) FROM reports')"
[[ "$loaded" -ge "$reports" ]] || fail "only $loaded reports loaded"
load_time="$(python3 -c "print(round($(now) - $t, 1))")"
db_size="$(psql_at "$pgport" fw "SELECT pg_size_pretty(pg_database_size('fw'))")"
step "   $loaded reports in $load_time s; the database is $db_size"

step "2. the backups (WAL archiving $wal)"
if [[ "$wal" == on ]]; then
    conn="host=127.0.0.1 port=$pgport user=postgres application_name=ferretwatch_wal"
    as_postgres "$pgbin/pg_receivewal" -d "$conn" --slot ferretwatch_wal --create-slot --if-not-exists >/dev/null 2>&1
    as_postgres "$pgbin/pg_receivewal" -d "$conn" --slot ferretwatch_wal --synchronous --no-loop \
        -D "$work/archive/wal" >"$work/receivewal.log" 2>&1 &
    receiver=$!
    pids+=("$receiver")
    for _ in $(seq 1 100); do
        [[ "$(psql_at "$pgport" postgres "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'ferretwatch_wal'")" == 1 ]] && break
        sleep 0.1
    done
    psql_at "$pgport" postgres "ALTER SYSTEM SET synchronous_standby_names = 'ferretwatch_wal'"
    psql_at "$pgport" postgres "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 1 100); do
        [[ "$(psql_at "$pgport" postgres "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'ferretwatch_wal'")" == sync ]] && break
        sleep 0.1
    done
    [[ "$(psql_at "$pgport" postgres "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'ferretwatch_wal'")" == sync ]] \
        || fail "pg_receivewal is not a synchronous WAL receiver"
    step "   pg_receivewal streams the WAL synchronously: a commit returns once the archive has it"
    t="$(now)"
    as_postgres deploy/postgresql/base-backup.sh --conninfo "host=127.0.0.1 port=$pgport user=postgres" \
        --dest "$work/archive" --keep 2 >"$work/basebackup.log" 2>&1 || fail "base-backup.sh: $(tail -3 "$work/basebackup.log")"
    backup_time="$(python3 -c "print(round($(now) - $t, 1))")"
    backup_at="$(now)"
    step "   base backup in $backup_time s ($(du -sh "$work/archive/base" | cut -f1)), deploy/postgresql/base-backup.sh"
else
    t="$(now)"
    backup_at="$t"
    "$bin" backup create --to "file://$work/archive/logical" --db "postgres://postgres@127.0.0.1:$pgport/fw" \
        --format json >"$work/backup.json" 2>"$work/backup.err" || fail "backup create: $(tail -5 "$work/backup.err")"
    backup_time="$(python3 -c "print(round($(now) - $t, 1))")"
    step "   logical backup $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/backup.json") in $backup_time s"
fi

step "3. load: clients submit reports through the API for $load_seconds s"
python3 - "http://127.0.0.1:$port" "$work/acks" "$work/stop" <<'PY' 2>"$work/load.err" &
import json, sys, threading, time, urllib.request, urllib.error
base, acks, stop = sys.argv[1], sys.argv[2], sys.argv[3]
import os
out = open(acks, "a", buffering=1)
lock = threading.Lock()
def post(path, body, token=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **({"X-Install-Token": token} if token else {})})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, json.loads(r.read() or b"{}")
def worker(n):
    token = post("/v1/install", {})[1]["install_token"]
    i = 0
    while not os.path.exists(stop):
        i += 1
        url = f"https://dr-{n}-{i}.invalid/login"
        body = {"url": url, "reason": "phishing_login", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "extension_version": "1.4.2", "pack_version": "2026.12.01.00", "score": 80, "findings": []}
        try:
            status, answer = post("/v1/report", body, token)
            if status == 201:
                with lock:
                    out.write(f"{answer['id']} {time.time():.6f} {url}\n")
        except Exception as e:
            with lock:
                print(f"{time.time():.3f} {type(e).__name__}: {e}", file=sys.stderr)
            time.sleep(0.05)
threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
for t in threads: t.start()
for t in threads: t.join()
PY
loader=$!
pids+=("$loader")
sleep "$load_seconds"
acked_before="$(wc -l < "$work/acks" 2>/dev/null || echo 0)"
[[ "$acked_before" -gt 0 ]] || fail "no report was acknowledged under load"

step "4. the loss: the primary is killed and its data directory deleted, under load ($acked_before reports acknowledged so far)"
postmaster="$(head -1 "$work/primary/postmaster.pid")"
kill -9 "$postmaster"
lost_at="$(now)"
pkill -9 -P "$postmaster" 2>/dev/null || true
rm -rf "$work/primary"
sleep 1
touch "$work/stop"
wait "$loader" 2>/dev/null || true
kill "$serve_pid" 2>/dev/null || true
wait "$serve_pid" 2>/dev/null || true
[[ -n "${receiver:-}" ]] && { kill "$receiver" 2>/dev/null || true; wait "$receiver" 2>/dev/null || true; }
acked="$(wc -l < "$work/acks")"
last_ack="$(awk '{ if ($2 > m) m = $2 } END { printf "%.6f", m }' "$work/acks")"
step "   $acked reports acknowledged in all; the last $(python3 -c "print(round($lost_at - $last_ack, 3))") s before the loss"

step "5. the recovery"
newport="$(free_port)"
if [[ "$wal" == on ]]; then
    mkdir -m 700 "$work/restored" && [[ "$(id -u)" == 0 ]] && chown postgres "$work/restored"
    as_postgres deploy/postgresql/pitr-restore.sh --archive "$work/archive" --pgdata "$work/restored" \
        --start "$newport" --socket-dir "$work/sock" >"$work/restore.log" 2>&1 \
        || fail "pitr-restore.sh: $(tail -5 "$work/restore.log")"
    step "   a new cluster from the base backup and the archived WAL, promoted at the end of the WAL"
else
    new_cluster restored "$newport"
    psql_at "$newport" postgres 'CREATE DATABASE fw'
    "$bin" backup restore --from "file://$work/archive/logical" --backup latest --config "$work/ferretwatch.toml" \
        --db "postgres://postgres@127.0.0.1:$newport/fw" --force >"$work/restore.log" 2>&1 \
        || fail "backup restore: $(tail -5 "$work/restore.log")"
    step "   a new cluster, the latest logical backup restored into it"
fi
start_serve "$newport" serve-restored.log || fail "ferretwatch serve did not become ready on the restored database"
root="$work/service/dev-keys/root.json"
FERRETWATCH_URL="http://127.0.0.1:$port" FERRETWATCH_ROOT="$root" FERRETWATCH_BIN="$bin" \
    bash scripts/smoke-test-user-flows.sh --critical-paths >"$work/smoke.txt" 2>&1 \
    || fail "the critical user flows fail after the recovery: $(cat "$work/smoke.txt")"
recovered_at="$(now)"
sed 's/^/   /' "$work/smoke.txt"
admin_token="$("$bin" admin token create --role viewer --name "dr-test-$(date +%s)" --config "$work/ferretwatch.toml" 2>>"$work/serve-restored.log")"
FERRETWATCH_URL="http://127.0.0.1:$port" FERRETWATCH_METRICS_URL="http://127.0.0.1:$metrics/metrics" \
    FERRETWATCH_ROOT="$root" FERRETWATCH_BIN="$bin" FERRETWATCH_CONFIG="$work/ferretwatch.toml" ADMIN_TOKEN="$admin_token" \
    FERRETWATCH_HEALTH_WINDOW=1 bash scripts/post-recovery-health-check.sh --comprehensive >"$work/health.txt" 2>&1 \
    || fail "the post-recovery health check fails: $(cat "$work/health.txt")"
step "   post-recovery-health-check.sh --comprehensive: $(grep -c '^ok ' "$work/health.txt") checks passed"

step "6. the figures"
as_postgres cp "$work/acks" "$work/sock/acks"
present="$(psql_at "$newport" fw "
CREATE TEMP TABLE acked (id bigint, at double precision, url text);
COPY acked FROM '$work/sock/acks' WITH (DELIMITER ' ');
SELECT count(*), coalesce(max(a.at), 0) FROM acked a JOIN reports r ON r.id = a.id AND r.url = a.url;")"
recovered_acks="${present%%|*}"
newest_recovered="${present##*|}"
total="$(psql_at "$newport" fw 'SELECT count(*) FROM reports')"
python3 - "$work/figures.json" <<PY
import json, sys
acked, recovered = $acked, $recovered_acks
lost_at, last_ack, newest = $lost_at, $last_ack, $newest_recovered
figures = {
    "wal_archiving": "$wal" == "on",
    "reports_loaded": $loaded,
    "database_size": "$db_size",
    "backup_seconds": $backup_time,
    "backup_age_at_loss_seconds": round(lost_at - $backup_at, 3),
    "acknowledged": acked,
    "acknowledged_recovered": recovered,
    "acknowledged_lost": acked - recovered,
    "reports_in_restored_database": $total,
    "rto_seconds": round($recovered_at - lost_at, 3),
    # The newest acknowledged report recovered; with none, the backup is what was recovered.
    "rpo_seconds": round(max(last_ack - (newest if recovered else $backup_at), 0.0), 3),
    "rto_target_seconds": $rto_target,
    "rpo_target_seconds": $rpo_target,
}
json.dump(figures, open(sys.argv[1], "w"), indent=2)
PY
eval "$(python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
for k in ("rto_seconds", "rpo_seconds", "acknowledged_lost", "backup_age_at_loss_seconds"):
    print(f"{k}={f[k]}")
' "$work/figures.json")"
echo "   RTO $rto_seconds s (target $rto_target s)"
echo "   RPO $rpo_seconds s (target $rpo_target s); the backup was $backup_age_at_loss_seconds s old at the loss"
echo "   acknowledged reports lost: $acknowledged_lost of $acked"

verdict=ok
problems=()
python3 -c "import sys; sys.exit(0 if $rto_seconds <= $rto_target else 1)" || problems+=("the RTO $rto_seconds s is over $rto_target s")
python3 -c "import sys; sys.exit(0 if $rpo_seconds <= $rpo_target else 1)" || problems+=("the RPO $rpo_seconds s is over $rpo_target s")
if [[ "$wal" == on && "$acknowledged_lost" != 0 ]]; then problems+=("$acknowledged_lost acknowledged reports were lost with WAL archiving on"); fi
[[ ${#problems[@]} -gt 0 ]] && verdict=FAIL

mkdir -p "$report_dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
python3 - "$work/figures.json" "$report_dir/dr-test-$stamp" "$verdict" "$(hostname)" "$work/smoke.txt" "$work/health.txt" "${problems[@]}" <<'PY'
import json, os, sys, datetime
figures = json.load(open(sys.argv[1]))
out, verdict, host, smoke, health = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
problems = sys.argv[7:]
figures.update({"verdict": verdict, "problems": problems, "host": host,
                "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "smoke_test": open(smoke).read().splitlines(), "post_recovery_health": open(health).read().splitlines()})
old = os.umask(0o077)
json.dump(figures, open(out + ".json", "w"), indent=2)
with open(out + ".md", "w") as md:
    md.write(f"# Disaster recovery test, {figures['finished_at']}\n\n")
    md.write(f"Verdict: **{verdict}** on {host}. WAL archiving {'on' if figures['wal_archiving'] else 'off'}.\n\n")
    md.write("| figure | value | target |\n|---|---|---|\n")
    md.write(f"| RTO | {figures['rto_seconds']} s | {figures['rto_target_seconds']} s |\n")
    md.write(f"| RPO | {figures['rpo_seconds']} s | {figures['rpo_target_seconds']} s |\n")
    md.write(f"| acknowledged reports lost | {figures['acknowledged_lost']} of {figures['acknowledged']} | {'0' if figures['wal_archiving'] else '—'} |\n")
    md.write(f"| reports in the database | {figures['reports_in_restored_database']} ({figures['database_size']} before the loss) | |\n")
    md.write(f"| backup | {figures['backup_seconds']} s, {figures['backup_age_at_loss_seconds']} s old at the loss | |\n")
    for p in problems:
        md.write(f"\n- FAIL: {p}")
    md.write("\n\n## Critical user flows after the recovery\n\n```\n" + "\n".join(figures["smoke_test"]) + "\n```\n")
os.umask(old)
PY
step "   report: $report_dir/dr-test-$stamp.json and .md"
if [[ "$verdict" != ok ]]; then
    for p in "${problems[@]}"; do echo "FAIL: $p" >&2; done
    exit 1
fi
echo "== the recovery met its targets"
