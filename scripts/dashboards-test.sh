#!/usr/bin/env bash
# The Grafana dashboards of deploy/grafana/ (docs/dashboards.md), proved against real data:
# - the dashboard JSON and the provisioning files are checked (every panel has a unique id,
#   a title, a description, the datasource uid `prometheus` and PromQL targets; no
#   ${DS_…} inputs);
# - a real `ferretwatch serve` (SQLite in a scratch directory, free loopback ports, a fake
#   CAPTCHA verifier) is scraped every second by a real Prometheus (Debian's `prometheus`,
#   installed when missing; its service is never started) that loads
#   deploy/prometheus/rules/ferretwatch.rules.yml with its groups evaluated every 2 s;
# - load is driven for DASHBOARDS_TEST_LOAD_SECONDS (default 30): pack fetches with and
#   without If-None-Match, a pack deployment, installs, reports and false positives, bad
#   requests, bursts refused by each rate-limit scope, CAPTCHA passes and failures,
#   connections over the per-address cap, console pages and health checks;
# - every target of every panel (and every annotation) of both dashboards is queried
#   with /api/v1/query and must return data; some must also show what the load produced
#   (each rate-limit scope, each CAPTCHA result, a deployment, 304s, connections refused).
# One line per panel: ok, FAIL or SKIPPED (with the reason). Exits 1 if any FAIL.
#
#   ./scripts/dashboards-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
started=$SECONDS
load_seconds="${DASHBOARDS_TEST_LOAD_SECONDS:-30}"

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    echo "== installing prometheus (Debian; its service is not started)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends prometheus >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends prometheus >/dev/null; }
fi
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet 'pyyaml==6.*'

echo "== dashboard JSON and provisioning"
static_rc=0
python3 - <<'PY' || static_rc=1
import glob, json, re, sys, yaml

DS = {"type": "prometheus", "uid": "prometheus"}
problems = []
uids = set()
files = sorted(glob.glob("deploy/grafana/dashboards/*.json"))
if len(files) < 2:
    problems.append(f"expected the operations and security dashboards, found {files}")
for path in files:
    text = open(path).read()
    if "${DS_" in text or "__inputs" in text:
        problems.append(f"{path}: uses a ${{DS_…}} input; name the datasource by uid `prometheus`")
    d = json.loads(text)
    name = path.rsplit("/", 1)[-1]
    for key in ("uid", "title", "description"):
        if not d.get(key):
            problems.append(f"{name}: no {key}")
    if d.get("uid") in uids:
        problems.append(f"{name}: uid {d.get('uid')} used twice")
    uids.add(d.get("uid"))
    if not isinstance(d.get("schemaVersion"), int) or not 36 <= d["schemaVersion"] <= 41:
        problems.append(f"{name}: schemaVersion {d.get('schemaVersion')!r} (expected about 39)")
    for var in d.get("templating", {}).get("list", []):
        if var.get("type") == "query" and var.get("datasource") != DS:
            problems.append(f"{name}: variable {var.get('name')}: datasource {var.get('datasource')}")
    for a in d.get("annotations", {}).get("list", []):
        if a.get("builtIn"):
            continue
        if a.get("datasource") != DS or not a.get("expr"):
            problems.append(f"{name}: annotation {a.get('name')!r}: datasource uid prometheus and an expr needed")
    ids, titles = set(), set()
    panels = d.get("panels", [])
    if not panels:
        problems.append(f"{name}: no panels")
    for p in panels:
        where = f"{name}: panel {p.get('id')} {p.get('title')!r}"
        if p.get("type") == "row" or p.get("panels"):
            problems.append(f"{where}: rows are not used (every panel carries its own queries)")
        if not isinstance(p.get("id"), int) or p["id"] in ids:
            problems.append(f"{where}: id missing or not unique")
        ids.add(p.get("id"))
        if not p.get("title") or p["title"] in titles:
            problems.append(f"{where}: title missing or not unique")
        titles.add(p.get("title"))
        if not (p.get("description") or "").strip():
            problems.append(f"{where}: no description")
        if p.get("datasource") != DS:
            problems.append(f"{where}: datasource {p.get('datasource')} (expected {DS})")
        if not all(k in p.get("gridPos", {}) for k in "xywh"):
            problems.append(f"{where}: no gridPos")
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{where}: no targets")
        refs = set()
        for t in targets:
            if t.get("datasource") != DS:
                problems.append(f"{where} [{t.get('refId')}]: datasource {t.get('datasource')}")
            if not (t.get("expr") or "").strip():
                problems.append(f"{where} [{t.get('refId')}]: no expr")
            if t.get("refId") in refs:
                problems.append(f"{where}: refId {t.get('refId')} twice")
            refs.add(t.get("refId"))
            unknown = set(re.findall(r"\$\{?(\w+)", t.get("expr", ""))) - {"__rate_interval", "__range", "instance"}
            if unknown:
                problems.append(f"{where} [{t.get('refId')}]: variables {sorted(unknown)} the test cannot substitute")
    print(f"{name}: {len(panels)} panels, {sum(len(p.get('targets', [])) for p in panels)} targets")

ds = yaml.safe_load(open("deploy/grafana/provisioning/datasources/prometheus.yml"))
found = [s for s in ds.get("datasources", []) if s.get("uid") == "prometheus"]
if ds.get("apiVersion") != 1 or len(found) != 1 or found[0].get("type") != "prometheus" or not found[0].get("url"):
    problems.append("provisioning/datasources/prometheus.yml: one datasource of type prometheus, uid prometheus, with a url")
dash = yaml.safe_load(open("deploy/grafana/provisioning/dashboards/ferretwatch.yml"))
providers = dash.get("providers", [])
if dash.get("apiVersion") != 1 or not providers or providers[0].get("type") != "file" \
        or not providers[0].get("options", {}).get("path"):
    problems.append("provisioning/dashboards/ferretwatch.yml: a file provider with options.path")
for p in problems:
    print("FAIL", p)
sys.exit(1 if problems else 0)
PY

cargo build --quiet -p ferretwatch-cli --bin ferretwatch
bin="$(cd "${CARGO_TARGET_DIR:-target}/debug" && pwd)/ferretwatch"

work="$(mktemp -d)"
server_pid=""
prom_pid=""
load_pid=""
cleanup() {
    for pid in $load_pid $server_pid $prom_pid; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $load_pid $server_pid $prom_pid; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
metrics_port="$(free_port)"
prom_port="$(free_port)"
captcha_port="$(free_port)"
# A second "instance" in the scrape job that nobody serves: `up` 0 for it, so that
# FerretWatchDown is pending and the alert panels show a real ALERTS series.
down_port="$(free_port)"
base="http://127.0.0.1:$port"
prom="http://127.0.0.1:$prom_port"

# The limits are small enough for a few hundred requests to meet each scope; the CAPTCHA
# verifier is the load driver's own (tokens "pass…" pass, "fail" fails, "down" gets a 500).
mkdir -p "$work/data" "$work/prometheus"
cat >"$work/ferretwatch.toml" <<EOF
listen = "127.0.0.1:$port"
metrics_listen = "127.0.0.1:$metrics_port"
data_dir = "$work/data"
db = "sqlite://$work/data/ferretwatch.db"
log = "warn"
shutdown_grace_seconds = 1

[limits]
ip_per_minute = 60
ip_per_day = 100000
install_per_minute = 3
install_per_day = 1000
max_connections_per_ip = 8

[captcha]
verify_url = "http://127.0.0.1:$captcha_port/siteverify"
secret = "dashboards-test"
after_per_minute = 5
greylist_seconds = 600
timeout_ms = 1000
EOF

(
    cd "$work"
    # The caller's FERRETWATCH_* variables would override the file.
    while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^FERRETWATCH_' || true)
    exec "$bin" serve --config "$work/ferretwatch.toml"
) >"$work/server.log" 2>&1 &
server_pid=$!

# The rules as deployed, with every group evaluated every 2 s instead of 30 s.
sed -E 's/^([[:space:]]*interval:[[:space:]]*).*/\12s/' deploy/prometheus/rules/ferretwatch.rules.yml \
    >"$work/prometheus/ferretwatch.rules.yml"
cat >"$work/prometheus/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 2s
rule_files:
  - ferretwatch.rules.yml
scrape_configs:
  - job_name: ferretwatch
    static_configs:
      - targets: ["127.0.0.1:$metrics_port", "127.0.0.1:$down_port"]
EOF
promtool check config "$work/prometheus/prometheus.yml" >/dev/null

for _ in $(seq 1 300); do
    curl -sf -o /dev/null "$base/ready" && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "dashboards-test: the server exited:" >&2; cat "$work/server.log" >&2; exit 1
    fi
    sleep 0.2
done
curl -sf -o /dev/null "$base/ready" || { echo "dashboards-test: not ready after 60 s" >&2; cat "$work/server.log" >&2; exit 1; }

prometheus --config.file="$work/prometheus/prometheus.yml" --storage.tsdb.path="$work/prometheus/data" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
prom_pid=$!
for _ in $(seq 1 150); do
    curl -sf -o /dev/null "$prom/-/ready" && break
    if ! kill -0 "$prom_pid" 2>/dev/null; then
        echo "dashboards-test: prometheus exited:" >&2; cat "$work/prometheus.log" >&2; exit 1
    fi
    sleep 0.2
done
curl -sf -o /dev/null "$prom/-/ready" || { echo "dashboards-test: prometheus not ready" >&2; cat "$work/prometheus.log" >&2; exit 1; }
echo "== ferretwatch serve on $base (metrics :$metrics_port), prometheus on $prom ($((SECONDS - started)) s)"

admin_token="$("$bin" admin token create --role viewer --name dashboards-test --config "$work/ferretwatch.toml" 2>/dev/null)"
pack_version="$(ls "$work/data/origin/history" | sort | tail -n 1)"

echo "== load for $load_seconds s"
# In the background and waited for, so that a signal stops the run at once.
python3 - "$port" "$captcha_port" "$load_seconds" "$admin_token" "$bin" "$work" "$pack_version" <<'PY' &
import http.client, http.server, json, socket, subprocess, sys, threading, time
from collections import Counter

port, captcha_port, duration = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
admin_token, binary, work, pack_version = sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
seen = Counter()
lock = threading.Lock()


class Verifier(http.server.BaseHTTPRequestHandler):
    """A siteverify endpoint: tokens starting "pass" pass, "down" gets a 500, others fail."""
    def do_POST(self):
        form = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        fields = dict(kv.split("=", 1) for kv in form.split("&") if "=" in kv)
        token = fields.get("response", "")
        if token == "down":
            self.send_response(500); self.end_headers(); return
        body = json.dumps({"success": token.startswith("pass"),
                           "error-codes": [] if token.startswith("pass") else ["invalid-input-response"]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


verifier = http.server.ThreadingHTTPServer(("127.0.0.1", captcha_port), Verifier)
threading.Thread(target=verifier.serve_forever, daemon=True).start()


def call(method, path, body=None, headers=None, src="127.0.0.1", tag=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(src, 0))
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers = {"content-type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        status, hdrs = resp.status, {k.lower(): v for k, v in resp.getheaders()}
    except OSError as e:
        status, hdrs, data = 0, {}, str(e).encode()
    finally:
        conn.close()
    code = ""
    if status >= 400 and data[:1] == b"{":
        try:
            code = json.loads(data)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            pass
    with lock:
        seen[(tag or path.split("?")[0], status, code)] += 1
    return status, hdrs, data


def install(src):
    status, _, data = call("POST", "/v1/install", src=src, tag="install")
    return json.loads(data)["install_token"] if status == 201 else None


def report_body(url, captcha="pass"):
    return {
        "url": url, "reason": "phishing_login", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "extension_version": "1.4.2", "pack_version": pack_version, "score": 87,
        "findings": [{"key": "password_form_offsite", "evidence": "<form action=\"https://collect.example/p.php\">"}],
        "screenshot_hash": "ab" * 32, "captcha_token": captcha,
    }


def report(token, url, src, kind="report", captcha="pass", tag=None):
    path = "/v1/report" if kind == "report" else "/v1/false-positive"
    return call("POST", path, report_body(url, captcha), {"x-install-token": token}, src=src, tag=tag or path)[0]


stop = threading.Event()


def background():
    """Pack fetches (conditional and not), health, console pages, the admin API: all run."""
    etags = {}
    i = 0
    while not stop.is_set():
        for path in ("/v1/manifest.json", "/v1/timestamp.json", "/v1/snapshot.json"):
            headers = {"if-none-match": etags[path]} if path in etags and i % 4 else {}
            status, hdrs, _ = call("GET", path, headers=headers)
            if status == 200 and "etag" in hdrs:
                etags[path] = hdrs["etag"]
        call("GET", "/v1/no-such-object.json")
        call("GET", "/health")
        call("GET", "/ready")
        if i % 5 == 0:
            call("GET", "/openapi.json")
            call("GET", "/admin")
            call("GET", "/admin/login")
            call("GET", "/admin/static/console.css")
            call("GET", "/api/health", headers={"authorization": f"Bearer {admin_token}"})
            call("GET", "/api/health", headers={"authorization": "Bearer wrong"})
            call("GET", "/no-such-page")
        i += 1
        time.sleep(0.05)


def trickle():
    """A report and a false positive every second from a fresh address: steady report latency."""
    n = 0
    while not stop.is_set():
        src = f"127.0.60.{n % 250 + 1}"
        token = install(src)
        if token:
            report(token, f"https://trickle-{n}.example/login", src)
            if n % 3 == 0:
                report(token, f"https://fine-{n}.example/", src, kind="false_positive")
        n += 1
        stop.wait(1.0)


threads = [threading.Thread(target=background), threading.Thread(target=trickle)]
for t in threads:
    t.start()
begin = time.monotonic()
checks = {}


def round_of_refusals(r):
    """Every refusal the Security dashboard shows. Run twice, seconds apart: a counter's
    first sample is its first value, so only increments after it show in rate()."""
    # The install token's limit (3 a minute): the 4th and 5th reports are refused.
    src = f"127.0.5.{5 + r}"
    token = install(src)
    checks[f"{r}: install_token scope"] = [report(token, f"https://burst-{r}-{i}.example/", src) for i in range(5)]

    # The address's limit (60 a minute): installs in a burst until refused.
    checks[f"{r}: ip scope"] = Counter(call("POST", "/v1/install", src=f"127.0.9.{9 + r}", tag="install")[0]
                                       for _ in range(66))

    # CAPTCHA: past the soft limit (5 a minute) every report needs a token.
    src = f"127.0.6.{6 + r}"
    tokens = [install(src) for _ in range(6)]
    checks[f"{r}: captcha fail, down, none, pass"] = [
        report(tokens[0], f"https://c1-{r}.example/", src, captcha="fail"),
        report(tokens[1], f"https://c2-{r}.example/", src, captcha="down"),
        report(tokens[2], f"https://c3-{r}.example/", src, captcha=""),
        report(tokens[3], f"https://c4-{r}.example/", src, captcha="pass-1")]

    # A farm: one network reporting one URL past reports.per_url_per_network_per_hour (20).
    statuses = Counter()
    for host in (1, 2, 3):
        src = f"127.0.{1 + r}.{host}"
        for token in [install(src) for _ in range(3)]:
            for _ in range(3):
                statuses[report(token, f"https://farm-{r}.example/login", src)] += 1
    checks[f"{r}: url_network scope"] = statuses

    # A campaign: one URL from many networks past reports.per_url_per_hour (120).
    statuses = Counter()
    for net in range(20 + 10 * r, 27 + 10 * r):
        src = f"127.0.{net}.1"
        sent = 0
        for token in [install(src) for _ in range(7)]:
            for _ in range(3):
                if sent < 20:
                    statuses[report(token, f"https://campaign-{r}.example/verify", src)] += 1
                    sent += 1
    checks[f"{r}: url scope"] = statuses

    # False positives.
    src = f"127.0.{100 + r}.1"
    for t, token in enumerate([install(src) for _ in range(3)]):
        for i in range(3):
            report(token, f"https://legit-{r}-{t}-{i}.example/", src, kind="false_positive")

    # Bad requests: no token, a forged token, not JSON, malformed JSON, too large, a refused field.
    src = f"127.0.{110 + r}.1"
    token = install(src)
    call("POST", "/v1/report", report_body("https://x.example/"), src=src)
    call("POST", "/v1/report", report_body("https://x.example/"), {"x-install-token": "forged"}, src=src)
    call("POST", "/v1/report", "url=x", {"x-install-token": token, "content-type": "text/plain"}, src=src)
    call("POST", "/v1/report", "{not json", {"x-install-token": token, "content-type": "application/json"}, src=src)
    call("POST", "/v1/report", json.dumps(report_body("https://x.example/" + "a" * 20000)),
         {"x-install-token": token, "content-type": "application/json"}, src=src)
    src = f"127.0.{120 + r}.1"
    token = install(src)
    call("POST", "/v1/false-positive", report_body("ftp://x.example/"), {"x-install-token": token}, src=src)
    call("DELETE", "/health")

    # Connections over limits.max_connections_per_ip (8), held open together.
    socks = []
    for _ in range(16):
        s = socket.socket()
        s.bind((f"127.0.50.{1 + r}", 0))
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            pass
        socks.append(s)
    time.sleep(0.5)
    for s in socks:
        s.close()


round_of_refusals(0)

# A deployment: the served pack's content republished under a new version.
while time.monotonic() - begin < min(8, duration / 3):
    time.sleep(0.2)
deploy = subprocess.run([binary, "pack", "rollback", "--to-version", pack_version, "--from", f"{work}/data/origin",
                         "--key", f"{work}/data/dev-keys/dev-publisher-1.key",
                         "--key", f"{work}/data/dev-keys/dev-publisher-2.key",
                         "--root", f"{work}/data/dev-keys/root.json", "--out", f"{work}/republished", "--deploy"],
                        capture_output=True, text=True)
checks["deployment"] = deploy.stdout.strip().splitlines()[-1:] if deploy.returncode == 0 else deploy.stderr.strip()

while time.monotonic() - begin < duration / 2:
    time.sleep(0.2)
round_of_refusals(1)

while time.monotonic() - begin < duration:
    time.sleep(0.2)
stop.set()
for t in threads:
    t.join()
verifier.shutdown()

for name, value in checks.items():
    print(f"   {name}: {dict(value) if isinstance(value, Counter) else value}")
by_status = Counter()
for (path, status, code), n in seen.items():
    by_status[status] += n
print(f"   {sum(seen.values())} requests; by status: {dict(sorted(by_status.items()))}")
PY
load_pid=$!
wait "$load_pid"
load_pid=""

# Two more scrapes and a rule evaluation after the load.
sleep 3
echo "== every panel's queries ($((SECONDS - started)) s)"
rc=0
python3 - "$prom" <<'PY' || rc=$?
import glob, json, sys, urllib.parse, urllib.request

prom = sys.argv[1]
# What Grafana substitutes; the windows cover the whole run.
SUBST = {"$__rate_interval": "2m", "$__range": "5m", "$instance": ".*"}
# Panels whose data the test cannot produce, with the reason (printed as SKIPPED).
SKIP = {}
# Beyond "not empty": what the load must have made visible.
def labels(label, *values):
    """Each of these values of the label, on a series above 0."""
    def check(r):
        above = {s["metric"].get(label) for s in r if float(s["value"][1]) > 0}
        missing = sorted(set(values) - above)
        return not missing, (f"{label} {','.join(sorted(values))} above 0" if not missing
                             else f"{label} {','.join(missing)} missing or 0")
    return check
def positive(r):
    vals = [round(float(s["value"][1]), 3) for s in r]
    return any(v > 0 for v in vals), f"value {max(vals)}" if any(v > 0 for v in vals) else f"values {vals}, want > 0"
EXPECT = {
    ("Rate-limit refusals by scope", "A"): labels("scope", "ip", "install_token", "url", "url_network"),
    ("Rate-limit refusals in the time range", "A"): labels("scope", "ip", "install_token", "url", "url_network"),
    ("CAPTCHA results", "A"): labels("result", "passed", "failed", "unavailable"),
    ("Rejected reports by reason", "A"): labels("reason", "install_token_required", "install_token_invalid",
                                                "rate_limited", "captcha_required", "captcha_failed",
                                                "captcha_unavailable"),
    ("Connections refused (over max_connections_per_ip)", "A"): positive,
    ("Origin conditional hit ratio (304 Not Modified)", "A"): positive,
    ("Deployments in the time range", "A"): positive,
    ("Recent deployments: pack version served over time", "A"): lambda r: (len(r) >= 2, f"{len(r)} versions"),
    ("Pack version served", "A"): lambda r: (len(r) == 1, f"{[s['metric'].get('version') for s in r]}"),
    ("FerretWatch alerts: firing and pending", "A"): labels("alertname", "FerretWatchDown"),
    ("Reports accepted per kind", "A"): labels("kind", "report", "false_positive"),
    ("Request rate per service", "A"): labels("service", "reports", "packs", "admin", "health", "other"),
    ("4xx client error ratio per service", "A"): positive,
    # The 503s of captcha_unavailable are the reports service's 5xx.
    ("5xx error ratio per service (real time)", "A"): positive,
    ("5xx error ratio, 5 min (alert input)", "A"): positive,
}


def query(expr):
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    if body.get("status") != "success":
        return None, body.get("error", "query failed")
    data = body["data"]
    if data["resultType"] == "scalar":
        return [{"metric": {}, "value": data["result"]}], None
    return data["result"], None


failed = skipped = passed = 0

# The rules the dashboards build on: loaded, and every one evaluated without an error.
with urllib.request.urlopen(f"{prom}/api/v1/rules", timeout=10) as resp:
    groups = json.load(resp)["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [f"{r.get('name')}: {r.get('lastError')}" for r in rules if r.get("health") != "ok"]
if not rules or bad:
    failed += 1
    print(f"FAIL    {'rules':10} {len(rules)} rules loaded; {'; '.join(bad) or 'none'}")
else:
    passed += 1
    print(f"ok      {'rules':10} deploy/prometheus/rules/ferretwatch.rules.yml: {len(groups)} groups, "
          f"{len(rules)} rules evaluated without error")
for path in sorted(glob.glob("deploy/grafana/dashboards/*.json")):
    board = json.load(open(path))
    name = board["uid"].removeprefix("ferretwatch-")
    items = [(p["title"], p["targets"]) for p in board["panels"]]
    items += [(f"annotation: {a['name']}", [{"refId": "A", "expr": a["expr"]}])
              for a in board["annotations"]["list"] if not a.get("builtIn")]
    for title, targets in items:
        if title in SKIP:
            print(f"SKIPPED {name:10} {title}: {SKIP[title]}")
            skipped += 1
            continue
        problems, notes = [], []
        for t in targets:
            expr = t["expr"]
            for var, value in SUBST.items():
                expr = expr.replace(var, value)
            result, error = query(expr)
            if error:
                problems.append(f"[{t['refId']}] {error}")
                continue
            if not result:
                problems.append(f"[{t['refId']}] no data: {expr}")
                continue
            notes.append(f"{t['refId']}:{len(result)}")
            check = EXPECT.get((title, t["refId"]))
            if check:
                good, detail = check(result)
                (notes if good else problems).append(f"[{t['refId']}] {detail}")
        if problems:
            failed += 1
            print(f"FAIL    {name:10} {title}: {'; '.join(problems)}")
        else:
            passed += 1
            print(f"ok      {name:10} {title} ({', '.join(notes)} series)")
print(f"{passed} ok, {failed} FAIL, {skipped} SKIPPED")
sys.exit(1 if failed else 0)
PY
echo "== done in $((SECONDS - started)) s"
if [[ $static_rc -ne 0 ]]; then
    echo "dashboards-test: the dashboard files have problems (above)" >&2
    exit 1
fi
exit $rc
